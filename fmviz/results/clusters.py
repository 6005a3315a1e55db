"""Failure modes: a cluster set's state in typed fields, its edit log, and its history.

State is what assignment and the views read: the clusters, and for sets an embedding engine
made, their centroids and the membership found at discovery. The edit log (merges, splits,
renames, moves...) replays from the set as first proposed (``log.base``) to the current state,
and every state has a ``version`` id that changes with every edit, so results made against an
older version can say so. ``provenance`` is history only (prompts, models, ensemble members,
the silhouette curve): nothing reads state out of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.results._table import SCHEMA_VERSION, Table, read_payload
from fmviz.results.assignments import OUTLIER
from fmviz.results.ops import LogEntry

__all__ = ["Cluster", "ClusterSet", "EditLog"]

#: Provenance keys of schema-1 files that were state; moved into typed fields on load.
_LEGACY_STATE_KEYS = ("centroids", "members", "member_text_hash")


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


@dataclass
class EditLog:
    """The edits applied to a cluster set since it was proposed, and those undone (for redo)."""

    #: The state before the first edit (a payload of :meth:`ClusterSet.state_dict`).
    base: dict[str, Any] | None = None
    applied: list[LogEntry] = field(default_factory=list)
    #: Undone entries, the next one to redo last.
    undone: list[LogEntry] = field(default_factory=list)
    #: Highest numeric cluster id ever handed out (``C12`` -> 12), so an id is never reused.
    high_water: int = 0

    def __len__(self) -> int:
        return len(self.applied)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "applied": [e.to_dict() for e in self.applied],
            "undone": [e.to_dict() for e in self.undone],
            "high_water": self.high_water,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any] | None) -> EditLog:
        payload = payload or {}
        return cls(
            base=payload.get("base"),
            applied=[LogEntry.from_dict(e) for e in payload.get("applied", [])],
            undone=[LogEntry.from_dict(e) for e in payload.get("undone", [])],
            high_water=int(payload.get("high_water", 0)),
        )


class ClusterSet(Table):
    """A set of failure modes: typed state, an edit log, and provenance (history).

    Parameters
    ----------
    clusters:
        The failure modes (ids unique; ``outlier`` is reserved).
    provenance:
        How the set was found: prompts, models, members of an ensemble, settings. History only.
    centroids:
        Cluster id -> unit vector, for sets made by an embedding engine (``{}`` otherwise).
    embedding_model:
        The model those centroids live in.
    membership:
        Episode id -> cluster id as found at discovery (offline sets; ``{}`` for LLM sets).
    member_text_hash:
        Episode id -> fingerprint of the text clustered, so a member is recognised only while its
        reason is unchanged.
    log:
        The edit log (see :mod:`fmviz.results.edits`).
    """

    kind = "cluster_set"

    def __init__(
        self,
        clusters: Iterable[Cluster],
        provenance: dict[str, Any] | None = None,
        *,
        centroids: dict[str, list[float]] | None = None,
        embedding_model: str | None = None,
        membership: dict[str, str] | None = None,
        member_text_hash: dict[str, str] | None = None,
        log: EditLog | None = None,
    ) -> None:
        self.clusters = list(clusters)
        ids = [c.id for c in self.clusters]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate cluster ids in {ids}")
        if OUTLIER in ids:
            raise ValueError(f"{OUTLIER!r} is reserved and cannot be a cluster id")
        self.provenance = dict(provenance or {})
        self.centroids = {str(k): list(v) for k, v in (centroids or {}).items()}
        self.embedding_model = embedding_model
        self.membership = {str(k): str(v) for k, v in (membership or {}).items()}
        self.member_text_hash = {str(k): str(v) for k, v in (member_text_hash or {}).items()}
        self.log = log if log is not None else EditLog()

    def __len__(self) -> int:
        return len(self.clusters)

    def __iter__(self) -> Iterator[Cluster]:
        return iter(self.clusters)

    def __contains__(self, cluster_id: object) -> bool:
        return any(c.id == cluster_id for c in self.clusters)

    def __getitem__(self, cluster_id: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.id == cluster_id:
                return cluster
        raise KeyError(f"no cluster {cluster_id!r}; known: {self.ids}")

    def __repr__(self) -> str:
        return f"ClusterSet({len(self)} clusters, {len(self.log)} edits, version {self.version})"

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.clusters]

    def names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.clusters}

    def members(self, cluster_id: str) -> list[str]:
        """Episodes found in ``cluster_id`` at discovery (empty for LLM-made sets)."""
        return [e for e, c in self.membership.items() if c == cluster_id]

    # -- versions ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The state alone (no log, no provenance): what two equal sets share."""
        return {
            "clusters": [asdict(c) for c in self.clusters],
            "centroids": self.centroids,
            "embedding_model": self.embedding_model,
            "membership": self.membership,
            "member_text_hash": self.member_text_hash,
        }

    @property
    def base_version(self) -> str:
        """Version of the set as first proposed (before any edit)."""
        return state_version(self.log.base if self.log.base is not None else self.state_dict())

    @property
    def version(self) -> str:
        """Changes with every edit; the same edits on the same base give the same version."""
        return version_chain(self.base_version, self.log.applied)[-1]

    def versions(self) -> list[str]:
        """Version after each prefix of the edit path (applied, then undone in redo order)."""
        path = [*self.log.applied, *reversed(self.log.undone)]
        return version_chain(self.base_version, path)

    # -- tables -----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        columns = ["id", "name", "description", "keywords", "frequency"]
        return pd.DataFrame([asdict(c) for c in self.clusters], columns=columns)

    def log_frame(self) -> pd.DataFrame:
        """The edit log as a table: step, kind, what it did, episodes touched, undone (last)."""
        rows = [
            {
                "step": step,
                "kind": e.op.kind,
                "edit": e.op.summary(),
                "touched": len(e.touched),
                "undone": False,
            }
            for step, e in enumerate(self.log.applied, start=1)
        ]
        rows += [
            {
                "step": None,
                "kind": e.op.kind,
                "edit": e.op.summary(),
                "touched": len(e.touched),
                "undone": True,
            }
            for e in reversed(self.log.undone)
        ]
        return pd.DataFrame(rows, columns=["step", "kind", "edit", "touched", "undone"])

    def describe(self) -> str:
        """Plain-text listing used inside prompts and logs."""
        lines = []
        for c in self.clusters:
            keywords = ", ".join(c.keywords)
            lines.append(f"- {c.id} | {c.name} | {c.description} | keywords: {keywords}")
        return "\n".join(lines)

    def _json_payload(self, *, include_rows: bool = True) -> dict[str, Any]:
        state = self.state_dict()
        payload = self._header() | {"version": self.version, "provenance": self.provenance}
        payload |= {k: v for k, v in state.items() if k != "clusters"}
        payload["log"] = self.log.to_dict()
        if include_rows:
            payload["clusters"] = state["clusters"]
        return payload

    @classmethod
    def from_state(
        cls, state: dict[str, Any], provenance: dict[str, Any] | None = None, log: EditLog | None = None
    ) -> ClusterSet:
        """Build a set from :meth:`state_dict` output."""
        return cls(
            [Cluster(**c) for c in state.get("clusters", [])],
            provenance,
            centroids=state.get("centroids"),
            embedding_model=state.get("embedding_model"),
            membership=state.get("membership"),
            member_text_hash=state.get("member_text_hash"),
            log=log,
        )

    @classmethod
    def load(cls, path: str | Path) -> ClusterSet:
        payload, rows = read_payload(path, cls.kind)
        if rows is not None:
            payload = payload | {"clusters": [_cluster_from_row(r) for r in rows.to_dict(orient="records")]}
        provenance = dict(payload.get("provenance") or {})
        if payload.get("schema_version", SCHEMA_VERSION) < 2:
            payload = payload | _migrate_v1(provenance)
        return cls.from_state(payload, provenance, EditLog.from_dict(payload.get("log")))


