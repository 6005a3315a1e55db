"""Cluster edits as data: one pure function applies operations; undo and redo replay the log.

:func:`apply_edits` takes a cluster set, its assignments and a list of operations (see
:mod:`fmviz.results.ops`) and returns the new set (its log extended), the new assignments and
the episodes the edits touched (those re-assignment must ask the engine about again). Nothing
is mutated. A hand move or a hand outlier is a *pin* that re-assignment never overrides; merge
and rename keep memberships as they are; split and delete mark only the affected clusters'
episodes as pending. New clusters get new ids (``C<n>``, above any id the set ever had).

Examples
--------
>>> result = apply_edits(clusters, assignments, [Merge(("C3", "C7"), name="Rear-end")])  # doctest: +SKIP
>>> result.touched                                          # merge re-asks nobody  # doctest: +SKIP
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fmviz.results._work import Work
from fmviz.results.assignments import OUTLIER, Assignment, Assignments
from fmviz.results.clusters import ClusterSet, EditLog
from fmviz.results.ops import LogEntry, Operation
from fmviz.results.reasons import Reasons

__all__ = ["EditResult", "apply_edits", "members_to_split", "reconcile", "redo", "replay", "undo"]


@dataclass
class EditResult:
    """What a list of edits produced."""

    clusters: ClusterSet
    assignments: Assignments | None
    #: Episodes marked pending: the next re-assignment asks the engine about these only.
    touched: list[str]
    #: Ids of clusters the edits created.
    added: list[str]


def apply_edits(
    clusters: ClusterSet, assignments: Assignments | None, ops: Sequence[Operation]
) -> EditResult:
    """Apply ``ops`` in order and record them in the returned set's log (redo history is cleared).

    Raises ``ValueError`` naming the operation for an edit that cannot apply (unknown cluster,
    a merge of a cluster with itself, an empty split part, ...); nothing is changed then.
    """
    if assignments is not None:
        assignments = reconcile(clusters, assignments).assignments
    return _record(clusters, assignments, ops, undone=[])


def _record(
    clusters: ClusterSet, assignments: Assignments | None, ops: Sequence[Operation], undone: list[LogEntry]
) -> EditResult:
    work = Work(clusters, assignments)
    entries = []
    for op in ops:
        try:
            entries.append(work.apply(op))
        except ValueError as exc:
            raise ValueError(f"cannot {op.summary()}: {exc}") from None
    base = clusters.log.base if clusters.log.base is not None else clusters.state_dict()
    log = EditLog(base, [*clusters.log.applied, *entries], undone, clusters.log.high_water)
    new = work.cluster_set(clusters, log)
    touched = list(dict.fromkeys(e for entry in entries for e in entry.touched))
    return EditResult(new, work.assignments(assignments, new.version), touched, work.added)


def replay(clusters: ClusterSet, upto: int | None = None) -> ClusterSet:
    """The state after the first ``upto`` applied edits (default all), rebuilt from the base."""
    log = clusters.log
    if log.base is None:
        return clusters
    applied = log.applied if upto is None else log.applied[:upto]
    start = ClusterSet.from_state(log.base, clusters.provenance, EditLog(high_water=log.high_water))
    work = Work(start, None, trusted=True)
    for entry in applied:
        work.apply(entry.op)
    return work.cluster_set(clusters, EditLog(log.base, list(applied), list(log.undone), log.high_water))


def undo(clusters: ClusterSet, assignments: Assignments | None = None) -> EditResult:
    """Take back the last edit: the set before it, and its episodes' assignments restored."""
    log = clusters.log
    if not log.applied:
        raise ValueError("nothing to undo: the cluster set has no edits")
    if assignments is not None:
        assignments = reconcile(clusters, assignments).assignments
    entry = log.applied[-1]
    before = replay(clusters, len(log.applied) - 1)
    before.log.undone = [*log.undone, entry]
    restored = assignments
    if assignments is not None:
        restored = _restore(assignments, [entry], before)
    return EditResult(before, restored, list(entry.touched), [])


