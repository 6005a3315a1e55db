"""Reducers: embeddings to a few dimensions before clustering (BERTopic's ``dimensionality`` part).

Discovery clusters in a reduced space because k-means and silhouette scores behave better in a
few dozen dimensions than in 384. Each reducer is anything with scikit-learn's
``fit_transform``; :func:`make_reducer` turns the names a user types into one.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.decomposition import PCA

from fmviz.offline.embeddings import unit_rows

__all__ = ["MAP_METHODS", "PCAReducer", "Reducer", "UMAPReducer", "make_reducer", "project_2d"]


class Reducer(Protocol):
    """Anything with scikit-learn's ``fit_transform``."""

    def fit_transform(self, x: np.ndarray) -> np.ndarray: ...


class PCAReducer:
    """PCA to ``n_components`` dimensions, then rows rescaled to unit length (cosine geometry)."""

    def __init__(self, n_components: int = 32, seed: int = 0) -> None:
        self.n_components = n_components
        self.seed = seed

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        n_components = min(self.n_components, x.shape[0] - 1, x.shape[1])
        if n_components < 2:
            return x
        return unit_rows(PCA(n_components=n_components, random_state=self.seed).fit_transform(x))

    def __repr__(self) -> str:
        return f"PCAReducer(n_components={self.n_components})"


class UMAPReducer:
    """UMAP with BERTopic's settings (5-D, cosine, 15 neighbours); slower, sometimes sharper."""

    def __init__(self, n_components: int = 5, n_neighbors: int = 15, min_dist: float = 0.0, seed: int = 0):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.seed = seed

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] <= self.n_components + 2:
            return x
        import umap

        model = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=min(self.n_neighbors, x.shape[0] - 1),
            min_dist=self.min_dist,
            metric="cosine",
            random_state=self.seed,
        )
        return np.asarray(model.fit_transform(x), dtype=np.float32)

    def __repr__(self) -> str:
        return f"UMAPReducer(n_components={self.n_components}, n_neighbors={self.n_neighbors})"


class _Identity:
    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return x

    def __repr__(self) -> str:
        return "none"


def make_reducer(spec: str | Reducer | None, seed: int = 0) -> Reducer:
    """``"pca"`` (default), ``"umap"``, ``None``/``"none"`` or any object with ``fit_transform``."""
    if spec is None or spec == "none":
        return _Identity()
    if spec == "pca":
        return PCAReducer(seed=seed)
    if spec == "umap":
        return UMAPReducer(seed=seed)
    if isinstance(spec, str):
        raise ValueError(
            f"unknown reducer {spec!r}: use 'pca', 'umap', 'none' or an object with fit_transform"
        )
    return spec


#: Layouts of the report's 2-D map: ``"tsne"`` (default: fast at any size, no compilation),
#: ``"umap"`` (exact UMAP; numba compiles it on each new process, 20-40 s) and ``"pca"`` (instant).
MAP_METHODS = ("tsne", "umap", "pca")


def project_2d(x: np.ndarray, seed: int = 0, method: str = "tsne", *, landmarks: int = 600) -> np.ndarray:
    """2-D coordinates of every row of ``x`` (unit-length embeddings) for the embedding map.

    ``"tsne"`` reduces to 50 PCA dimensions, lays out up to ``landmarks`` rows (a seeded sample)
    with exact t-SNE (:mod:`fmviz.offline._tsne`, numpy only) and places every other row at the
    similarity-weighted mean of its 10 most similar landmarks: seconds at 10,000 rows, where UMAP
    costs more than the clustering it shows. Deterministic for a seed.
    """
    if method not in MAP_METHODS:
        raise ValueError(f"unknown map method {method!r}: use one of {', '.join(MAP_METHODS)}")
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < 3:
        return np.column_stack([np.arange(n, dtype=np.float32), np.zeros(n, dtype=np.float32)])
    if method == "pca" or n < 10:
        return PCA(n_components=2, random_state=seed).fit_transform(x).astype(np.float32)
    if method == "umap":
        from umap import UMAP

        model = UMAP(
            n_components=2,
            n_neighbors=min(15, n - 1),
            min_dist=0.1,
            metric="cosine",
            init="pca",  # spectral init falls back to an unseeded random one on disconnected data
            random_state=seed,
            n_jobs=1,
        )
        return np.asarray(model.fit_transform(x), dtype=np.float32)
    from fmviz.offline._tsne import place_by_neighbours, tsne

    reduced = PCAReducer(n_components=50, seed=seed).fit_transform(x)
    if n <= landmarks:
        return tsne(reduced, seed=seed)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n, size=landmarks, replace=False))
    layout = tsne(reduced[chosen], seed=seed)
    out = place_by_neighbours(reduced, reduced[chosen], layout)
    out[chosen] = layout
    return out
