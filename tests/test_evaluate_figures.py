"""Figures of the evaluation tables: what they plot, escaped text, a diagonal for a perfect match."""

from __future__ import annotations

import pandas as pd
import pytest

from fmviz.evaluate.assignment import assignment_quality
from fmviz.views.evaluation import to_markdown
from fmviz.views.evaluation_figures import (
    assignment_quality_figure,
    monitor_metrics_figure,
    stability_figure,
    taxonomy_alignment_figure,
)


def test_assignment_bars_are_percentages_per_label_column() -> None:
    truth = {"a": "x", "b": "y"}
    frame = pd.concat(
        [
            assignment_quality({"ours": {"a": "C1", "b": "C2"}, "RA": {"a": "C1", "b": "C1"}}, truth),
            assignment_quality({"ours": {"a": "C1", "b": "C2"}}, truth, labels_name="other"),
        ]
    )
    fig = assignment_quality_figure(frame)
    assert [trace.name for trace in fig.data] == ["label", "other"]
    assert list(fig.data[0].y) == pytest.approx([100.0, 100 * frame.iloc[1]["weighted_f1_optimal"]])
    with pytest.raises(ValueError, match="no column 'nope'"):
        assignment_quality_figure(frame, metric="nope")


def test_taxonomy_heatmap_orders_rows_into_a_diagonal_and_escapes_names() -> None:
    matrix = pd.DataFrame([[0.1, 0.9], [0.8, 0.2]], index=["C1", "C2"], columns=["T1", "T2"])
    matrix.attrs |= {"method": "embedding", "row_names": {"C1": "<img src=x>", "C2": "b"}, "col_names": {}}
    fig = taxonomy_alignment_figure(matrix)
    heat = fig.data[0]
    assert heat.y[0].startswith("C2")
    assert [row[i] for i, row in enumerate(heat.z)] == [0.8, 0.9]
    assert "<img" not in "".join(heat.y)
    assert "&lt;img src=x&gt;" in heat.y[1]


def test_stability_and_monitor_figures_plot_their_tables() -> None:
    square = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["a", "b"], columns=["a", "b"])
    assert stability_figure(square).data[0].z[0][1] == 0.5
    monitor = pd.DataFrame(
        {"failure_mode": ["all"], "tpr": [0.5], "tnr": [1.0], "fpr": [0.0], "fnr": [0.5], "f1": [0.6]}
    )
    assert [t.name for t in monitor_metrics_figure(monitor).data] == ["TPR", "TNR", "FPR", "FNR", "F1"]


def test_markdown_tables_escape_pipes() -> None:
    text = to_markdown(pd.DataFrame({"labels": ["SV | CP"], "f1": [0.5]}))
    assert text.splitlines()[2] == "| SV \\| CP | 0.500 |"
