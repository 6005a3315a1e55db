"""Views on top of results: plotly figures and the standalone HTML report.

Views only read results; they never call a provider or run a stage.
"""

from __future__ import annotations

from fmviz.views.figures import clip_figure, cluster_frequency_figure, embedding_map_figure, taxonomy_heatmap
from fmviz.views.report import render_report, write_report

__all__ = [
    "clip_figure",
    "cluster_frequency_figure",
    "embedding_map_figure",
    "render_report",
    "taxonomy_heatmap",
    "write_report",
]

#: Widgets load on first use: they need the ``notebook`` extra (anywidget, ipywidgets).
_LAZY = {
    "EmbeddingMap": "fmviz.views.embedding_map",
    "Scrubber": "fmviz.views.scrubber",
    "embed_widgets_html": "fmviz.views.export",
    "link": "fmviz.views._widget",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fmviz.views' has no attribute {name!r}")
