"""Tests for embedding assignment (EA), centroid assignment and the random baseline (RA)."""

from __future__ import annotations

import numpy as np
import pytest

from fmviz.evaluate.metrics import weighted_f1
from fmviz.offline.assign import assign_nearest, cluster_texts, cluster_vectors, random_assign
from fmviz.offline.embeddings import Embedder
from fmviz.results import BOILERPLATE_ONLY, OUTLIER, Cluster, ClusterSet, Reason, Reasons

# A hand-built cluster set like one an LLM writes: names, descriptions, keywords, no centroids.
LLM_CLUSTERS = ClusterSet(
    [
        Cluster(
            "A", "Transparent obstacles missed", "Glass doors and walls not seen by lidar", ["glass", "lidar"]
        ),
        Cluster("B", "Localization failure", "The robot loses track of its pose on the map", ["pose", "map"]),
        Cluster("C", "Wheel slip", "Loss of traction on wet or slippery floors", ["traction", "wet floor"]),
        Cluster("D", "Battery depletion", "The robot runs out of power mid-task", ["battery", "charge"]),
    ],
    provenance={"engine": "gemini:gemini-2.5-pro"},
)

# Synthetic reasons with the cluster each one obviously belongs to.
REASONS = {
    "r1": ("the laser scanner could not see the glass door and the robot drove into it", "A"),
    "r2": ("a transparent pane was invisible to the depth sensor", "A"),
    "r3": ("the particle filter diverged and the robot lost its position on the map", "B"),
    "r4": ("scan matching failed in a long corridor so the pose estimate drifted", "B"),
    "r5": ("the wheels spun on a puddle and the base slid sideways", "C"),
    "r6": ("the floor was freshly mopped and the drive wheels lost grip", "C"),
    "r7": ("the battery ran flat halfway along the route and it shut down", "D"),
    "r8": ("charge dropped to zero before it could reach the dock", "D"),
}


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return Embedder(cache_dir=tmp_path_factory.mktemp("emb"), show_progress=False)


def reasons() -> Reasons:
    return Reasons(Reason(rid, "", text) for rid, (text, _) in REASONS.items())


def test_ea_assigns_to_the_matching_description(embedder):
    assignments = assign_nearest(reasons(), LLM_CLUSTERS, embedder=embedder)
    truth = {rid: cid for rid, (_, cid) in REASONS.items()}
    assert assignments.labels() == truth
    assert weighted_f1(assignments.labels(), truth) == pytest.approx(1.0)
    first = assignments["r1"]
    assert first.rationale.startswith("nearest to A (cos ")
    assert 0 < first.score <= 1


def test_outlier_threshold(embedder):
    odd = Reasons([Reason("x", "", "Quarterly revenue grew in Europe thanks to new pricing.")])
    loose = assign_nearest(odd, LLM_CLUSTERS, embedder=embedder, threshold=-1.0)
    assert loose["x"].cluster_id != OUTLIER
    strict = assign_nearest(odd, LLM_CLUSTERS, embedder=embedder)  # default description threshold
    assert strict["x"].is_outlier
    assert "nearest" in strict["x"].rationale
    assert strict["x"].score == pytest.approx(loose["x"].score)
    # the threshold applies to real reasons too: above every score, everything is an outlier
    everything = assign_nearest(reasons(), LLM_CLUSTERS, embedder=embedder, threshold=0.999)
    assert all(a.is_outlier for a in everything)


def test_a_reason_made_of_reporting_boilerplate_is_an_outlier_whatever_it_resembles(embedder):
    text, _ = REASONS["r1"]  # it would be nearest to A at any threshold
    flagged = Reasons([Reason("n", "", text, provenance={BOILERPLATE_ONLY: True}), Reason("r1", "", text)])
    assignments = assign_nearest(flagged, LLM_CLUSTERS, embedder=embedder, threshold=-1.0)
    assert assignments["r1"].cluster_id == "A"
    assert assignments["n"].is_outlier
    assert "boilerplate" in assignments["n"].rationale
    assert flagged["n"].boilerplate_only
    assert not flagged["r1"].boilerplate_only


def test_stored_centroids_are_used_when_the_model_matches(embedder):
    texts = [text for text, _ in REASONS.values()]
    x = embedder.embed(texts)
    glass, battery = x[:2].mean(axis=0), x[6:].mean(axis=0)
    clusters = ClusterSet(
        [Cluster("C1", "glass"), Cluster("C2", "battery")],
        embedding_model=embedder.model_id,
        centroids={"C1": glass.tolist(), "C2": battery.tolist()},
    )
    vectors, source = cluster_vectors(clusters, embedder)
    assert source == "centroids"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    result = assign_nearest(reasons(), clusters, embedder=embedder, threshold=0.0)
    assert result["r1"].cluster_id == "C1"
    assert result["r8"].cluster_id == "C2"
    # another model's centroids are not comparable: fall back to embedding the cluster texts
    clusters.embedding_model = "some-other-model"
    assert cluster_vectors(clusters, embedder)[1] == "descriptions"


def test_cluster_texts_include_name_description_and_keywords():
    text = cluster_texts(LLM_CLUSTERS)[0]
    assert (
        text
        == "Transparent obstacles missed: Glass doors and walls not seen by lidar. Keywords: glass, lidar."
    )


def test_random_assign_is_seeded_and_uses_every_id():
    many = Reasons(Reason(f"e{i}", "", "x") for i in range(200))
    first = random_assign(many, LLM_CLUSTERS, seed=1).labels()
    assert first == random_assign(many, LLM_CLUSTERS, seed=1).labels()
    assert first != random_assign(many, LLM_CLUSTERS, seed=2).labels()
    assert set(first.values()) == set(LLM_CLUSTERS.ids)


def test_empty_cluster_set_is_an_error(embedder):
    with pytest.raises(ValueError, match="empty cluster set"):
        assign_nearest(reasons(), ClusterSet([]), embedder=embedder)
