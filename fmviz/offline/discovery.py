"""Offline failure-mode discovery: embeddings -> reduction -> clustering -> representation.

The offline counterpart of the paper's stage 2. Like BERTopic, it is a chain of swappable parts
(embedder, reducer, clusterer, representation), each with a default that is fast and
deterministic: PCA to a few dozen dimensions, k-means with the number of clusters chosen by
silhouette on a seeded subsample, and c-TF-IDF keyphrases for names. The result is an ordinary
:class:`fmviz.results.ClusterSet` whose provenance records every choice, the silhouette curve,
the centroids (so stage 3 can assign new reasons) and the members.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from fmviz.offline.embeddings import Embedder
from fmviz.offline.keyphrases import ClusterDescription, KeyphraseRepresentation
from fmviz.results import Cluster, ClusterSet

__all__ = ["Discovery", "DiscoveryResult", "PCAReducer", "UMAPReducer", "make_clusterer", "make_reducer"]


class Reducer(Protocol):
    """Anything with scikit-learn's ``fit_transform``."""

    def fit_transform(self, x: np.ndarray) -> np.ndarray: ...


class Representation(Protocol):
    """Anything that names and describes clusters like :class:`KeyphraseRepresentation`."""

    def describe(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        embeddings: np.ndarray,
        centroids: np.ndarray,
        embedder: Embedder | None = None,
    ) -> list[ClusterDescription]: ...


class PCAReducer:
    """PCA to ``n_components`` dimensions, then rows rescaled to unit length (cosine geometry)."""

    def __init__(self, n_components: int = 32, seed: int = 0) -> None:
        self.n_components = n_components
        self.seed = seed

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        n_components = min(self.n_components, x.shape[0] - 1, x.shape[1])
        if n_components < 2:
            return x
        reduced = PCA(n_components=n_components, random_state=self.seed).fit_transform(x)
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (reduced / norms).astype(np.float32)

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


@dataclass
class DiscoveryResult:
    """A cluster set plus the arrays behind it (labels index ``clusters.clusters``)."""

    clusters: ClusterSet
    labels: np.ndarray
    embeddings: np.ndarray
    centroids: np.ndarray


