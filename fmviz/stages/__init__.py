"""The paper's three LLM stages: failure reasons, cluster discovery, cluster assignment.

Each stage is a plain function over the shared result types (:mod:`fmviz.results`) and an
:class:`fmviz.providers.runner.LLM`; :class:`LLMEngine` bundles them as an :class:`fmviz.engine.Engine`.
Prompts are data (:mod:`fmviz.prompts`); :func:`estimate_pipeline` prices a run before
anything is spent.
"""

from __future__ import annotations

from fmviz.prompts import PromptSet, load_prompts
from fmviz.stages.assign import assign_clusters
from fmviz.stages.clusters import ClusteringError, discover_clusters
from fmviz.stages.estimate import estimate_pipeline
from fmviz.stages.llm_engine import LLMEngine
from fmviz.stages.reasons import infer_reasons

__all__ = [
    "ClusteringError",
    "LLMEngine",
    "PromptSet",
    "assign_clusters",
    "discover_clusters",
    "estimate_pipeline",
    "infer_reasons",
    "load_prompts",
]