def redo(clusters: ClusterSet, assignments: Assignments | None = None) -> EditResult:
    """Apply the last undone edit again."""
    log = clusters.log
    if not log.undone:
        raise ValueError("nothing to redo")
    if assignments is not None:
        assignments = reconcile(clusters, assignments).assignments
    return _record(clusters, assignments, [log.undone[-1].op], undone=log.undone[:-1])


def reconcile(clusters: ClusterSet, assignments: Assignments) -> EditResult:
    """Bring assignments made against any version of ``clusters`` to its current version.

    Forward edits are applied, undone ones restored; assignments of unknown origin (a file edited
    by hand) keep every episode whose cluster still exists and mark the rest pending.
    """
    current = clusters.version
    if assignments.cluster_set_version == current:
        return EditResult(clusters, assignments, [], [])
    versions = clusters.versions()
    cursor = len(clusters.log.applied)
    path = [*clusters.log.applied, *reversed(clusters.log.undone)]
    if assignments.cluster_set_version in versions:
        at = versions.index(assignments.cluster_set_version)
        if at < cursor:
            work = Work(replay(clusters, at), assignments)
            entries = [work.apply(entry.op) for entry in path[at:cursor]]
            touched = list(dict.fromkeys(e for entry in entries for e in entry.touched))
            return EditResult(clusters, work.assignments(assignments, current), touched, work.added)
        undone = list(reversed(path[cursor:at]))
        touched = list(dict.fromkeys(e for entry in undone for e in entry.touched))
        restored = _restore(assignments, undone, clusters)
        touched += [a.episode_id for a in restored if a.pending and a.episode_id not in touched]
        return EditResult(clusters, restored, touched, [])
    rows, touched = _orphans_pending(list(assignments), set(clusters.ids))
    return EditResult(clusters, assignments.with_rows(rows, cluster_set_version=current), touched, [])


def members_to_split(
    cluster_id: str, clusters: ClusterSet, assignments: Assignments | None, reasons: Reasons, n: int
) -> list[str]:
    """The episodes a split of ``cluster_id`` into ``n`` parts divides: assigned members with a reason.

    Falls back to the discovery membership when there are no assignments yet. Raises
    ``ValueError`` (naming the cluster) for fewer than 2 parts or fewer members than parts.
    """
    clusters[cluster_id]  # KeyError naming the known ids
    if n < 2:
        raise ValueError(f"split {cluster_id}: ask for 2 or more parts, not {n}")
    ids = assignments.members(cluster_id) if assignments is not None else clusters.members(cluster_id)
    members = [i for i in ids if i in reasons]
    if len(members) < n:
        raise ValueError(f"split {cluster_id}: it has {len(members)} member(s) with a reason, fewer than {n}")
    return members


def _restore(assignments: Assignments, entries: Sequence[LogEntry], target: ClusterSet) -> Assignments:
    """Put back each entry's prior assignments (the latest entry first); orphans become pending."""
    rows = {a.episode_id: a for a in assignments}
    for entry in entries:
        for episode_id, before in entry.prior.items():
            if before is None:
                rows.pop(episode_id, None)
            else:
                rows[episode_id] = Assignment(**before)
    kept, _ = _orphans_pending(list(rows.values()), set(target.ids))
    return assignments.with_rows(kept, cluster_set_version=target.version)


def _orphans_pending(rows: list[Assignment], known: set[str]) -> tuple[list[Assignment], list[str]]:
    """Rows whose cluster is not in ``known`` become pending outliers; also returns their ids."""
    out, touched = [], []
    for row in rows:
        if row.cluster_id != OUTLIER and row.cluster_id not in known:
            why = f"pending re-assignment: {row.cluster_id} is not in the cluster set"
            row = row.but(cluster_id=OUTLIER, rationale=why, score=None, pinned=False, pending=True)
            touched.append(row.episode_id)
        out.append(row)
    return out, touched
