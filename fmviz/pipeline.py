"""The whole pipeline in one call, with an engine chosen per stage.

``run_pipeline`` is what the command line, the notebooks and scripts share: episodes in,
reasons, a cluster set and assignments out, each stage on the engine the user picked
("offline", "gemini:MODEL", "openai:MODEL", "local:MODEL"). Stages that share a spec
share one :class:`fmviz.llm.LLM`, so the cache, the ledger and the budget cap see the
whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fmviz.episodes import Dataset
from fmviz.results import OUTLIER, Assignments, ClusterSet, Reasons

if TYPE_CHECKING:
    from fmviz.engine import Engine
    from fmviz.ledger import Ledger

__all__ = ["STAGES", "EngineOptions", "PipelineResult", "make_engine", "run_pipeline"]

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
    #: Projection of the report's embedding map: "umap" (default) or "pca" (instant, for tests).
    map_method: str = "umap"


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
        return OfflineEngine(**kwargs)

    from fmviz.llm import LLM
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
        )
        if _llms is not None:
            _llms[key] = llm
    prompts = load_prompts(options.domain, overrides=options.prompt_overrides or None)
    tail = TailSpec(frames=options.frames, fps=options.fps, max_side=options.max_side)
    return LLMEngine(llm, prompts=prompts, tail=tail, ensemble=options.ensemble, seed=options.seed)


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


@dataclass
class PipelineResult:
    """Everything one run produced, with the specs that produced it."""

    dataset: Dataset
    reasons: Reasons
    clusters: ClusterSet
    assignments: Assignments
    engines: dict[str, str] = field(default_factory=dict)
    ledger: Ledger | None = None
    #: 2-D embedding map (x, y, episode_id, cluster_id) for the report, when computed.
    embedding_map: pd.DataFrame | None = None
    #: What text cleaning removed before stage 1 (offline reasons), for the report and audits.
    cleaning: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """One row per episode: context, reason, cluster and rationale side by side."""
        episodes = self.dataset.to_frame()[["id", "task", "label", "narrative", "expert_reason"]]
        episodes = episodes.rename(columns={"id": "episode_id"})
        reasons = self.reasons.to_frame()[["episode_id", "trajectory", "failure_reason"]]
        assigned = self.assignments.to_frame()
        names = self.clusters.names() | {OUTLIER: "Outlier"}
        assigned["cluster_name"] = assigned["cluster_id"].map(names)
        table = episodes.merge(reasons, on="episode_id", how="left").merge(
            assigned, on="episode_id", how="left"
        )
        errors = self.reasons.errors | self.assignments.errors
        table["error"] = table["episode_id"].map(errors)
        return table

    def summary(self) -> pd.DataFrame:
        """Per cluster: name, proposed frequency, assigned count and share, keywords."""
        frame = self.clusters.to_frame()
        counts = self.assignments.counts()
        total = max(len(self.assignments), 1)
        frame["assigned"] = frame["id"].map(counts).fillna(0).astype(int)
        frame["share"] = frame["assigned"] / total
        outliers = int(counts.get(OUTLIER, 0))
        if outliers:
            row = {"id": OUTLIER, "name": "Outlier", "description": "fits no cluster", "keywords": []}
            row |= {"frequency": 0.0, "assigned": outliers, "share": outliers / total}
            frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
        return frame

    def save(self, out_dir: str | Path, *, report: bool = True) -> dict[str, Path]:
        """Write results (JSON + Parquet), the table, the ledger and the HTML report."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = {
            "reasons": self.reasons.save(out / "reasons.json"),
            "clusters": self.clusters.save(out / "clusters.json"),
            "assignments": self.assignments.save(out / "assignments.json"),
        }
        self.assignments.save(out / "assignments.parquet")
        table_path = out / "episodes.csv"
        self.table().to_csv(table_path, index=False)
        written["table"] = table_path
        summary_path = out / "summary.csv"
        self.summary().to_csv(summary_path, index=False)
        written["summary"] = summary_path
        if self.ledger is not None and len(self.ledger.to_frame()):
            written["ledger"] = self.ledger.save(out / "ledger.jsonl")
        if self.embedding_map is not None:
            map_path = out / "embedding_map.csv"
            self.embedding_map.to_csv(map_path, index=False)
            written["embedding_map"] = map_path
        if self.cleaning is not None and len(self.cleaning):
            cleaning_path = out / "cleaning.csv"
            self.cleaning.to_csv(cleaning_path, index=False)
            written["cleaning"] = cleaning_path
        if report:
            from fmviz.views.report import write_report

            written["report"] = write_report(self, out / "report.html")
        return written


