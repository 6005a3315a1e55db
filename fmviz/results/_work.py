"""The meaning of each edit operation, applied to mutable copies of one state.

Private to :mod:`fmviz.results.edits`, whose functions are the public, pure face of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, replace

import numpy as np

from fmviz.results.assignments import OUTLIER, Assignment, Assignments
from fmviz.results.clusters import Cluster, ClusterSet, EditLog
from fmviz.results.ops import Add, Delete, LogEntry, MarkOutlier, Merge, Move, Operation, Split, Update

__all__ = ["Work"]

_NUMERIC_ID = re.compile(r"^C(\d+)$")


class Work:
    """Mutable copies of one state while operations are applied (never leaves this module)."""

    def __init__(
        self, clusters: ClusterSet, assignments: Assignments | None, *, trusted: bool = False
    ) -> None:
        #: Replaying a saved log: its operations were checked when first applied.
        self.trusted = trusted
        self.clusters = {c.id: replace(c, keywords=list(c.keywords)) for c in clusters}
        self.centroids = {k: list(v) for k, v in clusters.centroids.items()}
        self.membership = dict(clusters.membership)
        self.member_text_hash = dict(clusters.member_text_hash)
        self.rows: dict[str, Assignment] | None = (
            None if assignments is None else {a.episode_id: a for a in assignments}
        )
        ids = [*self.clusters, *_ids_in_base(clusters.log)]
        self.high_water = max([clusters.log.high_water, *(_number(i) for i in ids)])
        self.added: list[str] = []

    # -- helpers ----------------------------------------------------------------------------
    def _new_id(self, wanted: str | None) -> str:
        if wanted is not None:
            if wanted in self.clusters or wanted == OUTLIER:
                raise ValueError(f"cluster id {wanted!r} is already in use")
            self.high_water = max(self.high_water, _number(wanted))
        else:
            self.high_water += 1
            wanted = f"C{self.high_water}"
        self.added.append(wanted)
        return wanted

    def _require(self, cluster_id: str) -> Cluster:
        if cluster_id not in self.clusters:
            raise ValueError(f"no cluster {cluster_id!r}; the set has {list(self.clusters)}")
        return self.clusters[cluster_id]

    def _members(self, cluster_id: str) -> list[str]:
        if self.rows is not None:
            return [e for e, a in self.rows.items() if a.cluster_id == cluster_id]
        return [e for e, c in self.membership.items() if c == cluster_id]

    def _replace_cluster(self, old_ids: Sequence[str], new: list[Cluster]) -> None:
        """Put ``new`` where the first of ``old_ids`` stood, dropping the others."""
        position = list(self.clusters).index(old_ids[0])
        kept = [c for cid, c in self.clusters.items() if cid not in old_ids]
        self.clusters = {c.id: c for c in [*kept[:position], *new, *kept[position:]]}

    def _set_row(self, prior: dict[str, dict | None], episode_id: str, row: Assignment | None) -> None:
        assert self.rows is not None
        if episode_id not in prior:
            old = self.rows.get(episode_id)
            prior[episode_id] = None if old is None else asdict(old)
        if row is None:
            self.rows.pop(episode_id, None)
        else:
            self.rows[episode_id] = row

    # -- operations -------------------------------------------------------------------------
    def apply(self, op: Operation) -> LogEntry:
        prior: dict[str, dict | None] = {}
        handler = getattr(self, f"_{op.kind}")
        filled, touched = handler(op, prior)
        return LogEntry(filled, tuple(touched), prior)

    def _merge(self, op: Merge, prior: dict) -> tuple[Operation, list[str]]:
        ids = list(dict.fromkeys(op.clusters))
        if len(ids) < 2:
            raise ValueError(f"merge needs two or more different clusters, got {list(op.clusters)}")
        parts = [self._require(i) for i in ids]
        new_id = self._new_id(op.new_id)
        keywords = list(dict.fromkeys(k for c in parts for k in c.keywords))[:12]
        descriptions = list(dict.fromkeys(c.description.strip() for c in parts if c.description.strip()))
        merged = Cluster(
            new_id,
            op.name or parts[0].name,
            op.description if op.description is not None else " ".join(descriptions),
            keywords,
            round(sum(c.frequency for c in parts), 6),
        )
        if all(i in self.centroids for i in ids):
            # weights from the set's own state (not the assignments), so a replay gives the same centroid
            sizes = [sum(1 for c in self.membership.values() if c == i) for i in ids]
            weights = np.array([max(n, 1) for n in sizes], dtype=np.float64)
            mean = (np.array([self.centroids.pop(i) for i in ids]) * weights[:, None]).sum(axis=0)
            self.centroids[new_id] = [round(float(v), 6) for v in mean / max(np.linalg.norm(mean), 1e-12)]
        else:
            for i in ids:
                self.centroids.pop(i, None)
        if self.rows is not None:
            for episode_id, row in list(self.rows.items()):
                if row.cluster_id in ids:
                    self._set_row(prior, episode_id, row.but(cluster_id=new_id))
        self.membership = {e: (new_id if c in ids else c) for e, c in self.membership.items()}
        self._replace_cluster(ids, [merged])
        return replace(op, clusters=tuple(ids), new_id=new_id), []

    def _split(self, op: Split, prior: dict) -> tuple[Operation, list[str]]:
        source = self._require(op.cluster)
        groups = [list(dict.fromkeys(g)) for g in op.groups]
        if len(groups) < 2:
            raise ValueError(f"split {op.cluster}: give two or more groups, got {len(groups)}")
        for index, group in enumerate(groups, start=1):
            if not group:
                raise ValueError(f"split {op.cluster}: part {index} is empty")
        listed = [e for g in groups for e in g]
        if len(set(listed)) != len(listed):
            raise ValueError(f"split {op.cluster}: an episode is in two parts")
        members = self._members(op.cluster)
        if members and not self.trusted:
            strangers = sorted(set(listed) - set(members))
            if strangers:
                raise ValueError(f"split {op.cluster}: {strangers[:5]} are not members of {op.cluster}")
        for name, values in (
            ("names", op.names),
            ("descriptions", op.descriptions),
            ("keywords", op.keywords),
        ):
            if values and len(values) != len(groups):
                raise ValueError(f"split {op.cluster}: {len(values)} {name} for {len(groups)} parts")
        if op.new_ids and len(op.new_ids) != len(groups):
            raise ValueError(f"split {op.cluster}: {len(op.new_ids)} new ids for {len(groups)} parts")
        new_ids = [self._new_id(op.new_ids[i] if op.new_ids else None) for i in range(len(groups))]
        total = len(listed)
        parts = [
            Cluster(
                new_ids[i],
                op.names[i] if op.names else f"{source.name} ({i + 1})",
                op.descriptions[i] if op.descriptions else source.description,
                list(op.keywords[i]) if op.keywords else list(source.keywords),
                round(source.frequency * len(group) / total, 6),
            )
            for i, group in enumerate(groups)
        ]
        self.centroids.pop(op.cluster, None)
        for i, centroid in enumerate(op.centroids):
            self.centroids[new_ids[i]] = list(centroid)
        part_of = {e: new_ids[i] for i, g in enumerate(groups) for e in g}
        had_membership = bool(self.membership)
        self.membership = {e: c for e, c in self.membership.items() if c != op.cluster}
        if had_membership:
            self.membership.update(part_of)
        touched = []
        if self.rows is not None:
            for episode_id in members:
                row = self.rows[episode_id]
                target = part_of.get(episode_id, new_ids[0])
                why = f"pending re-assignment: {op.cluster} was split"
                self._set_row(
                    prior,
                    episode_id,
                    row.but(cluster_id=target, rationale=why, score=None, pinned=False, pending=True),
                )
                touched.append(episode_id)
        self._replace_cluster([op.cluster], parts)
        return replace(op, groups=tuple(tuple(g) for g in groups), new_ids=tuple(new_ids)), touched

    def _update(self, op: Update, prior: dict) -> tuple[Operation, list[str]]:
        cluster = self._require(op.cluster)
        if op.name is not None and not op.name.strip():
            raise ValueError(f"update {op.cluster}: a name cannot be empty")
        self.clusters[op.cluster] = replace(
            cluster,
            name=cluster.name if op.name is None else op.name.strip(),
            description=cluster.description if op.description is None else op.description,
            keywords=list(cluster.keywords) if op.keywords is None else list(op.keywords),
        )
        return op, []

    def _pin(self, episodes: Sequence[str], target: str, why: str, prior: dict) -> None:
        if not episodes:
            raise ValueError("name at least one episode")
        if self.trusted:  # replaying a checked log: the cluster state does not depend on rows
            if self.rows is not None:
                for episode_id in episodes:
                    self._set_row(prior, episode_id, Assignment(episode_id, target, why, None, pinned=True))
            return
        if self.rows is None:
            self.rows = {}
        known = self.rows.keys() | self.membership.keys()
        if known:
            unknown = [e for e in episodes if e not in known]
            if unknown:
                raise ValueError(f"unknown episode(s) {unknown[:5]}")
        for episode_id in episodes:
            self._set_row(prior, episode_id, Assignment(episode_id, target, why, None, pinned=True))

    def _move(self, op: Move, prior: dict) -> tuple[Operation, list[str]]:
        if op.to != OUTLIER:
            self._require(op.to)
        self._pin(list(op.episodes), op.to, "moved by hand", prior)
        return op, []

    def _outlier(self, op: MarkOutlier, prior: dict) -> tuple[Operation, list[str]]:
        self._pin(list(op.episodes), OUTLIER, "marked outlier by hand", prior)
        return op, []

    def _delete(self, op: Delete, prior: dict) -> tuple[Operation, list[str]]:
        self._require(op.cluster)
        if op.members not in ("reassign", "outlier"):
            raise ValueError(f"delete {op.cluster}: members must be 'reassign' or 'outlier'")
        members = self._members(op.cluster)
        del self.clusters[op.cluster]
        self.centroids.pop(op.cluster, None)
        self.membership = {e: c for e, c in self.membership.items() if c != op.cluster}
        touched = []
        if self.rows is not None:
            pending = op.members == "reassign"
            why = (
                f"pending re-assignment: {op.cluster} was deleted" if pending else f"{op.cluster} was deleted"
            )
            for episode_id in members:
                row = self.rows[episode_id].but(
                    cluster_id=OUTLIER, rationale=why, score=None, pinned=False, pending=pending
                )
                self._set_row(prior, episode_id, row)
                if pending:
                    touched.append(episode_id)
        return op, touched

    def _add(self, op: Add, prior: dict) -> tuple[Operation, list[str]]:
        if not op.name.strip():
            raise ValueError("a new cluster needs a name")
        new_id = self._new_id(op.new_id)
        self.clusters[new_id] = Cluster(new_id, op.name.strip(), op.description, list(op.keywords), 0.0)
        touched = []
        if self.rows is not None:
            scope = set(op.scope)
            for episode_id, row in list(self.rows.items()):
                if row.pinned or row.pending:
                    continue
                if row.cluster_id == OUTLIER or episode_id in scope or row.cluster_id in scope:
                    why = f"pending re-assignment: new cluster {new_id}"
                    self._set_row(prior, episode_id, row.but(rationale=why, pending=True))
                    touched.append(episode_id)
        # the log records who was re-asked, so a replay frees the same episodes from membership
        scope = tuple(dict.fromkeys([*op.scope, *touched]))
        for episode_id in scope:
            self.membership.pop(episode_id, None)
        return replace(op, new_id=new_id, scope=scope), touched

    # -- results ----------------------------------------------------------------------------
    def cluster_set(self, like: ClusterSet, log: EditLog) -> ClusterSet:
        return ClusterSet(
            self.clusters.values(),
            like.provenance,
            centroids=self.centroids,
            embedding_model=like.embedding_model,
            membership=self.membership,
            member_text_hash=self.member_text_hash,
            log=replace(log, high_water=max(log.high_water, self.high_water)),
        )

    def assignments(self, like: Assignments | None, version: str) -> Assignments | None:
        if self.rows is None:
            return None
        rows = list(self.rows.values())
        if like is None:
            return Assignments(rows, cluster_set_version=version)
        return like.with_rows(rows, cluster_set_version=version)


def _number(cluster_id: str) -> int:
    match = _NUMERIC_ID.match(cluster_id)
    return int(match.group(1)) if match else 0


def _ids_in_base(log: EditLog) -> list[str]:
    return [str(c["id"]) for c in (log.base or {}).get("clusters", [])]
