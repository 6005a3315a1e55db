"""Plotly figures of a run: cluster frequencies, the embedding map, taxonomy heatmaps.

Every result has a ``*_figure`` companion (BERTopic's ``visualize_*`` habit). Text that
came from a model or a log is untrusted, so it is HTML-escaped before it reaches a label
or hover text (plotly renders a subset of HTML in text).
"""

from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

if TYPE_CHECKING:
    from fmviz.video import Clip

__all__ = [
    "clip_figure",
    "cluster_frequency_figure",
    "embedding_map_figure",
    "k_curve_figure",
    "safe_text",
    "taxonomy_heatmap",
]


def safe_text(text: object, width: int = 80, max_chars: int = 400) -> str:
    """Escape untrusted text for plotly and wrap it with <br> for hover boxes."""
    value = "" if text is None else str(text)
    if len(value) > max_chars:
        value = value[: max_chars - 1] + "…"
    lines = textwrap.wrap(value, width=width) or [""]
    return "<br>".join(html.escape(line) for line in lines)


def cluster_frequency_figure(summary: pd.DataFrame, *, title: str = "Failure modes") -> go.Figure:
    """Bars of assigned share per cluster, with the proposer's estimated frequency as markers.

    ``summary`` is :meth:`fmviz.results.RunResult.summary` (columns id, name,
    frequency, assigned, share).
    """
    frame = summary.sort_values("share", ascending=True)
    labels = [safe_text(f"{i}: {n}", width=60) for i, n in zip(frame["id"], frame["name"], strict=True)]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=frame["share"],
        orientation="h",
        name="assigned share",
        text=[f"{n} ({s:.0%})" for n, s in zip(frame["assigned"], frame["share"], strict=True)],
        textposition="auto",
    )
    if "frequency" in frame and frame["frequency"].fillna(0).gt(0).any():
        fig.add_scatter(
            y=labels,
            x=frame["frequency"],
            mode="markers",
            name="estimated frequency",
            marker={"symbol": "diamond", "size": 10, "color": "black"},
        )
    fig.update_layout(
        title=title,
        xaxis={"title": "share of episodes", "tickformat": ".0%"},
        height=max(300, 40 * len(frame) + 120),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def k_curve_figure(selection: dict[str, object]) -> go.Figure | None:
    """The score curve the number of failure modes was chosen from, the choice marked.

    ``selection`` is a cluster set's ``provenance["k_selection"]`` (offline engine); ``None``
    when it holds no curve (an LLM chose the number, or k was fixed).
    """
    scores = selection.get("scores") if isinstance(selection, dict) else None
    if not isinstance(scores, dict) or not scores:
        return None
    ks = sorted(int(k) for k in scores)
    values = [float(scores[str(k)]) for k in ks]
    fig = go.Figure()
    fig.add_scatter(x=ks, y=values, mode="lines+markers", name=safe_text(selection.get("metric", "score")))
    chosen = selection.get("chosen")
    if isinstance(chosen, int) and str(chosen) in scores:
        fig.add_scatter(
            x=[chosen],
            y=[float(scores[str(chosen)])],
            mode="markers",
            name=f"chosen: k = {chosen}",
            marker={"size": 14, "symbol": "star", "color": "crimson"},
        )
    fig.update_layout(
        title=safe_text(f"Number of failure modes ({selection.get('applied', selection.get('rule', ''))})"),
        xaxis={"title": "k (number of clusters)", "dtick": 1},
        yaxis={"title": safe_text(selection.get("metric", "score"))},
        height=320,
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
    )
    return fig


def embedding_map_figure(
    points: pd.DataFrame,
    *,
    cluster_names: dict[str, str] | None = None,
    hover: pd.Series | None = None,
    title: str = "Embedding map of failure reasons",
) -> go.Figure:
    """Scatter of the 2-D embedding map coloured by assigned cluster.

    ``points`` has columns x, y, episode_id, cluster_id; ``hover`` maps episode id to the
    text shown on hover (escaped here).
    """
    frame = points.copy()
    names = cluster_names or {}
    frame["cluster"] = [
        safe_text(f"{c}: {names.get(c, c)}", width=200) if c in names else html.escape(str(c))
        for c in frame["cluster_id"]
    ]
    texts = hover if hover is not None else pd.Series(dtype=str)
    frame["hover"] = [
        f"<b>{html.escape(str(e))}</b><br>{safe_text(texts.get(e, ''))}" for e in frame["episode_id"]
    ]
    fig = px.scatter(
        frame,
        x="x",
        y="y",
        color="cluster",
        custom_data=["hover"],
        title=title,
        render_mode="svg",
    )
    fig.update_traces(hovertemplate="%{customdata[0]}<extra></extra>", marker={"size": 8, "opacity": 0.8})
    fig.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        legend={"title": "cluster"},
        height=520,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def taxonomy_heatmap(
    contingency: pd.DataFrame,
    *,
    title: str = "Clusters vs expert labels",
    normalize: bool = True,
) -> go.Figure:
    """Heatmap of a cluster x label table (counts, or row-normalised shares)."""
    table = contingency.astype(float)
    if normalize:
        table = table.div(table.sum(axis=1).replace(0, 1), axis=0)
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=[safe_text(c, width=30) for c in table.columns],
            y=[safe_text(r, width=40) for r in table.index],
            colorscale="Blues",
            zmin=0,
            hovertemplate="%{y}<br>%{x}<br>%{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(320, 30 * len(table) + 160),
        xaxis={"tickangle": -40},
        margin={"l": 10, "r": 10, "t": 50, "b": 120},
    )
    return fig


def clip_figure(clip: Clip, *, title: str | None = None) -> go.Figure:
    """The downsampled tail of a clip with a slider to scrub it (plays in a static HTML file).

    ``clip`` comes from :func:`fmviz.video.select_tail`; the failure frame is marked in the
    slider label.
    """
    labels = [
        f"t={t:+.1f}s" + (" (failure)" if i == clip.failure_index else "")
        for i, t in enumerate(clip.times - clip.times[clip.failure_index])
    ]
    fig = px.imshow(clip.frames, animation_frame=0, binary_string=True)
    for frame, label in zip(fig.frames, labels, strict=True):
        frame.name = label
    slider = fig.layout.sliders[0]
    for step, label in zip(slider.steps, labels, strict=True):
        step.label = label
        step.args = [[label], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]
    slider.currentvalue = {"prefix": "frame "}
    fig.update_layout(
        title=safe_text(
            title if title is not None else f"episode {clip.episode_id}: last {len(labels)} frames"
        ),
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig
