"""A run you work with: edit its failure modes, re-assign what the edits touched, report, view.

:class:`Run` is the plain :class:`~fmviz.results.RunResult` plus the verbs a user needs after
the pipeline: ``edit()`` (a fluent editor writing the operation log), ``undo()`` / ``redo()``,
``reassign()`` (asks the engine about the touched episodes only), ``save()`` (results and the
HTML report) and the widgets (``scrubber()``, ``editor()``, ``map()``, ``heatmap()``,
``triage()``). It sits above engines and views, so the result types stay plain data.
:class:`Editor` (``run.edit()``) has one chainable method per operation; each call goes through
:meth:`Run.apply`, so a notebook cell, the command line and the editor widget log the same data.

Examples
--------
>>> run = fmviz.run_pipeline(fmviz.load_dataset("sample_data/navigation"))    # doctest: +SKIP
>>> run.edit().merge("C3", "C7", name="Thin obstacles missed").split("C4", into=2)  # doctest: +SKIP
>>> run.reassign()                                  # only the episodes of C4 are re-asked  # doctest: +SKIP
>>> run.save("runs/navigation")                                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from tqdm.auto import tqdm

from fmviz.engine import Engine, EngineOptions, make_engine
from fmviz.results import (
    Add,
    Assignments,
    Delete,
    EditResult,
    MarkOutlier,
    Merge,
    Move,
    Operation,
    RunResult,
    Split,
    Update,
    apply_edits,
    redo,
    undo,
)

__all__ = ["Editor", "Run"]

#: Episodes per engine call batch during re-assignment (progress is reported between batches).
_REASSIGN_CHUNK = 64


class Run(RunResult):
    """A run's results with the verbs to edit, re-assign, report and view them."""

    # -- engines ------------------------------------------------------------------------------
    def engine(self, stage: str) -> Engine:
        """The engine that ran ``stage`` (rebuilt from the run's specs and options, then kept)."""
        cache: dict[str, Engine] = self.__dict__.setdefault("_engines", {})
        if stage not in cache:
            spec = self.engines.get(stage) or "offline"
            spec = spec if ":" in spec or spec == "offline" else "offline"
            cache[stage] = make_engine(spec, EngineOptions.from_dict(self.options))
        return cache[stage]

    def use_engine(self, stage: str, engine: Engine) -> None:
        """Use ``engine`` for ``stage`` from now on (e.g. one with a shared cache or ledger)."""
        self.__dict__.setdefault("_engines", {})[stage] = engine
        self.engines[stage] = engine.spec

    # -- edits --------------------------------------------------------------------------------
    def edit(self) -> Editor:
        """A fluent editor whose every call appends an operation to the cluster set's log.

        Examples
        --------
        >>> run.edit().merge("C3", "C7", name="Thin obstacles").split("C4", into=2)  # doctest: +SKIP
        >>> run.edit().move(["ep-1"], "C5").outlier(["ep-9"]).undo().log          # doctest: +SKIP
        """
        return Editor(self)

    def apply(self, ops: Operation | Sequence[Operation]) -> EditResult:
        """Apply operations (see :mod:`fmviz.results.ops`); the run's clusters and assignments follow."""
        ops = [ops] if not isinstance(ops, Sequence) else list(ops)
        return self._take(apply_edits(self.clusters, self.assignments, ops))

    def undo(self) -> EditResult:
        """Take back the last edit (its episodes' assignments are restored exactly)."""
        return self._take(undo(self.clusters, self.assignments))

    def redo(self) -> EditResult:
        """Apply the last undone edit again."""
        return self._take(redo(self.clusters, self.assignments))

    def _take(self, result: EditResult) -> EditResult:
        self.clusters = result.clusters
        if result.assignments is not None:
            self.assignments = result.assignments
        return result

    def split_proposal(self, cluster_id: str, n: int = 2) -> Split:
        """How the clustering engine would split ``cluster_id`` into ``n`` parts (not applied)."""
        engine = self.engine("clusters")
        split = getattr(engine, "split_cluster", None)
        if split is None:
            raise ValueError(f"engine {engine.spec!r} cannot propose splits; give the groups by hand")
        return split(self.reasons, self.clusters, self.current_assignments, cluster_id, n)

    def add_scope(self, name: str, description: str, keywords: Sequence[str]) -> list[str]:
        """Episodes the assignment engine scores closer to a new cluster than to their own."""
        scope = getattr(self.engine("assign"), "add_scope", None)
        if scope is None:
            return []
        return list(scope(self.reasons, self.clusters, self.current_assignments, name, description, keywords))

    # -- re-assignment --------------------------------------------------------------------------
    def reassign(
        self,
        *,
        engine: Engine | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, int]:
        """Ask the assignment engine about the pending episodes only; keep everything else.

        Returns
        -------
        dict
            ``reasked`` (episodes sent to the engine), ``assigned``, ``errors``.
        """
        engine = engine or self.engine("assign")
        current = self.current_assignments
        pending = [i for i in current.pending_ids if i in self.reasons]
        rows = {a.episode_id: a for a in current}
        errors: dict[str, str] = {}
        done = 0
        bar = tqdm(total=len(pending), desc="re-assigning touched episodes", disable=not pending)
        for start in range(0, len(pending), _REASSIGN_CHUNK):
            chunk = pending[start : start + _REASSIGN_CHUNK]
            answered = engine.assign(self.reasons.subset(chunk), self.clusters)
            for row in answered:
                rows[row.episode_id] = row.but(pinned=False, pending=False)
            errors |= {k: v for k, v in answered.errors.items() if k in chunk}
            done += len(chunk)
            bar.update(len(chunk))
            if progress is not None:
                progress(done, len(pending))
        bar.close()
        kept_errors = {k: v for k, v in current.errors.items() if k not in pending} | errors
        self.assignments = Assignments(
            list(rows.values()), kept_errors, cluster_set_version=self.clusters.version
        )
        return {"reasked": len(pending), "assigned": len(pending) - len(errors), "errors": len(errors)}

    # -- files and views ----------------------------------------------------------------------
    def save(self, out_dir: str | Path, *, report: bool = True) -> dict[str, Path]:
        """Write the run folder and, unless ``report=False``, ``report.html``."""
        written = super().save(out_dir)
        if report:
            written["report"] = self.write_report(Path(out_dir) / "report.html")
        return written

    def write_report(self, path: str | Path) -> Path:
        """The standalone HTML report of this run."""
        from fmviz.views.report import write_report

        return write_report(self, path)

    # -- evaluation and what comes after ---------------------------------------------------------
    def evaluate(
        self,
        labels: Sequence[str] = (),
        *,
        taxonomy: str | Path | None = None,
        baselines: Sequence[str] = ("ea", "ra"),
        **kwargs: Any,
    ) -> Any:
        """Every comparison of the paper that applies (see :func:`fmviz.evaluate.evaluate_run`).

        ``labels`` are dataset columns (``"label"``, ``"Crash With"``, ``"A|B"`` for a pair),
        ``taxonomy`` a file or a built-in name (``"robofail"``, ``"volpe"``); the result's
        tables are DataFrames (``fmviz eval RUN_DIR`` writes the same ones).
        """
        from fmviz.evaluate import evaluate_run, load_taxonomy

        expert = load_taxonomy(taxonomy) if taxonomy is not None else None
        return evaluate_run(
            self.dataset,
            self.reasons,
            self.clusters,
            self.current_assignments,
            labels=list(labels),
            taxonomy=expert,
            baselines=list(baselines),
            **kwargs,
        )

    def collection_plan(self, budget: int, **kwargs: Any) -> Any:
        """Targeted data collection: per failure mode, where to collect and how many episodes."""
        from fmviz.stages.collection import plan_for_run

        return plan_for_run(self, budget, **kwargs)

    # -- widgets (JupyterLab; their saved state renders in exported reports) -------------------
    def scrubber(self, **kwargs: Any) -> Any:
        """Clip scrubber: each episode's tail frames beside its task, reasons, cluster and rationale."""
        from fmviz.views.scrubber import Scrubber

        return Scrubber.from_run(self, **kwargs)

    def map(self, **kwargs: Any) -> Any:
        """Embedding map of the reasons coloured by failure mode, with box and lasso selection."""
        from fmviz.views.embedding_map import EmbeddingMap

        return EmbeddingMap.from_run(self, **kwargs)

    def editor(self, **kwargs: Any) -> Any:
        """Cluster editor: merge, split, rename, move, the outlier queue, undo/redo and Assign."""
        from fmviz.views.cluster_editor import ClusterEditor

        return ClusterEditor.from_run(self, **kwargs)

    def heatmap(self, against: str | RunResult = "label", **kwargs: Any) -> Any:
        """Failure modes against a dataset column (default the expert ``label``) or another run's."""
        from fmviz.views.taxonomy_heatmap import TaxonomyHeatmap

        if isinstance(against, str):
            return TaxonomyHeatmap.from_run(self, label_column=against, **kwargs)
        return TaxonomyHeatmap.from_cluster_sets(
            self.clusters, self.current_assignments, against.clusters, against.current_assignments, **kwargs
        )

    def ensemble(self, **kwargs: Any) -> Any:
        """The prompt-ensemble members' clusterings next to the aggregate (LLM cluster sets)."""
        from fmviz.views.ensemble_view import EnsembleView

        return EnsembleView.from_cluster_set(
            self.clusters, self.reasons, assignments=self.current_assignments, **kwargs
        )

    def triage(self, **kwargs: Any) -> Any:
        """Map, episode list and clip scrubber (and the editor) in one view, linked in the browser."""
        from fmviz.views.triage import Triage

        return Triage.from_run(self, **kwargs)

    @classmethod
    def load(cls, run_dir: str | Path, dataset: Any = None) -> Run:
        """Read a run folder (``fmviz run --out DIR`` or :meth:`save`) back."""
        base = RunResult.load(run_dir, dataset)
        return cls(**{name: getattr(base, name) for name in RunResult.__dataclass_fields__})