def state_version(state: dict[str, Any]) -> str:
    """A short content hash of a state dict."""
    text = json.dumps(state, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def version_chain(base_version: str, entries: list[LogEntry]) -> list[str]:
    """``[base, after entry 1, after entry 2, ...]``: each version hashes the previous and the op."""
    versions = [base_version]
    for entry in entries:
        text = versions[-1] + json.dumps(entry.op_dict(), sort_keys=True, default=str)
        versions.append(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12])
    return versions


def _migrate_v1(provenance: dict[str, Any]) -> dict[str, Any]:
    """State that schema-1 files kept in provenance (offline sets only), as typed fields."""
    members = provenance.get("members")
    state: dict[str, Any] = {"embedding_model": provenance.get("embedding_model")}
    if isinstance(provenance.get("centroids"), dict):
        state["centroids"] = provenance.pop("centroids")
    if isinstance(members, dict):  # offline: cluster -> episode ids; an LLM set keeps ensemble records
        state["membership"] = {str(m): str(c) for c, ms in provenance.pop("members").items() for m in ms}
    if isinstance(provenance.get("member_text_hash"), dict):
        state["member_text_hash"] = provenance.pop("member_text_hash")
    return state


def _cluster_from_row(r: dict[str, Any]) -> dict[str, Any]:
    keywords = r.get("keywords")
    return {
        "id": str(r["id"]),
        "name": str(r["name"]),
        "description": str(r.get("description") or ""),
        "keywords": [str(k) for k in (keywords if keywords is not None else [])],
        "frequency": float(r.get("frequency") or 0.0),
    }
