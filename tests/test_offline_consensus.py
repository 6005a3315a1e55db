"""The consensus partition: many k-means fits aggregated into one.

All data here are SYNTHETIC: Gaussian blobs on the unit sphere, made up for these tests.
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from fmviz.offline.clusterers import consensus_kmeans


def _blobs(scale: float, k: int = 12, n: int = 1200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(k, 16))
    truth = rng.integers(0, k, n)
    x = centres[truth] + rng.normal(scale=scale, size=(n, 16))
    return x / np.linalg.norm(x, axis=1, keepdims=True), truth


def _agreement(partitions: list[np.ndarray]) -> float:
    pairs = itertools.combinations(partitions, 2)
    return float(np.mean([normalized_mutual_info_score(a, b) for a, b in pairs]))


def test_consensus_depends_less_on_the_seed_than_one_fit_and_finds_as_much():
    x, truth = _blobs(scale=1.1)  # overlapping blobs: where one fit's start matters
    single = [KMeans(n_clusters=12, n_init=10, random_state=s).fit_predict(x) for s in range(5)]
    agreed = [consensus_kmeans(x, 12, runs=30, seed=s) for s in range(5)]
    assert _agreement(agreed) > _agreement(single) + 0.01
    found = np.mean([normalized_mutual_info_score(truth, p) for p in agreed])
    assert found >= np.mean([normalized_mutual_info_score(truth, p) for p in single]) - 0.01


def test_consensus_recovers_clear_clusters_exactly_and_repeats():
    x, truth = _blobs(scale=0.05)
    labels = consensus_kmeans(x, 12, runs=30, seed=3)
    assert normalized_mutual_info_score(truth, labels) == 1.0
    assert np.array_equal(labels, consensus_kmeans(x, 12, runs=30, seed=3))


def test_one_run_or_too_few_texts_is_one_plain_fit():
    x, _ = _blobs(scale=0.3, n=40)
    plain = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(x)
    assert np.array_equal(consensus_kmeans(x, 4, runs=1, seed=0), plain)
    assert len(set(consensus_kmeans(x[:3], 5, runs=30))) <= 3
