"""The cluster editor: merge, split, rename, move and triage outliers in the browser, logged in Python.

The front end (``widgets/cluster_editor/``) never changes the cluster set itself. Each action
writes one request into the synced ``request`` trait (``{"id", "action", ...}``; an edit
carries its operation as :func:`fmviz.results.ops.op_to_dict` writes it); this side applies it
through the run's verbs (``apply``, ``undo``, ``redo``, ``split_proposal``, ``reassign``, i.e.
the pure :func:`fmviz.results.edits.apply_edits`) and syncs back the new state plus a one-line
``reply``. The state (clusters, counts, the outlier queue, the log) lives in synced traits, so a
saved notebook or an exported report shows the edited set; without a kernel nothing answers the
requests and the front end says it is read-only. ``selected_cluster`` is the cluster chosen in
the editor; :func:`fmviz.views.link` it to a map's ``highlight_cluster``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import traitlets
from PIL import Image as PILImage
from PIL import ImageDraw

from fmviz.results import Assignments, ClusterSet, Reasons, Split
from fmviz.results.ops import op_from_dict, op_to_dict
from fmviz.views._edit_session import EditableRun, EditSession, Reassigner
from fmviz.views._editor_state import EditorLimits, cluster_rows, log_rows, member_rows, outlier_rows
from fmviz.views._widget import FmvizWidget

__all__ = ["ClusterEditor", "EditorLimits"]

#: Most parts an engine split may be asked for from the browser.
MAX_SPLIT_PARTS = 12


class ClusterEditor(FmvizWidget):
    """Edit a run's failure modes in the browser; every edit goes through the run's operation log.

    Parameters
    ----------
    run:
        A :class:`fmviz.run.Run` (or anything with its verbs, see
        :class:`~fmviz.views._edit_session.EditableRun`); edits change ``run.clusters`` and
        ``run.assignments`` exactly as ``run.apply`` does.
    limits:
        How much text the browser gets (:class:`EditorLimits`).
    save_to:
        A run folder: after every edit the cluster set (with its log) is rewritten there, and
        after Assign the assignments and tables too (``run.save_clusters`` / ``save_assignments``).
    **kwargs:
        Other traits (``title``).

    Examples
    --------
    >>> from fmviz.results import Cluster, ClusterSet, Assignment, Assignments, Reason, Reasons
    >>> editor = ClusterEditor.from_results(
    ...     ClusterSet([Cluster("C1", "Glass"), Cluster("C2", "Mirror")]),
    ...     Assignments([Assignment("e1", "C1"), Assignment("e2", "C2")]),
    ...     Reasons([Reason("e1", "", "glass door"), Reason("e2", "", "a mirror")]))
    >>> editor.request = {"id": 1, "action": "apply", "op": {"kind": "merge", "clusters": ["C1", "C2"]}}
    >>> editor.reply["ok"], [c["count"] for c in editor.clusters]
    (True, [2])
    >>> editor.request = {"id": 2, "action": "undo"}
    >>> [c["id"] for c in editor.clusters]
    ['C1', 'C2']
    """

    _widget_name = "cluster_editor"

    #: ``[{"id", "name", "description", "keywords", "count", "pending", "pinned", "examples"}]``.
    clusters = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: ``{cluster_id: [{"id", "text", "pinned", "pending"}]}`` (at most ``limits.member_limit`` each).
    members = traitlets.Dict().tag(sync=True)
    #: The outlier queue: unconfirmed first, then confirmed (``pinned``) outliers.
    outliers = traitlets.List(traitlets.Dict()).tag(sync=True)
    outlier_total = traitlets.Int(0).tag(sync=True)
    #: ``{"applied": [{"index", "kind", "summary", "touched"}], "undone": [...]}``.
    log = traitlets.Dict().tag(sync=True)
    #: Episodes the edits touched that await re-assignment (what Assign re-asks).
    pending_count = traitlets.Int(0).tag(sync=True)
    version = traitlets.Unicode("").tag(sync=True)
    #: Written by the browser: ``{"id": n, "action", ...}`` with action one of ``apply`` (with
    #: ``op``), ``undo``, ``redo``, ``assign``, ``propose_split`` (``cluster``, ``n``), ``hello``.
    request = traitlets.Dict().tag(sync=True)
    #: Written here: ``{"id": n, "action", "ok": bool, "message": one line}`` for the request ``n``.
    reply = traitlets.Dict().tag(sync=True)
    #: The engine's last split proposal: ``{"cluster", "op", "parts": [{"name", "size", "examples"}]}``.
    proposal = traitlets.Dict().tag(sync=True)
    #: Re-assignment progress: ``{"done", "total", "running"}``.
    progress = traitlets.Dict().tag(sync=True)
    #: The cluster chosen in the editor ("" for none); a map's ``highlight_cluster`` follows it.
    selected_cluster = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("Failure modes").tag(sync=True)

    def __init__(
        self,
        run: EditableRun,
        *,
        limits: EditorLimits | None = None,
        save_to: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        missing = [n for n in ("apply", "undo", "redo", "reassign", "split_proposal") if not hasattr(run, n)]
        if missing:
            raise ValueError(
                f"the cluster editor needs a run with {', '.join(missing)}: pass a fmviz Run, or use "
                "ClusterEditor.from_results(clusters, assignments, reasons)"
            )
        if save_to is not None and not hasattr(run, "save_clusters"):
            raise ValueError("save_to needs a run that can save itself (a fmviz Run)")
        self._run = run
        self._limits = limits or EditorLimits()
        self._save_to = Path(save_to) if save_to is not None else None
        self._handled: int | None = None
        super().__init__(**kwargs)
        self.refresh()

    @classmethod
    def from_run(cls, run: EditableRun, **kwargs: Any) -> ClusterEditor:
        """The editor of a :class:`fmviz.run.Run` (what ``run.editor()`` returns)."""
        return cls(run, **kwargs)

    @classmethod
    def from_results(
        cls,
        clusters: ClusterSet,
        assignments: Assignments,
        reasons: Reasons,
        *,
        reassigner: Reassigner | None = None,
        splitter: Callable[[str, int], Split] | None = None,
        **kwargs: Any,
    ) -> ClusterEditor:
        """The editor of plain results (no engine unless ``reassigner`` / ``splitter`` are given).

        The edited results are ``editor.run.clusters`` and ``editor.run.assignments``.
        """
        session = EditSession(clusters, assignments, reasons, reassigner=reassigner, splitter=splitter)
        return cls(session, **kwargs)

    @property
    def run(self) -> EditableRun:
        """What the editor edits."""
        return self._run

    # -- state --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the state from the run (call after editing it from Python)."""
        run, limits = self._run, self._limits
        current = run.current_assignments
        clusters = run.clusters
        queue = outlier_rows(current, run.reasons, limits)
        with self.hold_sync():
            self.clusters = cluster_rows(clusters, current, run.reasons, limits)
            self.members = member_rows(clusters, current, run.reasons, limits)
            self.outliers = queue
            self.outlier_total = sum(1 for a in current if a.is_outlier)
            self.log = log_rows(clusters)
            self.pending_count = len(current.pending_ids)
            self.version = clusters.version
            if self.selected_cluster and self.selected_cluster not in clusters:
                self.selected_cluster = ""

    # -- requests -----------------------------------------------------------------------------
    @traitlets.observe("request")
    def _on_request(self, change: dict[str, Any]) -> None:
        request = change["new"]
        if not request or request.get("id") == self._handled:
            return
        self._handled = request.get("id")
        self.reply = self.handle(request)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Carry out one request from the browser and return its reply (never raises).

        Examples
        --------
        >>> from fmviz.results import Cluster, ClusterSet, Assignments, Reasons
        >>> editor = ClusterEditor.from_results(ClusterSet([Cluster("C1", "a")]), Assignments(), Reasons())
        >>> editor.handle({"id": 7, "action": "undo"})["message"]
        'nothing to undo: the cluster set has no edits'
        """
        action = str(request.get("action", ""))
        reply: dict[str, Any] = {"id": request.get("id"), "action": action, "ok": True, "message": ""}
        try:
            reply["message"] = self._dispatch(action, request)
            if self._save_to is not None and action in ("apply", "undo", "redo", "assign"):
                reply["message"] += self._save(action)
        except Exception as exc:  # the browser gets one line, never a traceback
            reply |= {"ok": False, "message": _one_line(exc)}
            if action == "assign":
                self.progress = {**self.progress, "running": False}
        return reply

    def _dispatch(self, action: str, request: dict[str, Any]) -> str:
        run = self._run
        if action == "hello":
            return ""
        if action == "apply":
            op = request.get("op")
            if not isinstance(op, dict):
                raise ValueError("an apply request needs an operation: {'op': {'kind': ...}}")
            result = run.apply(op_from_dict(op))
            self.refresh()
            done = run.clusters.log.applied[-1].op.summary()
            return f"{done}; {len(result.touched)} episode(s) to re-assign" if result.touched else done
        if action in ("undo", "redo"):
            log = run.clusters.log
            entry = log.applied[-1] if action == "undo" and log.applied else (log.undone or [None])[-1]
            (run.undo if action == "undo" else run.redo)()
            self.refresh()
            return f"{action}: {entry.op.summary()}" if entry is not None else action
        if action == "propose_split":
            return self._propose(str(request.get("cluster", "")), request.get("n", 2))
        if action == "assign":
            return self._assign()
        raise ValueError(f"unknown editor action {action!r}")

    def _propose(self, cluster_id: str, n: Any) -> str:
        if cluster_id not in self._run.clusters:
            raise ValueError(f"no cluster {cluster_id!r} to split")
        if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= MAX_SPLIT_PARTS:
            raise ValueError(f"split into 2 to {MAX_SPLIT_PARTS} parts, got {n!r}")
        split = self._run.split_proposal(cluster_id, n)
        reasons, chars = self._run.reasons, self._limits.text_chars
        parts = []
        for k, group in enumerate(split.groups):
            name = split.names[k] if k < len(split.names) else f"part {k + 1}"
            examples = [{"id": e, "text": _reason(reasons, e, chars)} for e in group[: self._limits.examples]]
            parts.append({"name": name, "size": len(group), "examples": examples})
        op = json.loads(json.dumps(op_to_dict(split)))  # plain JSON, as the browser sends it back
        self.proposal = {"cluster": cluster_id, "op": op, "parts": parts}
        return f"proposed: {split.summary()}; apply it or dismiss it"

    def _assign(self) -> str:
        total = self.pending_count
        self.progress = {"done": 0, "total": total, "running": True}

        def progress(done: int, of: int) -> None:
            self.progress = {"done": int(done), "total": int(of), "running": done < of}

        outcome = self._run.reassign(progress=progress)
        self.progress = {"done": outcome["reasked"], "total": outcome["reasked"], "running": False}
        self.refresh()
        return f"re-assigned {outcome['reasked']} episode(s), {outcome['errors']} error(s)"

    def _save(self, action: str) -> str:
        assert self._save_to is not None
        run: Any = self._run
        run.save_clusters(self._save_to)
        if action == "assign":
            run.save_assignments(self._save_to)
        return f"; saved to {self._save_to}"

    # -- static fallback ------------------------------------------------------------------------
    def to_png(self) -> bytes | None:
        """Bars of the clusters' counts with their names (for viewers without widget JS)."""
        rows = [*self.clusters, {"id": "outlier", "name": "Outlier", "count": self.outlier_total}]
        if not self.clusters:
            return None
        width, line = 560, 18
        image = PILImage.new("RGB", (width, 10 + line * len(rows)), "white")
        draw = ImageDraw.Draw(image)
        top = max(max(r["count"] for r in rows), 1)
        for i, row in enumerate(rows):
            y = 5 + i * line
            label = f"{row['id']} {row['name']}"[:48].encode("latin-1", "replace").decode("latin-1")
            draw.text((6, y + 2), label, fill="#222")
            draw.rectangle((330, y + 3, 330 + int(180 * row["count"] / top), y + line - 3), fill="#4e79a7")
            draw.text((516, y + 2), str(row["count"]), fill="#222")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


def _reason(reasons: Reasons, episode_id: str, chars: int) -> str:
    reason = reasons.get(episode_id)
    return " ".join(reason.text.split())[:chars] if reason is not None else ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if isinstance(exc, (ValueError, KeyError)):
        return message.strip("'\"") if isinstance(exc, KeyError) else message
    return f"{type(exc).__name__}: {message}"
