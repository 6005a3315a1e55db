"""The paper's method as an :class:`~fmviz.engine.Engine`: the three LLM stages behind one object.

``LLMEngine`` binds one :class:`fmviz.providers.runner.LLM` (provider, cache, ledger, budget) with the
prompts and sampling settings, so the pipeline, the CLI and notebooks can run any stage on
it exactly as they run the offline engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fmviz.episodes import Dataset
from fmviz.prompts import DOMAINS, PromptSet, load_prompts
from fmviz.results import Assignments, ClusterSet, Reasons, Split
from fmviz.stages.assign import assign_clusters
from fmviz.stages.clusters import DEFAULT_MAX_PROMPT_TOKENS, discover_clusters
from fmviz.stages.reasons import infer_reasons
from fmviz.stages.split import split_cluster
from fmviz.video import TailSpec

if TYPE_CHECKING:
    from fmviz.executors import Executor
    from fmviz.providers.runner import LLM

__all__ = ["LLMEngine"]


class LLMEngine:
    """Run the three stages through one model.

    Parameters
    ----------
    llm:
        The model wrapper; its spec (``gemini:gemini-2.5-pro``) becomes the engine's.
    prompts:
        Prompt set; when ``None`` the preset of the dataset's domain is used (and reused
        for the later stages).
    tail:
        Stage-1 frame downsampling.
    ensemble:
        Stage-2 paraphrased prompts besides the original (``0``: no ensemble).
    seed:
        Stage-2 shuffling seed.
    include_frames:
        Stage 1 sends frames when an episode has them.
    max_prompt_tokens:
        Stage-2 prompt budget above which reasons are clustered in batches.
    executor:
        Where stage 1 decodes tails (:mod:`fmviz.executors`; default: this process).

    Examples
    --------
    >>> engine = LLMEngine(LLM(GeminiProvider("gemini-2.5-pro")))   # doctest: +SKIP
    >>> reasons = engine.infer_reasons(dataset)                      # doctest: +SKIP
    """

    def __init__(
        self,
        llm: LLM,
        *,
        prompts: PromptSet | None = None,
        tail: TailSpec | None = None,
        ensemble: int = 3,
        seed: int = 0,
        include_frames: bool = True,
        max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
        executor: Executor | None = None,
    ) -> None:
        self.llm = llm
        self.prompts = prompts
        self.tail = tail or TailSpec()
        self.ensemble = ensemble
        self.seed = seed
        self.include_frames = include_frames
        self.max_prompt_tokens = max_prompt_tokens
        self.executor = executor
        self._domain_prompts: PromptSet | None = None

    @property
    def spec(self) -> str:
        return self.llm.spec

    def __repr__(self) -> str:
        return f"LLMEngine({self.spec!r}, ensemble={self.ensemble}, seed={self.seed})"

    def _prompts(self, dataset: Dataset | None = None) -> PromptSet:
        if self.prompts is not None:
            return self.prompts
        if dataset is not None:
            domain = dataset.domain if dataset.domain in DOMAINS else "generic"
            self._domain_prompts = load_prompts(domain)
        return self._domain_prompts or load_prompts("generic")

    def infer_reasons(self, dataset: Dataset) -> Reasons:
        """Stage 1 (see :func:`fmviz.stages.infer_reasons`)."""
        return infer_reasons(
            dataset,
            self.llm,
            prompts=self._prompts(dataset),
            tail=self.tail,
            include_frames=self.include_frames,
            executor=self.executor,
        )

    def discover_clusters(
        self,
        reasons: Reasons,
        *,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
    ) -> ClusterSet:
        """Stage 2 (see :func:`fmviz.stages.discover_clusters`)."""
        return discover_clusters(
            reasons,
            self.llm,
            prompts=self._prompts(),
            ensemble=self.ensemble,
            min_clusters=min_clusters,
            max_clusters=max_clusters,
            seed=self.seed,
            max_prompt_tokens=self.max_prompt_tokens,
        )

    def assign(self, reasons: Reasons, clusters: ClusterSet) -> Assignments:
        """Stage 3 (see :func:`fmviz.stages.assign_clusters`)."""
        return assign_clusters(reasons, clusters, self.llm, prompts=self._prompts())

    def split_cluster(
        self, reasons: Reasons, clusters: ClusterSet, assignments: Assignments | None, cluster_id: str, n: int
    ) -> Split:
        """A cluster edit: the model splits one failure mode into ``n`` (see :mod:`fmviz.stages.split`)."""
        return split_cluster(reasons, clusters, assignments, cluster_id, n, self.llm, prompts=self._prompts())