class Discovery:
    """Find failure modes in texts without an LLM.

    Parameters
    ----------
    embedder:
        An :class:`~fmviz.offline.embeddings.Embedder` (default: the bundled MiniLM model).
    reducer:
        ``"pca"`` (default), ``"umap"``, ``"none"`` or an object with ``fit_transform``.
    clusterer:
        ``"kmeans"`` (default), ``"agglomerative"``, an estimator, or a ``(k, seed)`` factory.
    representation:
        Names and describes clusters (default :class:`KeyphraseRepresentation`).
    min_clusters, max_clusters:
        Bounds on the number of clusters; default 2 and ``min(20, n // 5)`` (clusters of about
        five or more members on average).
    selection_sample:
        Texts (seeded random subset) used to score each candidate k by silhouette; the chosen k
        is then fitted on everything. Keeps selection fast at 10,000 texts.
    k_tolerance:
        Parsimony: the chosen k is the smallest whose silhouette is within this share of the best
        score (0 picks the maximum). Past the true number of modes the silhouette curve is a
        noisy plateau, so the maximum over-splits.
    seed:
        Seed for the subsample, PCA and k-means: same inputs, same clusters.

    Examples
    --------
    >>> result = Discovery().fit(texts, ids)  # doctest: +SKIP
    >>> result.clusters.to_frame()  # doctest: +SKIP
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        reducer: str | Reducer | None = "pca",
        clusterer: str | ClustererFactory | Any = "kmeans",
        representation: Representation | None = None,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
        selection_sample: int = 2000,
        k_tolerance: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.embedder = embedder if embedder is not None else Embedder()
        self.reducer = make_reducer(reducer, seed)
        self.clusterer_spec = clusterer
        self.factory, self.fixed = make_clusterer(clusterer)
        self.representation = representation if representation is not None else KeyphraseRepresentation()
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.selection_sample = selection_sample
        self.k_tolerance = k_tolerance
        self.seed = seed

    def fit(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None = None,
        *,
        embeddings: np.ndarray | None = None,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
    ) -> DiscoveryResult:
        """Cluster ``texts`` and describe each cluster.

        Parameters
        ----------
        texts:
            The texts to cluster (failure reasons).
        ids:
            One id per text (episode ids); default ``"0", "1", ...``.
        embeddings:
            Precomputed normalised embeddings of ``texts`` (skips the embedder).
        min_clusters, max_clusters:
            Override the instance's bounds for this call.

        Returns
        -------
        DiscoveryResult
            ``clusters`` ("C1" is the largest), per-text ``labels``, ``embeddings``, ``centroids``.
        """
        texts = [str(t) for t in texts]
        n = len(texts)
        if n == 0:
            raise ValueError("cannot discover clusters in zero reasons")
        ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(n)]
        if len(ids) != n:
            raise ValueError(f"{len(ids)} ids for {n} texts")
        x = self.embedder.embed(texts) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        if x.shape[0] != n:
            raise ValueError(f"{x.shape[0]} embeddings for {n} texts")
        lo, hi = self._bounds(n, min_clusters, max_clusters)
        reduced = self.reducer.fit_transform(x) if n > 2 else x
        # torch's and scikit-learn's OpenMP pools fight over cores once a model has run, which makes
        # many small k-means fits 10x slower; one thread is faster at these sizes
        with threadpool_limits(limits=1, user_api="openmp"):
            raw, chosen_k, curve = self._cluster(reduced, lo, hi)
        labels, centroids = _relabel_by_size(raw, x)
        descriptions = self.representation.describe(texts, labels, x, centroids, self.embedder)
        clusters = []
        members: dict[str, list[str]] = {}
        for c, info in enumerate(descriptions):
            cid = f"C{c + 1}"
            member_ids = [ids[i] for i in np.flatnonzero(labels == c)]
            members[cid] = member_ids
            clusters.append(
                Cluster(cid, info.name, info.description, list(info.keywords), len(member_ids) / n)
            )
        _dedupe_names(clusters)
        provenance = {
            "engine": "offline",
            "embedding_model": self.embedder.model_id,
            "reducer": repr(self.reducer),
            "clusterer": _describe_clusterer(self.clusterer_spec),
            "representation": getattr(self.representation, "params", lambda: repr(self.representation))(),
            "k": len(clusters),
            "k_bounds": [lo, hi],
            "k_selection": {
                "metric": "silhouette (cosine)",
                "rule": f"smallest k within {self.k_tolerance:.0%} of the best score",
                "sample": int(min(n, self.selection_sample)),
                "scores": {str(k): round(float(s), 4) for k, s in curve.items()},
                "chosen": chosen_k,
            },
            "seed": self.seed,
            "n_reasons": n,
            "centroids": {cid: [round(float(v), 6) for v in centroids[c]] for c, cid in enumerate(members)},
            "members": members,
            "representatives": {
                f"C{c + 1}": [ids[i] for i in info.representatives] for c, info in enumerate(descriptions)
            },
        }
        return DiscoveryResult(ClusterSet(clusters, provenance), labels, x, centroids)

    # -- internals ------------------------------------------------------------------------
    def _bounds(self, n: int, lo: int | None, hi: int | None) -> tuple[int, int]:
        lo = lo if lo is not None else self.min_clusters
        hi = hi if hi is not None else self.max_clusters
        lo = max(1, lo if lo is not None else 2)
        # default: up to 20 modes, each with at least ~5 members on average
        hi = hi if hi is not None else max(lo, min(20, n // 5))
        if hi < lo:
            raise ValueError(f"max_clusters ({hi}) is smaller than min_clusters ({lo})")
        return min(lo, n), min(hi, n)

    def _cluster(self, x: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, int | None, dict[int, float]]:
        """Labels for every row, the chosen k (None for a fixed clusterer) and the score curve."""
        n = x.shape[0]
        if self.fixed is not None:
            labels = np.asarray(
                clone(self.fixed).fit_predict(x)
                if hasattr(self.fixed, "get_params")
                else self.fixed.fit_predict(x)
            )
            return _absorb_noise(labels, x), None, {}
        if n < 3 or lo == hi:
            k = max(1, min(lo, n))
            return self._fit_k(x, k), k, {}
        rng = np.random.default_rng(self.seed)
        sample = (
            np.sort(rng.choice(n, self.selection_sample, replace=False))
            if n > self.selection_sample
            else None
        )
        xs = x if sample is None else x[sample]
        curve: dict[int, float] = {}
        for k in range(max(2, lo), min(hi, xs.shape[0] - 1) + 1):
            labels = self._fit_k(xs, k)
            if len(np.unique(labels)) < 2:
                continue
            curve[k] = float(silhouette_score(xs, labels, metric="cosine"))
        if not curve:
            return self._fit_k(x, lo), lo, {}
        # parsimony: the smallest k whose silhouette is within `k_tolerance` (relative) of the best;
        # past the true number of modes the curve is a noisy plateau, not a peak
        top = max(curve.values())
        best = min(k for k, score in curve.items() if score >= top - self.k_tolerance * abs(top))
        return self._fit_k(x, best), best, curve

    def _fit_k(self, x: np.ndarray, k: int) -> np.ndarray:
        if k <= 1:
            return np.zeros(x.shape[0], dtype=int)
        assert self.factory is not None
        return np.asarray(self.factory(k, self.seed).fit_predict(x))


def _relabel_by_size(raw: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels 0..k-1 ordered by size (ties: first appearance) and normalised centroids."""
    values, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], first[i]))
    mapping = {values[i]: rank for rank, i in enumerate(order)}
    labels = np.array([mapping[v] for v in raw], dtype=int)
    centroids = np.stack([x[labels == c].mean(axis=0) for c in range(len(values))])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return labels, (centroids / norms).astype(np.float32)


def _absorb_noise(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Give HDBSCAN-style noise (-1) the nearest cluster; stage 3 decides outliers by threshold."""
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


def _dedupe_names(clusters: list[Cluster]) -> None:
    seen: dict[str, int] = {}
    for cluster in clusters:
        key = cluster.name.lower()
        if key in seen:
            cluster.name = f"{cluster.name} ({cluster.id})"
        seen[key] = seen.get(key, 0) + 1


def _describe_clusterer(spec: Any) -> str:
    return spec if isinstance(spec, str) else repr(spec)
