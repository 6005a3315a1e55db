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

__all__ = ["PCAReducer", "Reducer", "UMAPReducer", "make_reducer"]


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
