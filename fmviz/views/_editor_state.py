"""The cluster editor's synced state, built from results: plain lists of small dicts.

Kept apart from the widget so the state is a pure function of (cluster set, assignments,
reasons) and can be tested without a widget. Payload sizes are bounded whatever the run's
size: texts are cut to ``text_chars``, each cluster lists at most ``member_limit`` members
(the count says how many there are) and the outlier queue at most ``queue_limit`` episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fmviz.results import OUTLIER, Assignment, Assignments, ClusterSet, Reasons
from fmviz.views._order import natural_key

__all__ = ["EditorLimits", "cluster_rows", "log_rows", "member_rows", "outlier_rows"]


@dataclass(frozen=True)
class EditorLimits:
    """How much of a run the editor sends to the browser.

    Examples
    --------
    >>> EditorLimits().member_limit
    200
    """

    #: Example reasons shown per cluster.
    examples: int = 3
    #: Members listed per cluster (for moves and hand splits); the count is always exact.
    member_limit: int = 200
    #: Episodes listed in the outlier queue.
    queue_limit: int = 500
    #: Longest reason text sent per episode.
    text_chars: int = 200

    def __post_init__(self) -> None:
        for name in ("examples", "member_limit", "queue_limit", "text_chars"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _text(reasons: Reasons, episode_id: str, limit: int) -> str:
    reason = reasons.get(episode_id)
    return _short(reason.text, limit) if reason is not None else ""


def _typical_first(rows: list[Assignment]) -> list[Assignment]:
    """Members with the highest engine score first (the most typical), then in table order."""
    return sorted(rows, key=lambda a: -(a.score if a.score is not None else float("-inf")))


def _episode(row: Assignment, reasons: Reasons, limit: int) -> dict[str, Any]:
    return {
        "id": row.episode_id,
        "text": _text(reasons, row.episode_id, limit),
        "pinned": row.pinned,
        "pending": row.pending,
    }


def cluster_rows(
    clusters: ClusterSet, assignments: Assignments, reasons: Reasons, limits: EditorLimits
) -> list[dict[str, Any]]:
    """One dict per cluster in natural id order: text fields, counts and example reasons.

    Examples
    --------
    >>> from fmviz.results import Cluster, Assignment, Reason
    >>> rows = cluster_rows(
    ...     ClusterSet([Cluster("C10", "b"), Cluster("C2", "a")]),
    ...     Assignments([Assignment("e1", "C2")]), Reasons([Reason("e1", "", "glass")]), EditorLimits())
    >>> [(r["id"], r["count"], r["examples"][0]["text"] if r["examples"] else None) for r in rows]
    [('C2', 1, 'glass'), ('C10', 0, None)]
    """
    by_cluster: dict[str, list[Assignment]] = {}
    for row in assignments:
        by_cluster.setdefault(row.cluster_id, []).append(row)
    out = []
    for cluster in sorted(clusters, key=lambda c: natural_key(c.id)):
        members = by_cluster.get(cluster.id, [])
        examples = _typical_first(members)[: limits.examples]
        out.append(
            {
                "id": cluster.id,
                "name": cluster.name,
                "description": cluster.description,
                "keywords": list(cluster.keywords),
                "count": len(members),
                "pending": sum(1 for a in members if a.pending),
                "pinned": sum(1 for a in members if a.pinned),
                "examples": [
                    {"id": a.episode_id, "text": _text(reasons, a.episode_id, limits.text_chars)}
                    for a in examples
                ],
            }
        )
    return out


def member_rows(
    clusters: ClusterSet, assignments: Assignments, reasons: Reasons, limits: EditorLimits
) -> dict[str, list[dict[str, Any]]]:
    """``{cluster_id: [episode]}``, at most ``member_limit`` per cluster, most typical first."""
    by_cluster: dict[str, list[Assignment]] = {c.id: [] for c in clusters}
    for row in assignments:
        if row.cluster_id in by_cluster:
            by_cluster[row.cluster_id].append(row)
    return {
        cid: [_episode(a, reasons, limits.text_chars) for a in _typical_first(rows)[: limits.member_limit]]
        for cid, rows in by_cluster.items()
    }


def outlier_rows(assignments: Assignments, reasons: Reasons, limits: EditorLimits) -> list[dict[str, Any]]:
    """The outlier queue: unconfirmed outliers first (pending ones first of all), then confirmed.

    A confirmed outlier is one pinned by hand (:class:`fmviz.results.MarkOutlier`).
    """
    rows = [a for a in assignments if a.cluster_id == OUTLIER]
    rows.sort(key=lambda a: (a.pinned, not a.pending))
    return [_episode(a, reasons, limits.text_chars) for a in rows[: limits.queue_limit]]


def log_rows(clusters: ClusterSet) -> dict[str, list[dict[str, Any]]]:
    """``{"applied": [...], "undone": [...]}``: one ``{index, kind, summary, touched}`` per edit.

    ``undone`` lists the next edit to redo first.
    """

    def rows(entries: list[Any], start: int) -> list[dict[str, Any]]:
        return [
            {"index": start + i, "kind": e.op.kind, "summary": e.op.summary(), "touched": len(e.touched)}
            for i, e in enumerate(entries)
        ]

    applied = rows(clusters.log.applied, 1)
    undone = rows(list(reversed(clusters.log.undone)), len(applied) + 1)
    return {"applied": applied, "undone": undone}