def run_pipeline(
    dataset: Dataset,
    *,
    reasons: str | Engine = "offline",
    clusters: str | Engine = "offline",
    assign: str | Engine = "offline",
    options: EngineOptions | None = None,
    min_clusters: int | None = None,
    max_clusters: int | None = None,
    embedding_map: bool = True,
) -> PipelineResult:
    """Run the three stages, each on its own engine (spec string or engine object).

    Examples
    --------
    >>> result = run_pipeline(ds)                                        # doctest: +SKIP
    >>> result = run_pipeline(ds, reasons="gemini", clusters="offline")  # doctest: +SKIP
    """
    from fmviz.ledger import Ledger

    options = options or EngineOptions(domain=dataset.domain)
    ledger = Ledger()
    llms: dict[str, Any] = {}
    engines: dict[str, Engine] = {}
    for stage, choice in zip(STAGES, (reasons, clusters, assign), strict=True):
        if isinstance(choice, str):
            engines[stage] = make_engine(choice, options, ledger=ledger, _llms=llms)
        else:
            engines[stage] = choice

    stage_reasons = engines["reasons"].infer_reasons(dataset)
    if not len(stage_reasons):
        details = "; ".join(f"{k}: {v}" for k, v in list(stage_reasons.errors.items())[:5])
        raise RuntimeError(f"stage 1 produced no reasons for dataset {dataset.name!r}: {details}")
    cluster_set = engines["clusters"].discover_clusters(
        stage_reasons, min_clusters=min_clusters, max_clusters=max_clusters
    )
    assignments = engines["assign"].assign(stage_reasons, cluster_set)
    cleaning = None
    if hasattr(engines["reasons"], "cleaning_report"):
        cleaning = engines["reasons"].cleaning_report()
    emap = None
    if embedding_map:
        emap = compute_embedding_map(stage_reasons, cluster_set, assignments, engines, options)
    return PipelineResult(
        dataset=dataset,
        reasons=stage_reasons,
        clusters=cluster_set,
        assignments=assignments,
        engines={stage: engine.spec for stage, engine in engines.items()},
        ledger=ledger,
        embedding_map=emap,
        cleaning=cleaning,
    )


def compute_embedding_map(
    reasons: Reasons,
    clusters: ClusterSet,
    assignments: Assignments,
    engines: dict[str, Engine],
    options: EngineOptions,
) -> pd.DataFrame | None:
    """2-D map of the reasons for the report, from the offline embedder (no key needed)."""
    from fmviz.offline import OfflineEngine

    offline = next((e for e in engines.values() if isinstance(e, OfflineEngine)), None)
    if offline is None:
        offline = make_engine("offline", options)
    if len(reasons) < 5:
        return None
    return offline.embedding_map(reasons, clusters, assignments, method=options.map_method)


def load_result(results_dir: str | Path, dataset: Dataset) -> PipelineResult:
    """Read back what :meth:`PipelineResult.save` wrote (e.g. after editing clusters.json)."""
    folder = Path(results_dir)
    emap_path = folder / "embedding_map.csv"
    reasons = Reasons.load(folder / "reasons.json")
    engines = {"reasons": ", ".join(sorted({r.engine for r in reasons if r.engine}))}
    return PipelineResult(
        dataset=dataset,
        reasons=reasons,
        clusters=ClusterSet.load(folder / "clusters.json"),
        assignments=Assignments.load(folder / "assignments.json"),
        engines=engines,
        embedding_map=pd.read_csv(emap_path, dtype={"episode_id": str}) if emap_path.exists() else None,
    )


def estimate_run(dataset: Dataset, specs: dict[str, str], options: EngineOptions) -> pd.DataFrame:
    """Dry run: expected calls, tokens and cost per stage, without calling any model."""
    from fmviz.stages import LLMEngine
    from fmviz.stages.estimate import estimate_pipeline

    llms: dict[str, Any] = {}
    engines = {stage: make_engine(specs[stage], options, _llms=llms) for stage in STAGES}
    by_stage = {stage: e.llm if isinstance(e, LLMEngine) else None for stage, e in engines.items()}
    llm_engine = next((e for e in engines.values() if isinstance(e, LLMEngine)), None)
    prompts = llm_engine.prompts if llm_engine is not None else None
    tail = llm_engine.tail if llm_engine is not None else None
    return estimate_pipeline(dataset, by_stage, prompts=prompts, tail=tail, ensemble=options.ensemble)
