"""Result types shared by every engine: reasons, cluster sets and assignments.

Whatever produced them (an LLM, the offline embedding engine, a local model), stage
outputs have one shape, so views, notebooks and metrics never care which engine ran.
Each type shows as a pandas DataFrame and saves to JSON or Parquet with a schema version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "OUTLIER",
    "SCHEMA_VERSION",
    "Assignment",
    "Assignments",
    "Cluster",
    "ClusterSet",
    "Reason",
    "Reasons",
]

SCHEMA_VERSION = 1
#: The cluster id of an episode that fits no cluster.
OUTLIER = "outlier"


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

    @property
    def text(self) -> str:
        """The text clustered and assigned: the reason, preceded by the trajectory."""
        if self.trajectory and self.trajectory != self.failure_reason:
            return f"{self.failure_reason}\n{self.trajectory}".strip()
        return self.failure_reason.strip()


@dataclass
class Cluster:
    """One failure mode: a named, described group of failures."""

    id: str
    name: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    #: Estimated share of the dataset in [0, 1] (the proposer's estimate, not a count).
    frequency: float = 0.0

    def label(self) -> str:
        return f"{self.id}: {self.name}"


class _Table:
    """Shared save/load for result tables: JSON with a header, or Parquet."""

    kind: str = ""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def _header(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": self.kind}

    def save(self, path: str | Path) -> Path:
        """Write to ``.json`` (self-describing) or ``.parquet`` (header in metadata)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame = self.to_frame()
            frame.attrs = {"fmviz": json.dumps(self._json_payload(include_rows=False))}
            frame.to_parquet(path, index=False)
        elif path.suffix == ".json":
            path.write_text(json.dumps(self._json_payload(), indent=2, default=str), encoding="utf-8")
        else:
            raise ValueError(f"cannot save to {path.name!r}: use a .json or .parquet file name")
        return path

    def _json_payload(self, include_rows: bool = True) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError


def _read_payload(path: str | Path, kind: str) -> tuple[dict[str, Any], pd.DataFrame | None]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {kind} file at {path}")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        header = json.loads(frame.attrs.get("fmviz", "{}")) if frame.attrs else {}
        payload, rows = header, frame
    else:
        payload, rows = json.loads(path.read_text(encoding="utf-8")), None
    found_kind = payload.get("kind", kind)
    if found_kind != kind:
        raise ValueError(f"{path} holds {found_kind!r}, not {kind!r}")
    version = payload.get("schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"{path} was written by a newer fmviz (schema {version}); this one reads up to {SCHEMA_VERSION}"
        )
    return payload, rows


class Reasons(_Table):
    """Stage-1 results, plus the episodes that failed with their errors."""

    kind = "reasons"

    def __init__(self, reasons: Iterable[Reason] = (), errors: dict[str, str] | None = None) -> None:
        self.reasons = list(reasons)
        self.errors = dict(errors or {})
        self._index = {r.episode_id: i for i, r in enumerate(self.reasons)}

    def __len__(self) -> int:
        return len(self.reasons)

    def __iter__(self) -> Iterator[Reason]:
        return iter(self.reasons)

    def __getitem__(self, episode_id: str) -> Reason:
        return self.reasons[self._index[episode_id]]

    def __contains__(self, episode_id: object) -> bool:
        return episode_id in self._index

    @property
    def ids(self) -> list[str]:
        return [r.episode_id for r in self.reasons]

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.reasons]

    def to_frame(self) -> pd.DataFrame:
        columns = ["episode_id", "trajectory", "failure_reason", "raw", "engine"]
        return pd.DataFrame([asdict(r) for r in self.reasons], columns=columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, errors: dict[str, str] | None = None) -> Reasons:
        rows = frame.fillna("").to_dict(orient="records")
        keys = ("episode_id", "trajectory", "failure_reason", "raw", "engine")
        return cls([Reason(**{k: str(row.get(k, "")) for k in keys}) for row in rows], errors)

    def _json_payload(self, include_rows: bool = True) -> dict[str, Any]:
        payload = self._header() | {"errors": self.errors}
        if include_rows:
            payload["reasons"] = [asdict(r) for r in self.reasons]
        return payload

    @classmethod
    def load(cls, path: str | Path) -> Reasons:
        payload, rows = _read_payload(path, cls.kind)
        if rows is not None:
            return cls.from_frame(rows, payload.get("errors"))
        return cls([Reason(**r) for r in payload.get("reasons", [])], payload.get("errors"))


