"""Clusterers: names and estimators resolved into a factory over k (BERTopic's ``cluster`` part).

Discovery needs to refit its clusterer once per candidate k, so a clusterer is a factory
``(k, seed) -> estimator``; estimators that choose their own number of clusters (HDBSCAN) are
used as they are and their noise is handed to the nearest cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering, KMeans

__all__ = ["ClustererFactory", "absorb_noise", "describe_clusterer", "make_clusterer"]


#: A clusterer factory: number of clusters and seed -> an estimator with ``fit_predict``.
ClustererFactory = Callable[[int, int], Any]


def make_clusterer(spec: str | ClustererFactory | Any) -> tuple[ClustererFactory | None, Any]:
    """Resolve a clusterer spec into ``(factory, fixed)``; exactly one of the two is set.

    ``"kmeans"`` and ``"agglomerative"`` (Ward) give factories over k; an estimator with an
    ``n_clusters`` parameter is cloned per k; any other estimator with ``fit_predict`` (e.g.
    ``hdbscan.HDBSCAN``) is ``fixed`` and finds its own number of clusters.
    """
    if spec == "kmeans":
        return (lambda k, seed: KMeans(n_clusters=k, n_init=10, random_state=seed)), None
    if spec == "agglomerative":
        return (lambda k, seed: AgglomerativeClustering(n_clusters=k, linkage="ward")), None
    if isinstance(spec, str):
        raise ValueError(f"unknown clusterer {spec!r}: use 'kmeans', 'agglomerative' or an estimator")
    if hasattr(spec, "fit_predict"):
        params = spec.get_params() if hasattr(spec, "get_params") else {}
        if "n_clusters" in params:

            def factory(k: int, seed: int) -> Any:
                estimator = clone(spec).set_params(n_clusters=k)
                if "random_state" in params:
                    estimator.set_params(random_state=seed)
                return estimator

            return factory, None
        return None, spec
    if callable(spec):
        return spec, None
    raise TypeError(f"a clusterer must be a name, an estimator with fit_predict or a factory, got {spec!r}")


def absorb_noise(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Give HDBSCAN-style noise (-1) the nearest cluster; outliers are decided separately."""
    labels = labels.copy()
    noise = labels < 0
    if not noise.any():
        return labels
    if noise.all():
        return np.zeros_like(labels)
    kept = np.unique(labels[~noise])
    centres = np.stack([x[labels == c].mean(axis=0) for c in kept])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    labels[noise] = kept[np.argmax(x[noise] @ centres.T, axis=1)]
    return labels


def describe_clusterer(spec: Any) -> str:
    """How a clusterer spec is recorded in provenance."""
    return spec if isinstance(spec, str) else repr(spec)
