"""One run's results as plain data: the dataset, reasons, cluster set, assignments and context.

A run folder written by :meth:`RunResult.save` holds everything needed to read the run back
with no other input (the dataset's manifest, the engines, the options, the edit log), so
``fmviz report RUN_DIR`` and ``fmviz assign RUN_DIR`` work from the folder alone. Views and
engines sit on top of this type; it imports neither.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fmviz.episodes import Dataset
from fmviz.results.assignments import OUTLIER, Assignments
from fmviz.results.clusters import ClusterSet
from fmviz.results.edits import reconcile, replay
from fmviz.results.reasons import Reasons

if TYPE_CHECKING:
    from fmviz.providers.ledger import Ledger

__all__ = ["RUN_FILES", "RunResult", "StaleResultsWarning"]

#: File names inside a run folder.
RUN_FILES = {
    "reasons": "reasons.json",
    "clusters": "clusters.json",
    "assignments": "assignments.json",
    "table": "episodes.csv",
    "summary": "summary.csv",
    "embedding_map": "embedding_map.csv",
    "cleaning": "cleaning.csv",
    "ledger": "ledger.jsonl",
    "run": "run.json",
    "dataset": "dataset",
}


class StaleResultsWarning(UserWarning):
    """Assignments were made against an older version of the cluster set."""


@dataclass
class RunResult:
    """Everything one run produced, with the engine specs and options that produced it."""

    dataset: Dataset
    reasons: Reasons
    clusters: ClusterSet
    assignments: Assignments
    engines: dict[str, str] = field(default_factory=dict)
    ledger: Ledger | None = None
    #: 2-D embedding map (x, y, episode_id, cluster_id, ...), when computed.
    embedding_map: pd.DataFrame | None = None
    #: What text cleaning removed before stage 1 (offline reasons).
    cleaning: pd.DataFrame | None = None
    #: Engine options of the run (no secrets), so engines can be rebuilt for re-assignment.
    options: dict[str, Any] = field(default_factory=dict)

    # -- the state a person sees --------------------------------------------------------------
    def _current(self) -> Assignments:
        """Reconciled assignments, cached until the cluster set or the assignments object changes."""
        key = (self.clusters.version, id(self.assignments), self.assignments.cluster_set_version)
        cached = self.__dict__.get("_reconciled")
        if cached is None or cached[0] != key:
            result = reconcile(self.clusters, self.assignments)
            assert result.assignments is not None
            cached = (key, result.assignments)
            self.__dict__["_reconciled"] = cached
        return cached[1]

    @property
    def current_assignments(self) -> Assignments:
        """Assignments brought to the current cluster set (episodes an edit touched are pending)."""
        return self._current()

    @property
    def stale(self) -> bool:
        """True when edits left episodes awaiting re-assignment (their cluster was split, deleted...)."""
        return bool(self.current_assignments.pending_ids)

    def stale_message(self) -> str | None:
        """One line saying how far the assignments are behind the cluster set, or ``None``."""
        if not self.stale:
            return None
        pending = len(self.current_assignments.pending_ids)
        made = self.assignments.cluster_set_version or "an unknown version"
        return (
            f"assignments were made against cluster set {made}, the cluster set is now "
            f"{self.clusters.version} ({len(self.clusters.log)} edits); {pending} episode(s) await "
            "re-assignment: run `run.reassign()` or `fmviz assign RUN_DIR`"
        )

    def carried_forward(self) -> bool:
        """Assignments made against an earlier version, brought through edits that re-ask nobody."""
        return not self.stale and self.assignments.cluster_set_version != self.clusters.version

    def table(self) -> pd.DataFrame:
        """One row per episode: context, reason, cluster and rationale side by side."""
        episodes = self.dataset.to_frame()[["id", "task", "label", "narrative", "expert_reason"]]
        episodes = episodes.rename(columns={"id": "episode_id"})
        reasons = self.reasons.to_frame()[["episode_id", "trajectory", "failure_reason"]]
        assigned = self.current_assignments.to_frame()
        names = self.clusters.names() | {OUTLIER: "Outlier"}
        assigned["cluster_name"] = assigned["cluster_id"].map(names)
        table = episodes.merge(reasons, on="episode_id", how="left").merge(
            assigned, on="episode_id", how="left"
        )
        errors = self.reasons.errors | self.assignments.errors
        table["error"] = table["episode_id"].map(errors)
        return table

    def summary(self) -> pd.DataFrame:
        """Per cluster: name, proposed frequency, assigned count and share, pending, keywords.

        Warns (:class:`StaleResultsWarning`) when edits await re-assignment; the frame's
        ``attrs["stale"]`` holds the same message.
        """
        current = self.current_assignments
        frame = self.clusters.to_frame()
        counts = current.counts()
        pending = pd.Series([a.cluster_id for a in current if a.pending], dtype=object).value_counts()
        total = max(len(current), 1)
        frame["assigned"] = frame["id"].map(counts).fillna(0).astype(int)
        frame["share"] = frame["assigned"] / total
        frame["pending"] = frame["id"].map(pending).fillna(0).astype(int)
        outliers = int(counts.get(OUTLIER, 0))
        if outliers:
            row = {"id": OUTLIER, "name": "Outlier", "description": "fits no cluster", "keywords": []}
            row |= {"frequency": 0.0, "assigned": outliers, "share": outliers / total}
            row["pending"] = int(pending.get(OUTLIER, 0))
            frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
        message = self.stale_message()
        if message:
            frame.attrs["stale"] = message
            warnings.warn(message, StaleResultsWarning, stacklevel=2)
        return frame

    # -- files --------------------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the run folder: results (JSON + Parquet), tables, ledger, dataset and run.json."""
        from fmviz.loaders import save_manifest

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = self.save_clusters(out)
        written["reasons"] = self.reasons.save(out / RUN_FILES["reasons"])
        written |= self.save_assignments(out)
        if self.ledger is not None and len(self.ledger.to_frame()):
            written["ledger"] = self.ledger.save(out / RUN_FILES["ledger"])
        if self.embedding_map is not None:
            written["embedding_map"] = out / RUN_FILES["embedding_map"]
            self.embedding_map.to_csv(written["embedding_map"], index=False)
        if self.cleaning is not None and len(self.cleaning):
            written["cleaning"] = out / RUN_FILES["cleaning"]
            self.cleaning.to_csv(written["cleaning"], index=False)
        written["dataset"] = save_manifest(self.dataset, out / RUN_FILES["dataset"])
        info = {"engines": self.engines, "options": self.options, "dataset": self.dataset.name}
        written["run"] = out / RUN_FILES["run"]
        written["run"].write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        return written

    def save_clusters(self, out_dir: str | Path) -> dict[str, Path]:
        """Rewrite only the cluster set (with its edit log), as ``fmviz edit`` does."""
        return {"clusters": self.clusters.save(Path(out_dir) / RUN_FILES["clusters"])}

    def save_assignments(self, out_dir: str | Path) -> dict[str, Path]:
        """Rewrite the assignments and the tables derived from them."""
        out = Path(out_dir)
        written = {"assignments": self.assignments.save(out / RUN_FILES["assignments"])}
        self.assignments.save(out / "assignments.parquet")
        written["table"] = out / RUN_FILES["table"]
        self.table().to_csv(written["table"], index=False)
        written["summary"] = out / RUN_FILES["summary"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StaleResultsWarning)
            self.summary().to_csv(written["summary"], index=False)
        return written

    @classmethod
    def load(cls, run_dir: str | Path, dataset: Dataset | None = None) -> RunResult:
        """Read a run folder back; the dataset comes from the folder unless one is given."""
        from fmviz.loaders import load_dataset

        folder = Path(run_dir)
        if not (folder / RUN_FILES["clusters"]).exists():
            raise FileNotFoundError(f"{folder} is not a run folder (no {RUN_FILES['clusters']})")
        info_path = folder / RUN_FILES["run"]
        info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
        if dataset is None:
            if not (folder / RUN_FILES["dataset"]).exists():
                raise FileNotFoundError(
                    f"{folder} has no copy of its dataset (written by an older fmviz): pass the dataset"
                )
            dataset = load_dataset(folder / RUN_FILES["dataset"])
        reasons = Reasons.load(folder / RUN_FILES["reasons"])
        engines = info.get("engines") or {
            "reasons": ", ".join(sorted({r.engine for r in reasons if r.engine}))
        }
        emap_path = folder / RUN_FILES["embedding_map"]
        cleaning_path = folder / RUN_FILES["cleaning"]
        clusters = ClusterSet.load(folder / RUN_FILES["clusters"])
        if clusters.log.base is not None and replay(clusters).state_dict() != clusters.state_dict():
            warnings.warn(
                f"{folder / RUN_FILES['clusters']} was changed by hand after its last logged edit: its "
                "clusters are used as they are, but undo restores the logged states",
                StaleResultsWarning,
                stacklevel=2,
            )
        return cls(
            dataset=dataset,
            reasons=reasons,
            clusters=clusters,
            assignments=Assignments.load(folder / RUN_FILES["assignments"]),
            engines=dict(engines),
            embedding_map=pd.read_csv(emap_path, dtype={"episode_id": str, "cluster_id": str})
            if emap_path.exists()
            else None,
            cleaning=pd.read_csv(cleaning_path) if cleaning_path.exists() else None,
            options=dict(info.get("options") or {}),
        )
