"""What the cluster editor edits: a run, or a cluster set with its assignments and reasons.

The editor widget talks to one small interface, :class:`EditableRun`: ``apply``, ``undo``,
``redo``, ``split_proposal`` and ``reassign``, the verbs of :class:`fmviz.run.Run`. A view must
not import the run (views sit below it), so the interface is a Protocol; :class:`EditSession`
implements it on plain results with the same pure functions the run uses
(:func:`fmviz.results.edits.apply_edits`, ``undo``, ``redo``), so the editor also works on a
cluster set loaded from a file, with no engine. Re-assignment and engine splits then need a
callable, or say plainly that there is no engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from fmviz.results import (
    Assignments,
    ClusterSet,
    EditResult,
    Operation,
    Reasons,
    Split,
    apply_edits,
    reconcile,
    redo,
    undo,
)

__all__ = ["EditSession", "EditableRun"]

Progress = Callable[[int, int], None]
Reassigner = Callable[[Reasons, ClusterSet, Assignments, Progress | None], Assignments]


@runtime_checkable
class EditableRun(Protocol):
    """The verbs and state the cluster editor needs (what :class:`fmviz.run.Run` offers)."""

    clusters: ClusterSet
    assignments: Assignments
    reasons: Reasons

    @property
    def current_assignments(self) -> Assignments: ...

    def apply(self, ops: Operation | Sequence[Operation]) -> EditResult: ...

    def undo(self) -> EditResult: ...

    def redo(self) -> EditResult: ...

    def split_proposal(self, cluster_id: str, n: int = 2) -> Split: ...

    def reassign(self, *, progress: Progress | None = None) -> dict[str, int]: ...


class EditSession:
    """Edits on plain results: a cluster set, its assignments and the reasons they label.

    Parameters
    ----------
    clusters, assignments, reasons:
        The results to edit (nothing is mutated; the session holds the latest versions).
    reassigner:
        ``(reasons, clusters, assignments, progress) -> Assignments`` re-assigning the pending
        episodes; without one, :meth:`reassign` raises ``ValueError``.
    splitter:
        ``(cluster_id, n) -> Split``, an engine's split proposal; without one,
        :meth:`split_proposal` raises ``ValueError``.

    Examples
    --------
    >>> from fmviz.results import Cluster, Assignment, Merge, Reason
    >>> session = EditSession(
    ...     ClusterSet([Cluster("C1", "Glass"), Cluster("C2", "Mirrors")]),
    ...     Assignments([Assignment("e1", "C1"), Assignment("e2", "C2")]),
    ...     Reasons([Reason("e1", "", "glass door"), Reason("e2", "", "mirror")]),
    ... )
    >>> _ = session.apply(Merge(("C1", "C2"), name="Reflective surfaces"))
    >>> session.clusters.names()
    {'C3': 'Reflective surfaces'}
    >>> _ = session.undo()
    >>> session.clusters.ids
    ['C1', 'C2']
    """

    def __init__(
        self,
        clusters: ClusterSet,
        assignments: Assignments,
        reasons: Reasons,
        *,
        reassigner: Reassigner | None = None,
        splitter: Callable[[str, int], Split] | None = None,
    ) -> None:
        self.clusters = clusters
        self.assignments = assignments
        self.reasons = reasons
        self._reassigner = reassigner
        self._splitter = splitter

    @property
    def current_assignments(self) -> Assignments:
        """Assignments brought to the current cluster set (touched episodes are pending)."""
        result = reconcile(self.clusters, self.assignments)
        assert result.assignments is not None
        return result.assignments

    def _take(self, result: EditResult) -> EditResult:
        self.clusters = result.clusters
        if result.assignments is not None:
            self.assignments = result.assignments
        return result

    def apply(self, ops: Operation | Sequence[Operation]) -> EditResult:
        """Apply one operation or several, in order (see :mod:`fmviz.results.ops`)."""
        listed = list(ops) if isinstance(ops, Sequence) else [ops]
        return self._take(apply_edits(self.clusters, self.assignments, listed))

    def undo(self) -> EditResult:
        """Take back the last edit."""
        return self._take(undo(self.clusters, self.assignments))

    def redo(self) -> EditResult:
        """Apply the last undone edit again."""
        return self._take(redo(self.clusters, self.assignments))

    def split_proposal(self, cluster_id: str, n: int = 2) -> Split:
        """The engine's split of ``cluster_id`` into ``n`` parts (not applied)."""
        if self._splitter is None:
            raise ValueError("no engine is attached to propose splits: pick the members by hand")
        return self._splitter(cluster_id, n)

    def reassign(self, *, progress: Progress | None = None) -> dict[str, int]:
        """Re-assign the pending episodes with the session's ``reassigner``."""
        if self._reassigner is None:
            raise ValueError("no assignment engine is attached: open the editor on a run to re-assign")
        current = self.current_assignments
        pending = len(current.pending_ids)
        self.assignments = self._reassigner(self.reasons, self.clusters, current, progress)
        errors = len([e for e in self.assignments.errors if e in set(current.pending_ids)])
        return {"reasked": pending, "assigned": pending - errors, "errors": errors}
