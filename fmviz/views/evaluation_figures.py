"""Plotly figures of the evaluation tables: the paper's Fig. 4 and Fig. 5, stability, Tables I-II.

Each takes a DataFrame from :mod:`fmviz.evaluate` and returns a ``go.Figure``. Names of
clusters, categories and methods may come from a model or a log, so every label and hover text
goes through :func:`fmviz.views.figures.safe_text` (HTML-escaped) first.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from fmviz.views.figures import safe_text

__all__ = [
    "assignment_quality_figure",
    "monitor_metrics_figure",
    "reason_quality_figure",
    "stability_figure",
    "taxonomy_alignment_figure",
]


def assignment_quality_figure(
    frame: pd.DataFrame, *, metric: str = "weighted_f1_optimal", title: str | None = None
) -> go.Figure:
    """Fig. 5: one bar per method (grouped by label column) of a metric from ``assignment_quality``.

    Examples
    --------
    >>> from fmviz.evaluate import assignment_quality
    >>> fig = assignment_quality_figure(assignment_quality({"m": {"a": "C1"}}, {"a": "x"}))
    >>> len(fig.data)
    1
    """
    if metric not in frame.columns:
        raise ValueError(f"no column {metric!r} in the assignment table; columns: {list(frame.columns)}")
    fig = go.Figure()
    for labels, group in frame.groupby("labels", sort=False):
        fig.add_bar(
            name=safe_text(labels, width=40),
            x=[safe_text(m, width=30) for m in group["method"]],
            y=100.0 * group[metric].astype(float),
            text=[f"{100 * v:.1f}" for v in group[metric].astype(float)],
            textposition="outside",
            hovertemplate="%{x}<br>%{y:.1f}%<extra>%{fullData.name}</extra>",
        )
    nice = (
        metric.replace("_", " ")
        .replace("weighted f1", "weighted F1")
        .replace("optimal", "(optimal matching)")
    )
    fig.update_layout(
        title=title or f"Assignment quality: {nice}",
        barmode="group",
        yaxis={"title": f"{nice} (%)", "range": [0, 105]},
        legend={"title": "labels"},
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 80},
    )
    return fig


def taxonomy_alignment_figure(matrix: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Fig. 4: heatmap of a cluster x category similarity matrix (``similarity_matrix``).

    Rows are labelled with cluster names and columns with category names when the matrix
    carries them (``attrs``), and ordered by their best category, so a one-to-one alignment reads
    as a diagonal; the colour scale is 1-10 for an LLM judge, cosine for embeddings.
    """
    method = str(matrix.attrs.get("method", "embedding"))
    rows = matrix.attrs.get("row_names", {})
    cols = matrix.attrs.get("col_names", {})
    zmin, zmax = (1.0, 10.0) if method == "llm" else (0.0, 1.0)
    if len(matrix):  # rows in the order of their best category, so a one-to-one match is a diagonal
        best = matrix.fillna(zmin).to_numpy(dtype=float).argmax(axis=1)
        matrix = matrix.iloc[sorted(range(len(matrix)), key=lambda i: (best[i], i))]
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(dtype=float),
            x=[safe_text(f"{c}: {cols.get(c, c)}", width=28, max_chars=60) for c in matrix.columns],
            y=[safe_text(f"{r}: {rows.get(r, r)}", width=40, max_chars=60) for r in matrix.index],
            zmin=zmin,
            zmax=zmax,
            colorscale="Blues",
            colorbar={"title": "score (1-10)" if method == "llm" else "cosine"},
            hovertemplate="%{y}<br>%{x}<br>%{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title or f"Clusters vs reference taxonomy ({'LLM judge' if method == 'llm' else 'embeddings'})",
        height=max(360, 28 * len(matrix) + 200),
        xaxis={"tickangle": -45},
        yaxis={"autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 50, "b": 160},
    )
    return fig


def stability_figure(
    matrix: pd.DataFrame, *, title: str = "Stability (ARI between clusterings)"
) -> go.Figure:
    """Heatmap of a square ARI matrix (``pairwise_ari`` / ``ensemble_stability``)."""
    square = matrix.set_index(matrix.columns[0]) if matrix.columns[0] == "clustering" else matrix
    labels = [safe_text(n, width=30) for n in square.index]
    fig = go.Figure(
        go.Heatmap(
            z=square.to_numpy(dtype=float),
            x=labels,
            y=labels,
            zmin=-0.2,
            zmax=1.0,
            colorscale="Viridis",
            texttemplate="%{z:.2f}",
            hovertemplate="%{y}<br>%{x}<br>ARI %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(title=title, height=max(320, 40 * len(square) + 160), yaxis={"autorange": "reversed"})
    return fig


def reason_quality_figure(frame: pd.DataFrame, *, title: str = "Reason quality per episode") -> go.Figure:
    """Histograms of per-episode cosine and ROUGE-L (``reason_quality``)."""
    fig = go.Figure()
    for column, name in (("cosine", "cosine similarity"), ("rouge_l", "ROUGE-L F")):
        if column in frame and frame[column].notna().any():
            fig.add_histogram(x=frame[column].astype(float), name=name, opacity=0.7, nbinsx=20)
    fig.update_layout(
        title=title, barmode="overlay", xaxis={"title": "score", "range": [0, 1]}, yaxis={"title": "episodes"}
    )
    return fig


def monitor_metrics_figure(frame: pd.DataFrame, *, title: str = "Failure monitor") -> go.Figure:
    """Table II as bars: TPR, TNR, FPR, FNR and F1 (%) per failure mode (``monitor_metrics``)."""
    fig = go.Figure()
    for column in ("tpr", "tnr", "fpr", "fnr", "f1"):
        fig.add_bar(
            name=column.upper(),
            x=[safe_text(m, width=24) for m in frame["failure_mode"]],
            y=100.0 * frame[column].astype(float),
        )
    fig.update_layout(title=title, barmode="group", yaxis={"title": "%", "range": [0, 105]}, height=420)
    return fig
