"""Tests for offline discovery and keyphrases on a small synthetic corpus (made up for the tests)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering

from fmviz.evaluate.metrics import cluster_agreement
from fmviz.offline.discovery import Discovery, choose_k, make_clusterer, make_reducer
from fmviz.offline.embeddings import Embedder
from fmviz.offline.keyphrases import KeyphraseRepresentation, c_tf_idf, mmr

# Synthetic navigation failures: 5 causes, each written from random (subject, failure,
# consequence) phrases inside random task/place context, so no two texts share a template.
CAUSES = {
    "glass": (
        ["the lidar", "the depth camera", "the laser scanner", "its obstacle sensor"],
        ["did not see the glass door", "missed a transparent glass panel", "could not detect the glass wall"],
        ["and the robot drove into it", "so the base bumped the pane", "and it collided with the glass"],
    ),
    "localization": (
        ["the localization module", "the pose estimator", "the particle filter", "scan matching"],
        ["lost track of the robot's position", "diverged in a featureless corridor", "jumped on the map"],
        ["so the robot got lost", "and it drifted off the planned path", "and it entered the wrong room"],
    ),
    "slip": (
        ["the drive wheels", "the left wheel", "the wheel motors", "the base"],
        ["lost traction on the wet floor", "slipped on a puddle", "spun on the freshly mopped tiles"],
        ["so odometry became wrong", "and the robot slid sideways", "and it missed the turn"],
    ),
    "person": (
        ["a pedestrian", "a child", "a worker", "a visitor"],
        ["stepped suddenly in front of the robot", "walked out from behind a shelf", "crossed its path"],
        ["and it could not brake in time", "and the robot brushed against them", "and it reacted too late"],
    ),
    "battery": (
        ["the battery", "the power system", "the charge level", "the battery pack"],
        ["ran out in the middle of the route", "dropped to zero before the goal", "was too low to continue"],
        ["and the robot shut down", "so it stopped in the aisle", "and the robot powered off"],
    ),
}
PLACES = [
    "in the lobby",
    "near the kitchen",
    "in the warehouse aisle",
    "at the office entrance",
    "in the lab",
]
TASKS = ["While delivering a package", "During a patrol", "While guiding a visitor", "While mapping the area"]


def synthetic_corpus(per_cause: int = 20, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for cause, (subjects, failures, outcomes) in CAUSES.items():
        for _ in range(per_cause):
            texts.append(
                f"{rng.choice(TASKS)} {rng.choice(PLACES)}, {rng.choice(subjects)} "
                f"{rng.choice(failures)} {rng.choice(outcomes)}."
            )
            labels.append(cause)
    ids = [f"ep{i:03d}" for i in range(len(texts))]
    return texts, labels, ids


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return Embedder(cache_dir=tmp_path_factory.mktemp("emb"), show_progress=False)


@pytest.fixture(scope="module")
def corpus(embedder):
    texts, labels, ids = synthetic_corpus()
    return texts, labels, ids, embedder.embed(texts)


def test_recovers_known_causes(embedder, corpus):
    texts, labels, ids, x = corpus
    result = Discovery(embedder, seed=0).fit(texts, ids, embeddings=x)
    pred = dict(zip(ids, result.labels.tolist(), strict=True))
    scores = cluster_agreement(pred, dict(zip(ids, labels, strict=True)))
    # 5 well-separated synthetic causes, 20 texts each: measured ARI 1.0 / NMI 1.0 with seed 0;
    # the floors leave room for one split cluster (k=6 measured ARI ~0.89, NMI ~0.92)
    assert scores["ari"] >= 0.8, scores
    assert scores["nmi"] >= 0.85, scores
    assert 4 <= len(result.clusters) <= 7


def test_same_seed_gives_the_same_clusters(embedder, corpus):
    texts, _, ids, x = corpus
    first = Discovery(embedder, seed=3).fit(texts, ids, embeddings=x).clusters
    second = Discovery(embedder, seed=3).fit(texts, ids, embeddings=x).clusters
    assert first.membership == second.membership
    assert first.to_frame().equals(second.to_frame())


def test_cluster_set_shape_and_provenance(embedder, corpus):
    texts, _, ids, x = corpus
    clusters = Discovery(embedder, seed=0).fit(texts, ids, embeddings=x).clusters
    sizes = [len(clusters.members(c.id)) for c in clusters]
    assert clusters.ids == [f"C{i + 1}" for i in range(len(clusters))]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(c.frequency for c in clusters) == pytest.approx(1.0)
    assert sorted(clusters.membership) == sorted(ids)
    prov = clusters.provenance
    assert prov["engine"] == "offline"
    assert clusters.embedding_model == embedder.model_id
    assert prov["k"] == len(clusters)
    assert str(prov["k"]) in prov["k_selection"]["scores"]
    assert len(clusters.centroids["C1"]) == x.shape[1]
    assert "members" not in prov
    assert "centroids" not in prov
    for cluster in clusters:
        assert cluster.name
        assert cluster.keywords
        assert cluster.description
        assert len(set(cluster.keywords)) == len(cluster.keywords)


def test_keywords_name_the_cause(embedder, corpus):
    texts, labels, ids, x = corpus
    result = Discovery(embedder, seed=0).fit(texts, ids, embeddings=x)
    cue = {"glass": "glass", "battery": "battery", "slip": "wheel"}
    for cause, word in cue.items():
        members = [i for i, label in enumerate(labels) if label == cause]
        majority = np.bincount(result.labels[members]).argmax()
        cluster = result.clusters.clusters[majority]
        assert any(word in k for k in cluster.keywords), (cause, cluster.keywords)


def test_held_out_texts_are_outliers_that_neither_shape_nor_name_a_cluster(embedder, corpus):
    texts, _, ids, _ = corpus
    notes = [f"Acme filed report {i} under the order; see the original submission." for i in range(12)]
    held = [*texts, *notes]
    held_ids = [*ids, *(f"note-{i}" for i in range(len(notes)))]
    exclude = [False] * len(texts) + [True] * len(notes)
    result = Discovery(embedder, seed=0).fit(held, held_ids, exclude=exclude)
    clusters = result.clusters
    assert result.outliers[len(texts) :].all()
    assert not any(m.startswith("note-") for m in clusters.membership)
    assert clusters.provenance["outliers"]["boilerplate_only"] == len(notes)
    assert not any("filed" in k or "submission" in k for c in clusters for k in c.keywords)
    assert result.labels.min() >= 0
    assert result.labels.max() < len(clusters)
    # excluding everything would leave nothing to cluster: the flags are ignored then
    everything = Discovery(embedder, seed=0).fit(notes, exclude=[True] * len(notes))
    assert not everything.outliers.all()


def test_the_default_search_leaves_room_for_the_size_rule():
    from fmviz.offline.k_selection import MAX_MODES, default_max_k, size_rule_k

    assert default_max_k(100) == 20  # clusters of about five members or more
    assert default_max_k(40) == 8
    for n in (1500, 5000, 100_000):
        assert size_rule_k(n, 2, 10**6) <= default_max_k(n) or default_max_k(n) == MAX_MODES
        assert default_max_k(n) <= MAX_MODES


def test_bounds_fix_the_number_of_clusters(embedder, corpus):
    texts, _, ids, x = corpus
    clusters = Discovery(embedder).fit(texts, ids, embeddings=x, min_clusters=3, max_clusters=3).clusters
    assert len(clusters) == 3
    with pytest.raises(ValueError, match="max_clusters"):
        Discovery(embedder).fit(texts, ids, embeddings=x, min_clusters=5, max_clusters=2)


def test_swappable_parts(embedder, corpus):
    texts, labels, ids, x = corpus
    result = Discovery(
        embedder,
        reducer="none",
        clusterer=AgglomerativeClustering(linkage="ward"),
        representation=KeyphraseRepresentation(top_n=3),
        max_clusters=8,
    ).fit(texts, ids, embeddings=x)
    assert all(len(c.keywords) <= 3 for c in result.clusters)
    assert "AgglomerativeClustering" in result.clusters.provenance["clusterer"]
    scores = cluster_agreement(
        dict(zip(ids, result.labels, strict=True)), dict(zip(ids, labels, strict=True))
    )
    assert scores["nmi"] >= 0.8, scores


def test_fixed_clusterer_noise_is_absorbed(embedder, corpus):
    class FixedTwo:
        """Labels the first half 0, the rest 1, and one point as noise (-1)."""

        def fit_predict(self, x):
            labels = (np.arange(len(x)) >= len(x) // 2).astype(int)
            labels[0] = -1
            return labels

    texts, _, ids, x = corpus
    result = Discovery(embedder, clusterer=FixedTwo()).fit(texts, ids, embeddings=x)
    assert len(result.clusters) == 2
    assert result.clusters.provenance["k_selection"]["chosen"] is None
    assert set(result.labels.tolist()) == {0, 1}


def test_bad_parts_are_rejected():
    with pytest.raises(ValueError, match="reducer"):
        make_reducer("tsne")
    with pytest.raises(ValueError, match="clusterer"):
        make_clusterer("dbscan-ish")


def test_tiny_inputs(embedder):
    result = Discovery(embedder).fit(["the battery died"], ["a"])
    assert result.clusters.ids == ["C1"]
    with pytest.raises(ValueError, match="zero"):
        Discovery(embedder).fit([], [])


def test_c_tf_idf_prefers_terms_unique_to_a_class():
    counts = np.array([[5, 5, 0], [5, 0, 5]])  # term 0 everywhere, 1 only in class 0, 2 only in class 1
    scores = c_tf_idf(counts)
    assert scores[0, 1] > scores[0, 0]
    assert scores[1, 2] > scores[1, 0]
    assert scores[0, 2] == 0


def test_mmr_skips_near_duplicates():
    target = np.array([1.0, 0.0, 0.0])
    a = np.array([0.99, 0.14, 0.0])
    near_a = np.array([0.98, 0.2, 0.0])
    other = np.array([0.7, 0.0, 0.71])
    candidates = np.stack([v / np.linalg.norm(v) for v in (a, near_a, other)])
    assert mmr(target, candidates, top_n=2, diversity=0.7) == [0, 2]
    assert mmr(target, candidates, top_n=2, diversity=0.0) == [0, 1]


def test_choose_k_rules():
    # a curve that jumps until k=5, then creeps up: the knee is 5, the maximum 9
    curve = {2: 0.10, 3: 0.18, 4: 0.26, 5: 0.33, 6: 0.33, 7: 0.34, 8: 0.345, 9: 0.35}
    assert choose_k(curve, "knee") == 5
    assert choose_k(curve, "max") == 9
    assert choose_k(curve, "parsimony", tolerance=0.1) == 5
    assert choose_k({2: 0.3, 3: 0.1}, "knee") == 2
    assert choose_k({2: 0.29, 3: 0.37, 4: 0.44}, "knee") == 4  # no knee: the best score
    with pytest.raises(ValueError, match="k_rule"):
        Discovery(Embedder(cache_dir=False), k_rule="elbow")
