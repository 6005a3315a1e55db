"""fmviz: robot and AV failure logs in, named and editable failure modes out.

The pipeline follows Gupta, Ciftci and Bansal (arXiv 2506.06570): (1) a multimodal model
explains each failure clip, (2) a reasoning model groups the explanations into failure
modes, (3) every episode is assigned to one mode or flagged as an outlier. Any stage runs
on any engine: Gemini, OpenAI (or an OpenAI-compatible server), an in-process model, or
the offline embedding engine that needs no key.

Public names are imported lazily so ``import fmviz`` stays fast and optional extras stay
optional.

Examples
--------
>>> import fmviz
>>> ds = fmviz.load_dataset("sample_data/navigation")           # doctest: +SKIP
>>> result = fmviz.run_pipeline(ds)                            # offline, no key  # doctest: +SKIP
>>> result.clusters.to_frame()                                 # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Episode": "fmviz.episodes",
    "Dataset": "fmviz.episodes",
    "EpisodeError": "fmviz.episodes",
    "load_dataset": "fmviz.loaders",
    "save_manifest": "fmviz.loaders",
    "Reason": "fmviz.results",
    "Reasons": "fmviz.results",
    "Cluster": "fmviz.results",
    "ClusterSet": "fmviz.results",
    "Assignment": "fmviz.results",
    "Assignments": "fmviz.results",
    "OUTLIER": "fmviz.results",
    "LLM": "fmviz.providers.runner",
    "OfflineEngine": "fmviz.offline",
    "LLMEngine": "fmviz.stages",
    "EngineOptions": "fmviz.engine",
    "make_engine": "fmviz.engine",
    "run_pipeline": "fmviz.pipeline",
    "load_run": "fmviz.pipeline",
    "Run": "fmviz.run",
    "RunResult": "fmviz.results",
    "apply_edits": "fmviz.results",
    "Merge": "fmviz.results",
    "Split": "fmviz.results",
    "Update": "fmviz.results",
    "Move": "fmviz.results",
    "MarkOutlier": "fmviz.results",
    "Delete": "fmviz.results",
    "Add": "fmviz.results",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fmviz' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
