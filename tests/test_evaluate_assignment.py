"""Assignment quality (the paper's Fig. 5): hand-checkable partitions, scikit-learn, EA and RA."""

from __future__ import annotations

import random

import pytest
from sklearn import metrics

from fmviz.evaluate.assignment import assignment_quality, compare_assigners, optimal_mapping
from fmviz.evaluate.metrics import purity
from fmviz.offline import OfflineEngine
from fmviz.results import OUTLIER
from tests.conftest import synthetic_dataset

TRUTH = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "z", "f": "z"}


def test_a_perfect_clustering_with_other_ids_scores_one_everywhere() -> None:
    pred = {"a": "C3", "b": "C3", "c": "C1", "d": "C1", "e": "C2", "f": "C2"}
    row = assignment_quality({"perfect": pred}, TRUTH).iloc[0]
    for column in ("weighted_f1_optimal", "weighted_f1_majority", "ari", "nmi", "purity"):
        assert row[column] == pytest.approx(1.0), column
    assert row["n"] == 6
    assert row["n_clusters"] == 3


def test_a_label_permutation_does_not_change_any_score() -> None:
    pred = {"a": "C1", "b": "C1", "c": "C2", "d": "C3", "e": "C3", "f": "C3"}
    renamed = {k: {"C1": "K", "C2": "L", "C3": "M"}[v] for k, v in pred.items()}
    first = assignment_quality({"m": pred}, TRUTH).drop(columns="method")
    second = assignment_quality({"m": renamed}, TRUTH).drop(columns="method")
    assert first.equals(second)


def test_one_merged_pair_loses_exactly_the_merged_label_by_hand() -> None:
    pred = {"a": "C1", "b": "C1", "c": "C1", "d": "C1", "e": "C2", "f": "C2"}
    row = assignment_quality({"merged": pred}, TRUTH).iloc[0]
    # C1 -> x, C2 -> z: per-class F1 x = 2/3, y = 0, z = 1, each with support 2
    assert row["weighted_f1_optimal"] == pytest.approx((2 / 3 * 2 + 0 + 1 * 2) / 6)
    assert row["purity"] == pytest.approx(4 / 6)
    t, p = [TRUTH[k] for k in pred], list(pred.values())
    assert row["ari"] == pytest.approx(metrics.adjusted_rand_score(t, p))
    assert row["nmi"] == pytest.approx(metrics.normalized_mutual_info_score(t, p))


def test_optimal_matching_penalises_over_splitting_and_majority_forgives_it() -> None:
    pred = {"a": "C1", "b": "C2", "c": "C3", "d": "C3", "e": "C4", "f": "C4"}
    row = assignment_quality({"split": pred}, TRUTH).iloc[0]
    assert row["weighted_f1_majority"] == pytest.approx(1.0)
    assert row["weighted_f1_optimal"] < 1.0
    mapping = optimal_mapping(pred, TRUTH)
    assert len(set(mapping.values())) == len(mapping)  # one to one


def test_outliers_are_never_mapped_and_count_as_wrong() -> None:
    pred = dict.fromkeys(TRUTH, "C1") | {"a": OUTLIER, "b": OUTLIER}
    assert OUTLIER not in optimal_mapping(pred, TRUTH)
    row = assignment_quality({"m": pred}, TRUTH).iloc[0]
    assert row["outliers"] == 2
    assert row["weighted_f1_majority"] < 0.5


def test_weighted_f1_matches_scikit_learn_on_the_mapped_labels() -> None:
    rng = random.Random(3)
    truth = {str(i): rng.choice("pqrs") for i in range(60)}
    pred = {k: rng.choice(["A", "B", "C"]) if rng.random() < 0.4 else f"K{v}" for k, v in truth.items()}
    row = assignment_quality({"m": pred}, truth).iloc[0]
    mapping = optimal_mapping(pred, truth)
    mapped = [mapping.get(pred[k], "<none>") for k in truth]
    expected = metrics.f1_score(
        list(truth.values()), mapped, average="weighted", labels=sorted(set(truth.values()))
    )
    assert row["weighted_f1_optimal"] == pytest.approx(expected)
    assert purity(pred, truth) == pytest.approx(row["purity"])


def test_random_labels_score_near_zero_ari() -> None:
    rng = random.Random(0)
    truth = {str(i): rng.choice("abcde") for i in range(2000)}
    pred = {k: rng.choice("VWXYZ") for k in truth}
    row = assignment_quality({"random": pred}, truth).iloc[0]
    assert abs(row["ari"]) < 0.02
    assert row["nmi"] < 0.02


def test_episodes_without_a_label_are_not_scored() -> None:
    truth = {"a": "x", "b": None, "c": ""}
    row = assignment_quality({"m": {"a": "C1", "b": "C1", "c": "C2"}}, truth).iloc[0]
    assert row["n"] == 1


def test_no_labelled_episode_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="no assigned episode has a 'label' label"):
        assignment_quality({"m": {"a": "C1"}}, {"b": "x"})


def test_compare_assigners_scores_the_run_with_ea_and_ra_in_one_call() -> None:
    dataset = synthetic_dataset(per_cause=8)  # SYNTHETIC narratives with known causes
    engine = OfflineEngine(seed=0)
    reasons = engine.infer_reasons(dataset)
    clusters = engine.discover_clusters(reasons, min_clusters=3, max_clusters=3)
    truth = {e.id: e.label for e in dataset}
    frame = compare_assigners(reasons, clusters, truth, assignments=engine.assign(reasons, clusters), seed=1)
    assert list(frame["method"]) == ["ours", "EA", "RA"]
    by = frame.set_index("method")
    assert by.loc["ours", "weighted_f1_optimal"] > by.loc["RA", "weighted_f1_optimal"]
    assert by.loc["EA", "weighted_f1_optimal"] > by.loc["RA", "weighted_f1_optimal"]
    assert (frame["n"] == len(dataset)).all()
    with pytest.raises(ValueError, match="unknown assignment baseline"):
        compare_assigners(reasons, clusters, truth, baselines=["xx"])
