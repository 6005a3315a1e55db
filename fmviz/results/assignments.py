"""Stage-3 results: every episode's failure mode (or ``outlier``), and which ones a person set.

An assignment made by hand (a move, or marking an outlier) is a *pin*: re-assignment after
later edits never overrides it. An assignment an edit invalidated (its cluster was split or
deleted) is *pending* until the engine re-assigns it. Each table records the cluster-set
version it was made against, so results made before an edit can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.results._table import KeyedTable, read_payload

__all__ = ["OUTLIER", "Assignment", "Assignments"]

#: The cluster id of an episode that fits no cluster.
OUTLIER = "outlier"

_COLUMNS = ("episode_id", "cluster_id", "rationale", "score", "pinned", "pending")


@dataclass
class Assignment:
    """Stage-3 output: one episode's cluster id (or ``outlier``) and why."""

    episode_id: str
    cluster_id: str
    rationale: str = ""
    #: Engine-specific confidence (cosine similarity offline; None for LLMs).
    score: float | None = None
    #: Set by hand (move / mark outlier): re-assignment never overrides it.
    pinned: bool = False
    #: An edit invalidated it: the next re-assignment asks the engine again.
    pending: bool = False

    @property
    def is_outlier(self) -> bool:
        return self.cluster_id == OUTLIER

    def but(self, **changes: Any) -> Assignment:
        """A copy with some fields changed (assignments are treated as values)."""
        return replace(self, **changes)


class Assignments(KeyedTable[Assignment]):
    """Every episode's assignment, plus episodes that could not be assigned."""

    kind = "assignments"
    rows_key = "assignments"

    def __init__(
        self,
        assignments: Any = (),
        errors: dict[str, str] | None = None,
        *,
        cluster_set_version: str | None = None,
    ) -> None:
        super().__init__(assignments, errors)
        #: Version of the cluster set these were made against (None: unknown, older files).
        self.cluster_set_version = cluster_set_version

    @property
    def assignments(self) -> list[Assignment]:
        return self.rows

    def labels(self) -> dict[str, str]:
        """episode id -> cluster id."""
        return {a.episode_id: a.cluster_id for a in self.rows}

    def members(self, cluster_id: str) -> list[str]:
        """Episode ids assigned to ``cluster_id``."""
        return [a.episode_id for a in self.rows if a.cluster_id == cluster_id]

    @property
    def pending_ids(self) -> list[str]:
        return [a.episode_id for a in self.rows if a.pending]

    def counts(self) -> pd.Series:
        return self.to_frame()["cluster_id"].value_counts()

    def with_rows(self, rows: list[Assignment], *, cluster_set_version: str | None) -> Assignments:
        """A new table with ``rows``, this table's errors and the given version."""
        errors = {k: v for k, v in self.errors.items() if k not in {r.episode_id for r in rows}}
        return Assignments(rows, errors, cluster_set_version=cluster_set_version)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._row_dicts(), columns=list(_COLUMNS))

    def _extra_header(self) -> dict[str, Any]:
        return {"cluster_set_version": self.cluster_set_version}

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        errors: dict[str, str] | None = None,
        *,
        cluster_set_version: str | None = None,
    ) -> Assignments:
        items = [_assignment(row) for row in frame.to_dict(orient="records")]
        return cls(items, errors, cluster_set_version=cluster_set_version)

    @classmethod
    def load(cls, path: str | Path) -> Assignments:
        payload, rows = read_payload(path, cls.kind)
        version = payload.get("cluster_set_version")
        if rows is not None:
            return cls.from_frame(rows, payload.get("errors"), cluster_set_version=version)
        items = [_assignment(a) for a in payload.get("assignments", [])]
        return cls(items, payload.get("errors"), cluster_set_version=version)


def _assignment(row: dict[str, Any]) -> Assignment:
    score = row.get("score")
    return Assignment(
        episode_id=str(row["episode_id"]),
        cluster_id=str(row["cluster_id"]),
        rationale=str(row.get("rationale") or ""),
        score=None if score is None or pd.isna(score) else float(score),
        pinned=bool(row.get("pinned") or False),
        pending=bool(row.get("pending") or False),
    )