class Editor:
    """Chainable edits of one run's cluster set (see :func:`fmviz.results.apply_edits`)."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def __repr__(self) -> str:
        return f"Editor({len(self.run.clusters.log)} edits, {len(self.run.clusters.log.undone)} undone)"

    def _do(self, op: Operation) -> Editor:
        self.run.apply(op)
        return self

    def merge(self, *cluster_ids: str, name: str | None = None, description: str | None = None) -> Editor:
        """Merge two or more clusters into a new one (members keep their places)."""
        return self._do(Merge(tuple(cluster_ids), name=name, description=description))

    def split(
        self,
        cluster_id: str,
        into: int = 2,
        *,
        groups: Sequence[Iterable[str]] | None = None,
        names: Sequence[str] | None = None,
    ) -> Editor:
        """Split a cluster by hand (``groups`` of episode ids) or by the engine into ``into`` parts."""
        if groups is not None:
            op = Split(cluster_id, tuple(tuple(g) for g in groups), names=tuple(names or ()))
        else:
            op = self.run.split_proposal(cluster_id, into)
            if names:
                op = Split(**{**op.__dict__, "names": tuple(names)})
        return self._do(op)

    def rename(self, cluster_id: str, name: str) -> Editor:
        return self._do(Update(cluster_id, name=name))

    def describe(self, cluster_id: str, description: str) -> Editor:
        return self._do(Update(cluster_id, description=description))

    def keywords(self, cluster_id: str, keywords: Sequence[str]) -> Editor:
        return self._do(Update(cluster_id, keywords=tuple(keywords)))

    def move(self, episode_ids: Iterable[str], cluster_id: str) -> Editor:
        """Pin episodes to a cluster: re-assignment never moves them again."""
        return self._do(Move(tuple(episode_ids), cluster_id))

    def outlier(self, episode_ids: Iterable[str]) -> Editor:
        """Pin episodes as outliers."""
        return self._do(MarkOutlier(tuple(episode_ids)))

    def delete(self, cluster_id: str, members: Literal["reassign", "outlier"] = "reassign") -> Editor:
        """Remove a cluster; its members are re-assigned (default) or become outliers."""
        return self._do(Delete(cluster_id, members))

    def add(
        self,
        name: str,
        description: str = "",
        keywords: Sequence[str] = (),
        *,
        scope: Iterable[str] = (),
    ) -> Editor:
        """Add a cluster; the outliers, ``scope`` (episode or cluster ids) and, with an embedding
        engine, the episodes it scores closer to the new cluster are re-asked."""
        wanted = list(dict.fromkeys([*scope, *self.run.add_scope(name, description, keywords)]))
        return self._do(Add(name, description, tuple(keywords), scope=tuple(wanted)))

    def undo(self) -> Editor:
        self.run.undo()
        return self

    def redo(self) -> Editor:
        self.run.redo()
        return self

    @property
    def log(self) -> pd.DataFrame:
        """The edits so far, one row each (undone ones last, flagged)."""
        return self.run.clusters.log_frame()
