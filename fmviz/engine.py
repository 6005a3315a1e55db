"""The stage-level contract (what any engine must do for each stage) and the factory of engines.

Two families of engines implement it: :class:`fmviz.stages.LLMEngine` (the paper's
method through a model provider: Gemini, OpenAI, an OpenAI-compatible server, or an
in-process model) and :class:`fmviz.offline.OfflineEngine` (embeddings, no LLM, no key).
Because both return the same result types, any stage can run on any engine and the
views never know which one ran. :func:`make_engine` builds one from a spec string such as
``offline`` or ``gemini:gemini-2.5-pro``; engines that share a spec share one runner, so the
cache, the ledger and the budget cap see the whole run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from fmviz.episodes import Dataset
from fmviz.results import Assignments, ClusterSet, Reasons

if TYPE_CHECKING:
    from fmviz.providers.ledger import Ledger

__all__ = ["DEFAULT_MODELS", "STAGES", "Engine", "EngineOptions", "make_engine", "parse_spec"]


@runtime_checkable
class Engine(Protocol):
    """One engine that can run each of the paper's three stages."""

    #: Human-readable spec, e.g. ``offline`` or ``gemini:gemini-2.5-pro``.
    spec: str

    def infer_reasons(self, dataset: Dataset) -> Reasons:
        """Stage 1: a trajectory and failure reason per episode."""
        ...

    def discover_clusters(
        self,
        reasons: Reasons,
        *,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
    ) -> ClusterSet:
        """Stage 2: failure modes chosen by the engine (optionally within bounds)."""
        ...

    def assign(self, reasons: Reasons, clusters: ClusterSet) -> Assignments:
        """Stage 3: exactly one cluster id or ``outlier`` per reason."""
        ...


STAGES = ("reasons", "clusters", "assign")

#: Default model per provider when a spec names only the provider.
DEFAULT_MODELS = {"gemini": "gemini-2.5-pro", "openai": "o4-mini", "local": "smollm2"}


