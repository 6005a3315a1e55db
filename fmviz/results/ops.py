"""Cluster edit operations as small typed records, and the log entry that records one.

Operations are plain values (frozen dataclasses of tuples): they compare equal, hash, and
save as JSON with a ``kind`` tag. :func:`fmviz.results.edits.apply_edits` gives them meaning.
A log entry keeps the operation with the ids it created filled in, the episodes it touched,
and their assignments before it, so undo restores exactly what was there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

__all__ = [
    "OPERATIONS",
    "Add",
    "Delete",
    "LogEntry",
    "MarkOutlier",
    "Merge",
    "Move",
    "Operation",
    "Split",
    "Update",
    "op_from_dict",
]


@dataclass(frozen=True)
class Merge:
    """Two or more clusters become one new cluster (members keep their places, under the new id)."""

    kind: ClassVar[str] = "merge"
    clusters: tuple[str, ...]
    name: str | None = None
    description: str | None = None
    new_id: str | None = None

    def summary(self) -> str:
        named = f" as {self.name!r}" if self.name else ""
        return f"merge {', '.join(self.clusters)}{named}" + (f" -> {self.new_id}" if self.new_id else "")


@dataclass(frozen=True)
class Split:
    """One cluster becomes several, one per group of episode ids; its members are re-assigned.

    Members not named in any group go to the first part until re-assignment.
    """

    kind: ClassVar[str] = "split"
    cluster: str
    groups: tuple[tuple[str, ...], ...]
    names: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    keywords: tuple[tuple[str, ...], ...] = ()
    #: Unit centroids of the parts (an embedding engine's split), else empty.
    centroids: tuple[tuple[float, ...], ...] = ()
    new_ids: tuple[str, ...] = ()
    #: Who chose the groups: ``"hand"`` or an engine spec.
    by: str = "hand"

    def summary(self) -> str:
        sizes = "+".join(str(len(g)) for g in self.groups)
        made = f" -> {', '.join(self.new_ids)}" if self.new_ids else ""
        return f"split {self.cluster} into {len(self.groups)} ({sizes}, by {self.by}){made}"


@dataclass(frozen=True)
class Update:
    """Rename, re-describe or re-keyword one cluster (``None`` leaves a field as it is)."""

    kind: ClassVar[str] = "update"
    cluster: str
    name: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] | None = None

    def summary(self) -> str:
        parts = [
            f"{f}={getattr(self, f)!r}"
            for f in ("name", "description", "keywords")
            if getattr(self, f) is not None
        ]
        return f"update {self.cluster}: {', '.join(parts)}"


@dataclass(frozen=True)
class Move:
    """Episodes pinned to a cluster by hand: re-assignment never moves them again."""

    kind: ClassVar[str] = "move"
    episodes: tuple[str, ...]
    to: str

    def summary(self) -> str:
        return f"move {len(self.episodes)} episode(s) to {self.to}"


@dataclass(frozen=True)
class MarkOutlier:
    """Episodes pinned as outliers by hand."""

    kind: ClassVar[str] = "outlier"
    episodes: tuple[str, ...]

    def summary(self) -> str:
        return f"mark {len(self.episodes)} episode(s) outlier"


@dataclass(frozen=True)
class Delete:
    """Remove a cluster; its members are re-assigned (``"reassign"``) or become outliers."""

    kind: ClassVar[str] = "delete"
    cluster: str
    members: Literal["reassign", "outlier"] = "reassign"

    def summary(self) -> str:
        return f"delete {self.cluster} (members: {self.members})"


@dataclass(frozen=True)
class Add:
    """A new cluster from a name and description.

    Re-assignment then re-asks the outliers and the episodes in ``scope`` (episode or cluster
    ids); an embedding engine also re-asks episodes it scores closer to the new cluster.
    """

    kind: ClassVar[str] = "add"
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    new_id: str | None = None

    def summary(self) -> str:
        return f"add {self.name!r}" + (f" as {self.new_id}" if self.new_id else "")


Operation = Merge | Split | Update | Move | MarkOutlier | Delete | Add
OPERATIONS: dict[str, type[Operation]] = {
    cls.kind: cls for cls in (Merge, Split, Update, Move, MarkOutlier, Delete, Add)
}


def op_to_dict(op: Operation) -> dict[str, Any]:
    return {"kind": op.kind} | asdict(op)


def op_from_dict(payload: dict[str, Any]) -> Operation:
    """Rebuild an operation saved by :func:`op_to_dict` (lists become tuples)."""
    kind = payload.get("kind")
    cls = OPERATIONS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown edit operation {kind!r}; known: {sorted(OPERATIONS)}")
    values = {}
    for f in fields(cls):
        if f.name in payload:
            values[f.name] = _tuples(payload[f.name])
    return cls(**values)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


@dataclass(frozen=True)
class LogEntry:
    """One applied operation: ids filled in, what it touched, and assignments before it."""

    op: Operation
    #: Episodes the operation marked for re-assignment.
    touched: tuple[str, ...] = ()
    #: Episode id -> its assignment (as a dict) before the operation, or None if it had none.
    prior: dict[str, dict[str, Any] | None] = field(default_factory=dict, compare=False, hash=False)

    def op_dict(self) -> dict[str, Any]:
        return op_to_dict(self.op)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op_dict(), "touched": list(self.touched), "prior": self.prior}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> LogEntry:
        return cls(
            op=op_from_dict(payload["op"]),
            touched=tuple(payload.get("touched", ())),
            prior=dict(payload.get("prior") or {}),
        )
