"""Stability: ARI between ensemble members, and across seeds and input orders."""

from __future__ import annotations

import numpy as np
import pytest

from fmviz.evaluate.stability import ensemble_stability, pairwise_ari, partition_from_members, rerun_stability
from fmviz.results import Cluster, ClusterSet, Reason, Reasons

TOPICS = {
    "glass": "the robot hit a glass door",
    "chair": "the robot hit thin chair legs",
    "cable": "cables on the floor stopped the wheels",
}


def reasons(per_topic: int = 6) -> Reasons:
    return Reasons(
        Reason(f"{t}-{i}", "", f"{text} in room {i}") for t, text in TOPICS.items() for i in range(per_topic)
    )


def by_topic(batch: Reasons, seed: int) -> ClusterSet:
    """A deterministic clusterer: one cluster per topic word, whatever the seed or order."""
    membership = {r.episode_id: "C-" + next(t for t in TOPICS if t in r.failure_reason) for r in batch}
    return ClusterSet([Cluster(c, c) for c in sorted(set(membership.values()))], membership=membership)


def test_pairwise_ari_is_one_for_relabelled_partitions_and_symmetric() -> None:
    a = {"1": "x", "2": "x", "3": "y", "4": "z"}
    b = {"1": "p", "2": "p", "3": "q", "4": "r"}
    c = {"1": "p", "2": "q", "3": "p", "4": "q"}
    m = pairwise_ari({"a": a, "b": b, "c": c})
    assert m.loc["a", "b"] == pytest.approx(1.0)
    assert m.loc["a", "c"] == pytest.approx(m.loc["c", "a"])
    assert m.loc["a", "c"] < 0.5
    assert np.allclose(np.diag(m), 1.0)


def test_a_deterministic_clusterer_is_perfectly_stable_across_seeds_and_orders() -> None:
    saved = {r.episode_id: "one cluster" for r in reasons()}
    frame = rerun_stability(reasons(), by_topic, seeds=(0, 1), orders=2, saved=saved)
    assert (frame["ari_vs_saved"] == 0.0).all()  # a saved run with one cluster shares nothing
    assert list(frame["order"]) == ["original", "original", "shuffle 1", "shuffle 2"]
    assert (frame["ari_vs_reference"] == 1.0).all()
    assert frame.attrs["pairwise"].shape == (4, 4)


def test_a_seed_dependent_clusterer_shows_up_as_unstable() -> None:
    def random_clusters(batch: Reasons, seed: int) -> ClusterSet:
        rng = np.random.default_rng(seed)
        membership = {r.episode_id: f"C{rng.integers(3)}" for r in batch}
        return ClusterSet([Cluster(c, c) for c in sorted(set(membership.values()))], membership=membership)

    frame = rerun_stability(reasons(per_topic=20), random_clusters, seeds=(0, 1, 2), orders=0)
    assert frame.loc[0, "ari_vs_reference"] == 1.0
    assert (frame["ari_vs_reference"].iloc[1:] < 0.3).all()


def test_cluster_sets_without_members_need_an_assigner() -> None:
    with pytest.raises(ValueError, match="pass assign="):
        rerun_stability(reasons(), lambda b, s: ClusterSet([Cluster("C1", "x")]), seeds=(0,), orders=0)


def test_ensemble_members_are_compared_with_each_other_and_the_aggregate() -> None:
    def member(index: int, names: list[str]) -> dict:
        clusters = [{"name": n, "description": n, "keywords": [n], "frequency": 0.3} for n in names]
        return {"index": index, "clusters": {"clusters": clusters}}

    same = ["glass door collisions", "thin chair legs", "floor cables"]
    provenance = {
        "members": [
            member(0, same),
            member(1, same),
            member(2, ["robot accidents"]),
            {"index": 3, "clusters": None, "error": "failed"},
        ]
    }
    clusters = ClusterSet([Cluster(f"C{i}", n, n) for i, n in enumerate(same, start=1)], provenance)
    matrix = ensemble_stability(reasons(), clusters)
    assert list(matrix.index) == ["member 0 (original prompt)", "member 1", "member 2", "aggregate"]
    assert matrix.loc["member 0 (original prompt)", "member 1"] == pytest.approx(1.0)
    assert matrix.loc["member 0 (original prompt)", "aggregate"] == pytest.approx(1.0)
    assert matrix.loc["member 2", "aggregate"] == pytest.approx(0.0)  # one cluster vs three
    assert partition_from_members(clusters) is None


def test_sets_without_an_ensemble_give_an_empty_table() -> None:
    assert ensemble_stability(reasons(), by_topic(reasons(), 0)).empty
