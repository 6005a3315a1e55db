"""Tests for clustering and assignment agreement metrics."""

from __future__ import annotations

import pytest

from fmviz.evaluate.metrics import cluster_agreement, contingency, label_mapping, weighted_f1

TRUTH = {"a": "glass", "b": "glass", "c": "slip", "d": "slip", "e": "battery", "f": "battery"}


def test_relabelled_partition_agrees_perfectly():
    pred = {"a": "C2", "b": "C2", "c": "C1", "d": "C1", "e": "C3", "f": "C3"}
    scores = cluster_agreement(pred, TRUTH)
    assert scores["ari"] == pytest.approx(1.0)
    assert scores["nmi"] == pytest.approx(1.0)
    assert scores["n"] == 6


def test_one_big_cluster_is_complete_but_not_homogeneous():
    scores = cluster_agreement(dict.fromkeys(TRUTH, "C1"), TRUTH)
    assert scores["completeness"] == pytest.approx(1.0)
    assert scores["homogeneity"] == pytest.approx(0.0)
    assert scores["ari"] == pytest.approx(0.0)


def test_only_shared_ids_are_scored():
    pred = {"a": "C1", "b": "C1", "zzz": "C9"}
    assert cluster_agreement(pred, TRUTH)["n"] == 2
    with pytest.raises(ValueError, match="share no ids"):
        cluster_agreement({"q": "C1"}, TRUTH)


def test_contingency_counts():
    pred = {"a": "C1", "b": "C1", "c": "C1", "d": "C2", "e": "C2", "f": "C2"}
    table = contingency(pred, TRUTH)
    assert table.loc["C1", "glass"] == 2
    assert table.loc["C1", "slip"] == 1
    assert int(table.to_numpy().sum()) == 6


def test_weighted_f1_maps_clusters_to_majority_labels():
    # C1 = glass + one slip, C2 = slip, C3 = battery
    pred = {"a": "C1", "b": "C1", "c": "C1", "d": "C2", "e": "C3", "f": "C3"}
    assert label_mapping(pred, TRUTH) == {"C1": "glass", "C2": "slip", "C3": "battery"}
    # one of six is wrong: glass P=2/3 R=1, slip P=1 R=1/2, battery 1 -> weighted F1 = 0.822
    assert weighted_f1(pred, TRUTH) == pytest.approx((0.8 + 2 / 3 + 1.0) / 3)


def test_hungarian_mapping_is_one_to_one():
    pred = {"a": "C1", "b": "C1", "c": "C2", "d": "C3", "e": "C4", "f": "C4"}  # slip split in two
    majority = label_mapping(pred, TRUTH, "majority")
    hungarian = label_mapping(pred, TRUTH, "hungarian")
    assert majority["C2"] == majority["C3"] == "slip"
    assert sorted(hungarian[c] for c in ("C1", "C2", "C3", "C4")).count("slip") == 2  # C2/C3 unmatched
    assert weighted_f1(pred, TRUTH, "majority") == pytest.approx(1.0)


def test_weighted_f1_with_same_vocabulary_and_explicit_mapping():
    pred = dict(TRUTH) | {"f": "outlier"}
    assert weighted_f1(pred, TRUTH, mapping={}) < 1.0
    assert weighted_f1(dict(TRUTH), TRUTH) == pytest.approx(1.0)
    explicit = {"C1": "glass", "C2": "slip", "C3": "battery"}
    pred = {"a": "C1", "b": "C1", "c": "C2", "d": "C2", "e": "C3", "f": "outlier"}
    score = weighted_f1(pred, TRUTH, mapping=explicit)
    assert score == pytest.approx((1 + 1 + 2 / 3) / 3)
    with pytest.raises(ValueError, match="mapping method"):
        weighted_f1(pred, TRUTH, mapping="best")