@dataclass
class EngineOptions:
    """Settings shared by the engines of one run (each engine reads what applies to it)."""

    base_url: str | None = None
    cache: str | Path | None = None
    concurrency: int = 16
    requests_per_minute: float | None = None
    budget_usd: float | None = None
    max_retries: int = 6
    #: Replay answers that failed validation from the cache instead of asking again.
    replay_failed: bool = False
    timeout: float = 120.0
    domain: str = "generic"
    prompt_overrides: dict[str, str | Path] = field(default_factory=dict)
    ensemble: int = 3
    frames: int = 8
    fps: float = 1.0
    max_side: int = 512
    seed: int = 0
    embedding_model: str | None = None
    clean_text: bool = True
    outlier_threshold: float | None = None
    #: Layout of the report's embedding map: "tsne" (default: t-SNE on landmarks, seconds at any
    #: size), "umap" (exact; numba compiles it per process) or "pca" (instant).
    map_method: str = "tsne"
    #: Stages 1 and 3 through the provider's batch API (OpenAI Batch API, Gemini batch mode).
    batch: bool = False
    #: Batch mode: where repair re-asks and unanswered requests go ("batch" or "online").
    batch_reasks: str = "batch"
    batch_missing: str = "batch"
    #: Batch mode: first seconds between polls (backs off to 10 min), and the longest wait.
    batch_poll: float = 30.0
    batch_max_wait: float | None = None
    #: A JSON/TOML price table (online and batch prices) over the list prices.
    prices: str | Path | None = None
    #: Where tail decoding and embedding run: "local" (this process) or "ray" (a Ray cluster).
    executor: str = "local"
    #: The Ray cluster for ``executor="ray"`` (None: a running ``ray.init``, $RAY_ADDRESS or local).
    ray_address: str | None = None

    def batch_options(self) -> Any:
        """The :class:`~fmviz.providers.batch.BatchOptions` these options ask for (None: online)."""
        if not self.batch:
            return None
        from fmviz.providers.batch import BatchOptions

        return BatchOptions(
            reasks=self.batch_reasks,  # type: ignore[arg-type]
            missing=self.batch_missing,  # type: ignore[arg-type]
            poll_initial=self.batch_poll,
            poll_max=max(self.batch_poll, 600.0),
            max_wait=self.batch_max_wait,
        )

    def price_table(self) -> Any:
        """The :class:`~fmviz.providers.ledger.PriceTable` of the run (list prices + ``prices``)."""
        from fmviz.providers.ledger import PriceTable

        return PriceTable.load(self.prices) if self.prices else PriceTable()

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``run.json`` (keys never live here: they come from the environment)."""
        values = asdict(self)
        values["cache"] = None if self.cache is None else str(self.cache)
        values["prices"] = None if self.prices is None else str(self.prices)
        values["prompt_overrides"] = {k: str(v) for k, v in self.prompt_overrides.items()}
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EngineOptions:
        """Options read back from ``run.json`` (unknown keys from other versions are ignored)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``provider[:model]``; the model may itself contain colons (``llama3:8b``)."""
    provider, _, model = spec.strip().partition(":")
    provider = provider.lower()
    if provider not in {"offline", *DEFAULT_MODELS}:
        raise ValueError(
            f"unknown engine {spec!r}: use 'offline', 'gemini[:MODEL]', 'openai[:MODEL]' "
            "(add --base-url for vLLM, Ollama or LM Studio) or 'local[:MODEL]'"
        )
    return provider, (model or None)


def make_engine(
    spec: str,
    options: EngineOptions | None = None,
    *,
    ledger: Ledger | None = None,
    _llms: dict[str, Any] | None = None,
) -> Engine:
    """Build the engine a spec names.

    Examples
    --------
    >>> make_engine("offline")                                   # doctest: +SKIP
    >>> make_engine("openai:llama3.1", EngineOptions(base_url="http://localhost:11434/v1"))  # doctest: +SKIP
    """
    options = options or EngineOptions()
    provider_name, model = parse_spec(spec)
    if provider_name == "offline":
        from fmviz.offline import OfflineEngine

        kwargs: dict[str, Any] = {"seed": options.seed}
        if options.embedding_model:
            kwargs["embedding_model"] = options.embedding_model
        if not options.clean_text:
            kwargs["cleaner"] = False
        if options.outlier_threshold is not None:
            kwargs["outlier_threshold"] = options.outlier_threshold
        if options.executor != "local":  # the embedder encodes on the cluster
            from fmviz.executors import make_executor
            from fmviz.offline.static import make_embedder

            executor = make_executor(options.executor, address=options.ray_address)
            kwargs["embedder"] = executor.embedder(make_embedder(options.embedding_model))
        return OfflineEngine(**kwargs)

    from fmviz.providers.runner import LLM
    from fmviz.stages import LLMEngine, load_prompts
    from fmviz.video import TailSpec

    model = model or DEFAULT_MODELS[provider_name]
    key = f"{provider_name}:{model}"
    llm = (_llms or {}).get(key)
    if llm is None:
        llm = LLM(
            _make_provider(provider_name, model, options),
            cache=options.cache,
            ledger=ledger,
            concurrency=options.concurrency,
            requests_per_minute=options.requests_per_minute,
            budget_usd=options.budget_usd,
            max_retries=options.max_retries,
            replay_failed=options.replay_failed,
            batch=options.batch_options(),
            prices=ledger.prices if ledger is not None else options.price_table(),
        )
        if _llms is not None:
            _llms[key] = llm
    prompts = load_prompts(options.domain, overrides=options.prompt_overrides or None)
    tail = TailSpec(frames=options.frames, fps=options.fps, max_side=options.max_side)
    from fmviz.executors import make_executor

    executor = make_executor(options.executor, address=options.ray_address)
    return LLMEngine(
        llm, prompts=prompts, tail=tail, ensemble=options.ensemble, seed=options.seed, executor=executor
    )


def _make_provider(name: str, model: str, options: EngineOptions) -> Any:
    if name == "gemini":
        from fmviz.providers.gemini import GeminiProvider

        return GeminiProvider(model, base_url=options.base_url, timeout=options.timeout)
    if name == "openai":
        from fmviz.providers.openai import OpenAIProvider

        return OpenAIProvider(model, base_url=options.base_url, timeout=options.timeout)
    from fmviz.providers.local import LocalProvider

    # The bundled in-process models read text only: stage 1 then works from the narrative and
    # task context, and the provider notes that the frames were left out.
    return LocalProvider(model, ignore_images=True)
