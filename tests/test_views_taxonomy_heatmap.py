"""The taxonomy heatmap's Python side: natural order, matchings, coverage, constructors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _view_runs import make_run

from fmviz.results import Assignment, Assignments, Cluster, ClusterSet, Merge, Reason, Reasons
from fmviz.views._matrix import optimal_matching
from fmviz.views._widget import saved_size
from fmviz.views.taxonomy_heatmap import TaxonomyHeatmap


def test_rows_and_columns_are_in_natural_order_with_outlier_last() -> None:
    frame = pd.DataFrame(
        np.arange(6, dtype=float).reshape(3, 2), index=["C10", "outlier", "C2"], columns=["T10", "T9"]
    )
    heatmap = TaxonomyHeatmap.from_frame(frame)
    assert [r["id"] for r in heatmap.rows] == ["C2", "C10", "outlier"]
    assert [c["id"] for c in heatmap.columns] == ["T9", "T10"]
    assert heatmap.frame().loc["C2", "T9"] == frame.loc["C2", "T9"]
    assert heatmap.values.dtype == np.float32


def test_the_optimal_matching_beats_the_greedy_one() -> None:
    # Greedy takes (A, x) = 0.9 first and is left with (B, y) = 0.1: total 1.0.
    # The optimal matching (A, y) + (B, x) totals 1.6.
    values = np.array([[0.9, 0.8], [0.8, 0.1]])
    assert optimal_matching(values) == [(0, 1), (1, 0)]
    frame = pd.DataFrame(values, index=["A", "B"], columns=["x", "y"])
    heatmap = TaxonomyHeatmap.from_frame(frame, threshold=0.5)
    assert heatmap.matches()[["row", "column"]].values.tolist() == [["A", "y"], ["B", "x"]]
    assert heatmap.covered == [True, True]


def test_outlier_rows_are_never_matched() -> None:
    frame = pd.DataFrame([[9.0, 0.0], [1.0, 2.0]], index=["outlier", "C1"], columns=["x", "y"])
    heatmap = TaxonomyHeatmap.from_frame(frame, kind="count")
    assert heatmap.matches()["row"].tolist() == ["C1"]


def test_a_given_matching_frame_from_the_evaluation_code_is_used_as_is() -> None:
    frame = pd.DataFrame([[0.9, 0.2], [0.3, 0.8]], index=["C1", "C2"], columns=["A", "B"])
    frame.attrs.update(method="embedding", row_names={"C1": "Glass"}, col_names={"A": "Transparent"})
    matches = pd.DataFrame({"category": ["A", "B"], "cluster": ["C2", None], "covered": [False, False]})
    heatmap = TaxonomyHeatmap.from_frame(frame, matching=matches)
    assert heatmap.matching.tolist() == [[1, 0]]
    assert heatmap.covered == [False, False]
    assert heatmap.threshold == pytest.approx(0.45)
    assert heatmap.rows[0]["name"] == "Glass"
    assert heatmap.columns[0]["name"] == "Transparent"


def test_coverage_of_counts_is_the_matched_share_of_each_category() -> None:
    rows = {f"e{i}": "C1" for i in range(6)} | {f"f{i}": "C2" for i in range(4)}
    cols = {f"e{i}": "glass" for i in range(6)} | {"f0": "glass", "f1": "chair", "f2": "chair", "f3": "cable"}
    heatmap = TaxonomyHeatmap.from_labels(rows, cols, threshold=0.6)
    assert [c["id"] for c in heatmap.columns] == ["cable", "chair", "glass"]
    frame = heatmap.frame()
    assert frame.loc["C1", "glass"] == 6
    assert frame.loc["C2", "chair"] == 2
    # glass: matched C1 holds 6 of 7 (covered); chair and cable: only one of them can get C2.
    assert heatmap.covered.count(True) == 2
    assert heatmap.covered[2] is True


def test_shares_divide_each_column_by_its_total() -> None:
    heatmap = TaxonomyHeatmap.from_labels(
        {"a": "C1", "b": "C1", "c": "C2"}, {"a": "x", "b": "y", "c": "y"}, kind="share"
    )
    assert heatmap.frame()["y"].tolist() == pytest.approx([0.5, 0.5])


def test_hover_examples_carry_episode_ids_and_reasons() -> None:
    reasons = Reasons([Reason("a", "", "hit a <script>alert(1)</script> glass door")])
    heatmap = TaxonomyHeatmap.from_labels({"a": "C1"}, {"a": "glass"}, reasons=reasons)
    assert heatmap.examples == {"0,0": [{"id": "a", "text": "hit a <script>alert(1)</script> glass door"}]}


def test_from_run_compares_clusters_with_the_dataset_labels() -> None:
    run = make_run()
    heatmap = TaxonomyHeatmap.from_run(run)
    assert [r["name"] for r in heatmap.rows] == ["Glass", "Chairs", "Cables", "Outlier"]
    assert heatmap.frame().loc["C10", "cable"] == 3
    assert heatmap.covered == [True, True, True]
    with pytest.raises(ValueError, match="no column 'weather'"):
        TaxonomyHeatmap.from_run(run, label_column="weather")


def test_two_cluster_sets_before_and_after_a_merge() -> None:
    before = ClusterSet([Cluster("C1", "Glass"), Cluster("C2", "Mirror"), Cluster("C3", "Legs")])
    after = ClusterSet([Cluster("C4", "Reflective"), Cluster("C3", "Legs")])
    a = Assignments([Assignment("e1", "C1"), Assignment("e2", "C2"), Assignment("e3", "C3")])
    b = Assignments([Assignment("e1", "C4"), Assignment("e2", "C4"), Assignment("e3", "C3")])
    heatmap = TaxonomyHeatmap.from_cluster_sets(before, a, after, b)
    assert [c["name"] for c in heatmap.columns] == ["Legs", "Reflective"]
    assert heatmap.frame().loc["C2", "C4"] == 1


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame(), "non-empty DataFrame"),
        (pd.DataFrame({"a": ["x"]}, index=["C1"]), "must be a number"),
    ],
)
def test_bad_frames_are_refused_with_one_clear_line(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TaxonomyHeatmap.from_frame(frame)


def test_a_matching_naming_unknown_rows_is_refused() -> None:
    frame = pd.DataFrame([[1.0]], index=["C1"], columns=["A"])
    with pytest.raises(ValueError, match="does not have"):
        TaxonomyHeatmap.from_frame(frame, matching={"C9": "A"})


def test_a_volpe_sized_heatmap_stays_small() -> None:
    frame = pd.DataFrame(np.random.default_rng(0).random((30, 37)), index=[f"C{i}" for i in range(1, 31)])
    frame.columns = [f"T{j}" for j in range(1, 38)]
    heatmap = TaxonomyHeatmap.from_frame(frame)
    assert len(heatmap.matching) == 30
    assert saved_size(heatmap) - len(heatmap._esm) - len(heatmap._css) < 20_000


def test_a_static_png_stands_in_for_viewers_without_javascript() -> None:
    frame = pd.DataFrame([[0.9, 0.1], [0.2, 0.8]], index=["C1", "C2"], columns=["A", "B"])
    png = TaxonomyHeatmap.from_frame(frame).to_png()
    assert png is not None
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    bundle, _ = TaxonomyHeatmap.from_frame(frame)._repr_mimebundle_()
    assert "image/png" in bundle


def test_a_similarity_matrix_of_a_run_shows_each_clusters_members_on_hover() -> None:
    run = make_run()
    matrix = pd.DataFrame(
        [[0.9, 0.1, 0.2], [0.1, 0.8, 0.1], [0.2, 0.3, 0.7]],
        index=["C1", "C2", "C10"],
        columns=["T1", "T2", "T3"],
    )
    matrix.attrs["method"] = "embedding"
    heatmap = TaxonomyHeatmap.from_similarity(run, matrix)
    assert [r["name"] for r in heatmap.rows] == ["Glass", "Chairs", "Cables"]
    assert heatmap.matching.tolist() == [[0, 0], [1, 1], [2, 2]]
    assert heatmap.row_examples["0"][0]["id"] == "glass-0"
    assert heatmap.row_examples["2"][0]["text"].startswith("a cable on the floor")
    assert heatmap.covered == [True, True, True]


def test_the_set_as_proposed_against_the_edited_set() -> None:
    run = make_run()
    run.apply(Merge(("C1", "C2"), name="Missed obstacles"))
    version = run.clusters.version
    heatmap = TaxonomyHeatmap.from_edits(run)
    assert [r["id"] for r in heatmap.rows] == ["C1", "C2", "C10", "outlier"]
    assert [c["name"] for c in heatmap.columns] == ["Cables", "Missed obstacles", "Outlier"]
    frame = heatmap.frame()
    assert frame.loc["C1", "C11"] == 4
    assert frame.loc["C2", "C11"] == 4
    assert run.clusters.version == version  # the run is untouched
    with pytest.raises(ValueError, match="no edits"):
        TaxonomyHeatmap.from_edits(make_run())
