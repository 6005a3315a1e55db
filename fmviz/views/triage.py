"""The triage view: the embedding map, the clip scrubber (with its episode list) and the cluster
editor in one view, linked in the browser.

Composed, not re-implemented: the three widgets of :mod:`fmviz.views` in an ``ipywidgets``
box, joined by :func:`fmviz.views._widget.link` (``jsdlink``) so the links run in the page and
survive in a saved notebook or an exported report (fmviz's export runtime lays out the boxes
and runs the links). The links:

- map ``selected_ids`` -> scrubber ``filter_ids``: a lasso on the map filters the episode
  list, and the scrubber opens the first selected clip;
- editor ``selected_cluster`` -> map ``highlight_cluster`` and -> scrubber ``cluster_filter``:
  choosing a cluster in the editor highlights its points and lists its episodes.

With a kernel, an edit in the editor also recolours the map and renames clusters in the
scrubber (a Python observer: edits need the kernel anyway); the links never do.
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import traitlets

from fmviz.results import OUTLIER
from fmviz.views._edit_session import EditableRun
from fmviz.views._widget import link
from fmviz.views.cluster_editor import ClusterEditor
from fmviz.views.embedding_map import EmbeddingMap
from fmviz.views.scrubber import Scrubber

__all__ = ["Triage"]


class Triage(ipywidgets.VBox):
    """Map, scrubber and (optionally) the cluster editor, linked in the browser.

    Parameters
    ----------
    map_view, scrubber:
        The embedding map and the clip scrubber to link.
    editor:
        The cluster editor, or ``None`` for a read-only triage.

    Examples
    --------
    >>> triage = Triage.from_run(run)                                        # doctest: +SKIP
    >>> triage.map.selected_ids = ["ep-3", "ep-9"]   # the scrubber lists these two  # doctest: +SKIP
    """

    def __init__(
        self, map_view: EmbeddingMap, scrubber: Scrubber, editor: ClusterEditor | None = None, **kwargs: Any
    ) -> None:
        self.map = map_view
        self.scrubber = scrubber
        self.editor = editor
        #: The browser-side links (``jsdlink`` widgets), kept so they live as long as the view.
        self.links = [link(map_view, "selected_ids", scrubber, "filter_ids")]
        if editor is not None:
            self.links += [
                link(editor, "selected_cluster", map_view, "highlight_cluster"),
                link(editor, "selected_cluster", scrubber, "cluster_filter"),
            ]
        for widget in (map_view, scrubber):
            widget.layout = ipywidgets.Layout(flex="1 1 480px", min_width="0")
        top = ipywidgets.HBox(
            [map_view, scrubber], layout=ipywidgets.Layout(flex_flow="row wrap", width="100%")
        )
        super().__init__([top] + ([editor] if editor is not None else []), **kwargs)
        self._run: Any = None

    @classmethod
    def from_run(
        cls,
        run: Any,
        *,
        editor: bool = True,
        map_kwargs: dict[str, Any] | None = None,
        scrubber_kwargs: dict[str, Any] | None = None,
    ) -> Triage:
        """The triage view of a run (what ``run.triage()`` returns).

        Parameters
        ----------
        run:
            A :class:`fmviz.run.Run` with an embedding map (``run_pipeline(..., embedding_map=True)``).
        editor:
            Include the cluster editor (needs the run's edit verbs); ``False`` for a read-only view.
        map_kwargs, scrubber_kwargs:
            Passed to :meth:`EmbeddingMap.from_frame` and :meth:`Scrubber.from_run`.
        """
        if getattr(run, "embedding_map", None) is None:
            raise ValueError("this run has no embedding map: run the pipeline with embedding_map=True")
        map_view = EmbeddingMap.from_frame(_current_frame(run), **(map_kwargs or {}))
        scrubber = Scrubber.from_run(_CurrentRun(run), **(scrubber_kwargs or {}))
        edit = ClusterEditor(run) if editor and isinstance(run, EditableRun) else None
        if editor and edit is None:
            raise ValueError("editor=True needs a run with edit verbs (a fmviz Run); pass editor=False")
        view = cls(map_view, scrubber, edit)
        view._run = run
        if edit is not None:
            edit.observe(view._on_edit, "version")
        return view

    def _on_edit(self, change: dict[str, Any]) -> None:
        """After an edit: recolour the map and rename the scrubber's clusters (kernel only)."""
        run = self._run
        if run is None:
            return
        fresh = EmbeddingMap.from_frame(_current_frame(run))
        with self.map.hold_sync():
            self.map.cluster_index = fresh.cluster_index
            self.map.clusters = fresh.clusters
        labels = run.current_assignments.labels()
        names = run.clusters.names() | {OUTLIER: "Outlier"}
        episodes = []
        for row in self.scrubber.episodes:
            cluster_id = labels.get(row["id"], row.get("cluster_id", ""))
            name = names.get(cluster_id, cluster_id)
            episodes.append(
                {**row, "cluster_id": cluster_id, "cluster_name": name, "outlier": cluster_id == OUTLIER}
            )
        self.scrubber.episodes = episodes

    @traitlets.default("layout")
    def _default_layout(self) -> ipywidgets.Layout:
        return ipywidgets.Layout(width="100%")


def _current_frame(run: Any) -> Any:
    """The run's embedding map with today's clusters (edits move points between clusters)."""
    frame = run.embedding_map.copy()
    labels = run.current_assignments.labels()
    frame["cluster_id"] = [
        labels.get(str(e), str(c)) for e, c in zip(frame["episode_id"], frame["cluster_id"], strict=True)
    ]
    names = run.clusters.names() | {OUTLIER: "Outlier"}
    frame["cluster_name"] = [names.get(str(c), str(c)) for c in frame["cluster_id"]]
    return frame


class _CurrentRun:
    """A run seen with its current assignments (what :meth:`Scrubber.from_run` reads)."""

    def __init__(self, run: Any) -> None:
        self.dataset, self.reasons, self.clusters = run.dataset, run.reasons, run.clusters
        self.assignments = run.current_assignments