class ClusterSet(_Table):
    """A set of failure modes plus how they were found (prompts, models, members)."""

    kind = "cluster_set"

    def __init__(self, clusters: Iterable[Cluster], provenance: dict[str, Any] | None = None) -> None:
        self.clusters = list(clusters)
        ids = [c.id for c in self.clusters]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate cluster ids in {ids}")
        if OUTLIER in ids:
            raise ValueError(f"{OUTLIER!r} is reserved and cannot be a cluster id")
        self.provenance = dict(provenance or {})

    def __len__(self) -> int:
        return len(self.clusters)

    def __iter__(self) -> Iterator[Cluster]:
        return iter(self.clusters)

    def __getitem__(self, cluster_id: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.id == cluster_id:
                return cluster
        raise KeyError(f"no cluster {cluster_id!r}; known: {self.ids}")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.clusters]

    def names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.clusters}

    def to_frame(self) -> pd.DataFrame:
        columns = ["id", "name", "description", "keywords", "frequency"]
        return pd.DataFrame([asdict(c) for c in self.clusters], columns=columns)

    def describe(self) -> str:
        """Plain-text listing used inside prompts and logs."""
        lines = []
        for c in self.clusters:
            keywords = ", ".join(c.keywords)
            lines.append(f"- {c.id} | {c.name} | {c.description} | keywords: {keywords}")
        return "\n".join(lines)

    def _json_payload(self, include_rows: bool = True) -> dict[str, Any]:
        payload = self._header() | {"provenance": self.provenance}
        if include_rows:
            payload["clusters"] = [asdict(c) for c in self.clusters]
        return payload

    @classmethod
    def load(cls, path: str | Path) -> ClusterSet:
        payload, rows = _read_payload(path, cls.kind)
        if rows is not None:
            records = rows.to_dict(orient="records")
            clusters = [
                Cluster(
                    id=str(r["id"]),
                    name=str(r["name"]),
                    description=str(r.get("description") or ""),
                    keywords=[str(k) for k in (r.get("keywords") if r.get("keywords") is not None else [])],
                    frequency=float(r.get("frequency") or 0.0),
                )
                for r in records
            ]
        else:
            clusters = [Cluster(**c) for c in payload.get("clusters", [])]
        return cls(clusters, payload.get("provenance"))


@dataclass
class Assignment:
    """Stage-3 output: one episode's cluster id (or ``outlier``) and why."""

    episode_id: str
    cluster_id: str
    rationale: str = ""
    #: Engine-specific confidence (cosine similarity offline; None for LLMs).
    score: float | None = None

    @property
    def is_outlier(self) -> bool:
        return self.cluster_id == OUTLIER


class Assignments(_Table):
    """Every episode's assignment, plus episodes that could not be assigned."""

    kind = "assignments"

    def __init__(self, assignments: Iterable[Assignment] = (), errors: dict[str, str] | None = None) -> None:
        self.assignments = list(assignments)
        self.errors = dict(errors or {})
        self._index = {a.episode_id: i for i, a in enumerate(self.assignments)}

    def __len__(self) -> int:
        return len(self.assignments)

    def __iter__(self) -> Iterator[Assignment]:
        return iter(self.assignments)

    def __getitem__(self, episode_id: str) -> Assignment:
        return self.assignments[self._index[episode_id]]

    def __contains__(self, episode_id: object) -> bool:
        return episode_id in self._index

    def labels(self) -> dict[str, str]:
        """episode id -> cluster id."""
        return {a.episode_id: a.cluster_id for a in self.assignments}

    def counts(self) -> pd.Series:
        return self.to_frame()["cluster_id"].value_counts()

    def to_frame(self) -> pd.DataFrame:
        columns = ["episode_id", "cluster_id", "rationale", "score"]
        return pd.DataFrame([asdict(a) for a in self.assignments], columns=columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, errors: dict[str, str] | None = None) -> Assignments:
        items = []
        for row in frame.to_dict(orient="records"):
            score = row.get("score")
            items.append(
                Assignment(
                    episode_id=str(row["episode_id"]),
                    cluster_id=str(row["cluster_id"]),
                    rationale=str(row.get("rationale") or ""),
                    score=None if score is None or pd.isna(score) else float(score),
                )
            )
        return cls(items, errors)

    def _json_payload(self, include_rows: bool = True) -> dict[str, Any]:
        payload = self._header() | {"errors": self.errors}
        if include_rows:
            payload["assignments"] = [asdict(a) for a in self.assignments]
        return payload

    @classmethod
    def load(cls, path: str | Path) -> Assignments:
        payload, rows = _read_payload(path, cls.kind)
        if rows is not None:
            return cls.from_frame(rows, payload.get("errors"))
        return cls([Assignment(**a) for a in payload.get("assignments", [])], payload.get("errors"))
