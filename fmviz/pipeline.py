"""The whole pipeline in one call, with an engine chosen per stage.

``run_pipeline`` is what the command line, the notebooks and scripts share: episodes in,
reasons, a cluster set and assignments out, each stage on the engine the user picked
("offline", "gemini:MODEL", "openai:MODEL", "local:MODEL"). Stages that share a spec share
one runner (:func:`fmviz.engine.make_engine`), so the cache, the ledger and the budget cap
see the whole run. ``load_run`` reads a run folder back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.engine import STAGES, Engine, EngineOptions, make_engine, parse_spec
from fmviz.episodes import Dataset
from fmviz.errors import NoReasonsError
from fmviz.results import Assignments, ClusterSet, Reasons
from fmviz.run import Run

__all__ = [
    "STAGES",
    "EngineOptions",
    "Run",
    "estimate_run",
    "load_run",
    "make_engine",
    "parse_spec",
    "run_pipeline",
]


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
) -> Run:
    """Run the three stages, each on its own engine (spec string or engine object).

    Examples
    --------
    >>> result = run_pipeline(ds)                                        # doctest: +SKIP
    >>> result = run_pipeline(ds, reasons="gemini", clusters="offline")  # doctest: +SKIP
    """
    from fmviz.providers.ledger import Ledger

    options = options or EngineOptions(domain=dataset.domain)
    ledger = Ledger(options.price_table())
    llms: dict[str, Any] = {}
    engines: dict[str, Engine] = {}
    for stage, choice in zip(STAGES, (reasons, clusters, assign), strict=True):
        if isinstance(choice, str):
            engines[stage] = make_engine(choice, options, ledger=ledger, _llms=llms)
        else:
            engines[stage] = choice

    for engine in engines.values():  # a missing key or a dead server fails before any work starts
        check = getattr(getattr(engine, "llm", None), "check_ready", None)
        if check is not None:
            check()
    stage_reasons = engines["reasons"].infer_reasons(dataset)
    if not len(stage_reasons):
        raise NoReasonsError(dataset.name, stage_reasons.errors, episodes=len(dataset))
    cluster_set = engines["clusters"].discover_clusters(
        stage_reasons, min_clusters=min_clusters, max_clusters=max_clusters
    )
    assignments = engines["assign"].assign(stage_reasons, cluster_set)
    assignments.cluster_set_version = cluster_set.version
    cleaning = None
    if hasattr(engines["reasons"], "cleaning_report"):
        cleaning = engines["reasons"].cleaning_report()
    emap = None
    if embedding_map:
        emap = compute_embedding_map(stage_reasons, cluster_set, assignments, engines, options)
    run = Run(
        dataset=dataset,
        reasons=stage_reasons,
        clusters=cluster_set,
        assignments=assignments,
        engines={stage: engine.spec for stage, engine in engines.items()},
        ledger=ledger,
        embedding_map=emap,
        cleaning=cleaning,
        options=options.to_dict(),
    )
    for stage, engine in engines.items():
        run.use_engine(stage, engine)
    return run


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


def load_run(run_dir: str | Path, dataset: Dataset | None = None) -> Run:
    """Read a run folder back (results, dataset, engines, options, edit log); no other input needed.

    Examples
    --------
    >>> run = load_run("runs/navigation")                        # doctest: +SKIP
    >>> run.edit().rename("C2", "Glass doors not seen")          # doctest: +SKIP
    """
    return Run.load(run_dir, dataset)


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
