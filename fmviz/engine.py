"""The stage-level contract: what any engine must do for each pipeline stage.

Two families of engines implement it: :class:`fmviz.stages.LLMEngine` (the paper's
method through a model provider: Gemini, OpenAI, an OpenAI-compatible server, or an
in-process model) and :class:`fmviz.offline.OfflineEngine` (embeddings, no LLM, no key).
Because both return the same result types, any stage can run on any engine and the
views never know which one ran.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from fmviz.episodes import Dataset
from fmviz.results import Assignments, ClusterSet, Reasons

__all__ = ["Engine"]


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
