"""Stage-1 results: what happened in each episode and why it failed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.results._table import KeyedTable, read_payload

__all__ = ["BOILERPLATE_ONLY", "Reason", "Reasons"]

#: Provenance flag of a reason whose source text is reporting boilerplate and nothing else (a
#: cover note): it describes no failure, so discovery leaves it out and assignment calls it an
#: outlier rather than letting a template become a failure mode.
BOILERPLATE_ONLY = "boilerplate_only"

_TEXT_COLUMNS = ("episode_id", "trajectory", "failure_reason", "raw", "engine")
_COLUMNS = (*_TEXT_COLUMNS, "provenance")


@dataclass
class Reason:
    """Stage-1 output for one episode: what happened and why it failed."""

    episode_id: str
    trajectory: str
    failure_reason: str
    #: The model's raw text (or the source text for offline reasons).
    raw: str = ""
    #: Which engine wrote it, e.g. ``gemini:gemini-2.5-pro`` or ``offline:narrative``.
    engine: str = ""
    #: What it was reasoned from (e.g. ``{"evidence": "task context only", "frames": 0}``).
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text clustered and assigned: the failure reason (the cause), else the trajectory.

        One definition for every engine and prompt, so offline clustering, LLM clustering
        and the embedding assigner all read the same words.
        """
        return self.failure_reason.strip() or self.trajectory.strip()

    @property
    def boilerplate_only(self) -> bool:
        """Whether its source text was reporting boilerplate only (see :data:`BOILERPLATE_ONLY`)."""
        return bool(self.provenance.get(BOILERPLATE_ONLY))


class Reasons(KeyedTable[Reason]):
    """Stage-1 results, plus the episodes that failed with their errors."""

    kind = "reasons"
    rows_key = "reasons"

    @property
    def reasons(self) -> list[Reason]:
        return self.rows

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.rows]

    def subset(self, ids: list[str] | set[str]) -> Reasons:
        """The reasons of ``ids`` (in this table's order)."""
        wanted = set(ids)
        return Reasons([r for r in self.rows if r.episode_id in wanted])

    def to_frame(self) -> pd.DataFrame:
        """One row per reason; ``provenance`` as a JSON string (so Parquet keeps it)."""
        rows = [asdict(r) | {"provenance": json.dumps(r.provenance, sort_keys=True)} for r in self.rows]
        return pd.DataFrame(rows, columns=list(_COLUMNS))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, errors: dict[str, str] | None = None) -> Reasons:
        rows = frame.fillna("").to_dict(orient="records")
        return cls([_reason(row) for row in rows], errors)

    @classmethod
    def load(cls, path: str | Path) -> Reasons:
        payload, rows = read_payload(path, cls.kind)
        if rows is not None:
            return cls.from_frame(rows, payload.get("errors"))
        return cls([Reason(**r) for r in payload.get("reasons", [])], payload.get("errors"))


def _reason(row: dict[str, Any]) -> Reason:
    provenance = row.get("provenance") or "{}"
    return Reason(
        **{k: str(row.get(k, "")) for k in _TEXT_COLUMNS},
        provenance=json.loads(provenance) if isinstance(provenance, str) else dict(provenance),
    )
