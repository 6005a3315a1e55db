"""Offline failure-mode discovery: embeddings -> reduction -> clustering -> outliers -> representation.

The offline counterpart of the paper's stage 2. Like BERTopic, it is a chain of swappable parts,
each in its own module with a default that is fast and deterministic: an embedder
(:mod:`~fmviz.offline.embeddings`), a reducer (:mod:`~fmviz.offline.reducers`, PCA) joined with
lexical features (:mod:`~fmviz.offline.lexical`, TF-IDF/SVD), a clusterer
(:mod:`~fmviz.offline.clusterers`, k-means) with k read off a silhouette curve
(:mod:`~fmviz.offline.k_selection`), outliers (:mod:`~fmviz.offline.outliers`) and a
representation that names each cluster (:mod:`~fmviz.offline.keyphrases`,
:mod:`~fmviz.offline.naming`). This module only chains them. The result is an ordinary
:class:`fmviz.results.ClusterSet` with centroids, membership and member text hashes as typed
fields (stage 3 reads them) and the choices and the k curve in its provenance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from fmviz.offline.clusterers import (
    ClustererFactory,
    absorb_noise,
    consensus_kmeans,
    describe_clusterer,
    make_clusterer,
    member_centroids,
    order_by_members,
    relabel_by_size,
)
from fmviz.offline.debias import remove_source_signal
from fmviz.offline.embeddings import Embedder
from fmviz.offline.k_selection import K_RULES, applied_rule, choose_k, default_max_k, silhouette_curve
from fmviz.offline.keyphrases import ClusterDescription, KeyphraseRepresentation
from fmviz.offline.lexical import LexicalFeatures
from fmviz.offline.outliers import OutlierRule
from fmviz.offline.reducers import PCAReducer, Reducer, UMAPReducer, make_reducer
from fmviz.results import Cluster, ClusterSet

_DEFAULT: Any = object()

__all__ = [
    "ClustererFactory",
    "Discovery",
    "DiscoveryResult",
    "LexicalFeatures",
    "PCAReducer",
    "Reducer",
    "Representation",
    "UMAPReducer",
    "choose_k",
    "make_clusterer",
    "make_reducer",
    "text_hash",
]


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


@dataclass
class DiscoveryResult:
    """A cluster set plus the arrays behind it (labels index ``clusters.clusters``)."""

    clusters: ClusterSet
    labels: np.ndarray
    embeddings: np.ndarray
    centroids: np.ndarray
    #: ``True`` for texts far from every cluster (not members; stage 3 calls them outliers).
    outliers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


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
        Bounds on the number of clusters; default 2 and
        :func:`~fmviz.offline.k_selection.default_max_k` (20 to 50, clusters of about five or
        more members on average).
    selection_sample:
        Texts (seeded random subset) used to score each candidate k by silhouette; the chosen k
        is then fitted on everything. Keeps selection fast at 10,000 texts.
    k_rule:
        How the silhouette curve picks k: ``"knee"`` (default; the point of the curve farthest
        above the chord from its first to its last point, i.e. where extra clusters stop paying;
        the best score when the curve has no knee),
        ``"max"`` (the highest score) or ``"parsimony"`` (the smallest k within ``k_tolerance`` of
        the highest). Past the true number of modes the curve keeps creeping up as paraphrase
        groups split off, so ``"max"`` over-splits: on the synthetic test corpora "knee" measured
        NMI 0.94-1.0 where "max" measured 0.71-0.74.
    k_tolerance:
        Relative tolerance of the ``"parsimony"`` rule.
    lexical:
        Lexical features clustered alongside the embeddings (default :class:`LexicalFeatures`,
        TF-IDF + SVD); ``None`` clusters embeddings only.
    lexical_weight:
        Share of the clustering geometry given to lexical features (0 = embeddings only). The
        default 0.4 is measured: on the synthetic navigation logs (long texts, one cause sentence
        among many shared ones) NMI rises from 0.52 (embeddings only) to 0.83, while on the
        paraphrased synthetic reasons of the tests it stays at 0.94-1.0; at 0.5 and above the
        silhouette choice of k starts to over-split paraphrased reasons.
    outliers:
        Decides which texts are far from every cluster (default :class:`OutlierRule`, a robust
        fence on the cosine to the nearest centroid); they are left out of membership, names and
        centroids, and the threshold is kept for stage 3. ``None`` flags none.
    consensus:
        With k-means, the final partition (once k is chosen) is the consensus of this many
        k-means fits (:func:`~fmviz.offline.clusterers.consensus_kmeans`), which
        depends far less on the seed than one fit; 0 or 1 fits once.
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
        k_rule: str = "knee",
        k_tolerance: float = 0.1,
        lexical: LexicalFeatures | None = _DEFAULT,
        lexical_weight: float = 0.4,
        outliers: OutlierRule | None = _DEFAULT,
        consensus: int = 30,
        seed: int = 0,
    ) -> None:
        if not 0 <= lexical_weight <= 1:
            raise ValueError(f"lexical_weight must be in [0, 1], got {lexical_weight}")
        self.embedder = embedder if embedder is not None else Embedder()
        self.reducer = make_reducer(reducer, seed)
        self.clusterer_spec = clusterer
        self.factory, self.fixed = make_clusterer(clusterer)
        self.representation = (
            representation if representation is not None else KeyphraseRepresentation(seed=seed)
        )
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.selection_sample = selection_sample
        if k_rule not in K_RULES:
            raise ValueError(f"unknown k_rule {k_rule!r}: use one of {K_RULES}")
        self.k_rule = k_rule
        self.k_tolerance = k_tolerance
        self.lexical = LexicalFeatures(seed=seed) if lexical is _DEFAULT else lexical
        self.lexical_weight = lexical_weight
        self.outliers = OutlierRule() if outliers is _DEFAULT else outliers
        self.consensus = consensus if clusterer == "kmeans" else 0
        self.seed = seed

    def fit(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None = None,
        *,
        embeddings: np.ndarray | None = None,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
        groups: Sequence[object] | None = None,
        exclude: Sequence[bool] | None = None,
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
        groups:
            Optional source of each text (the reporting company). Each source writes in its own
            style, which embeddings pick up as strongly as content; the clustering features lose
            each source's mean and the directions that tell sources apart
            (:func:`~fmviz.offline.debias.remove_source_signal`) so that clusters follow what
            happened rather than who wrote. Centroids, names and assignment still use the plain
            embeddings.
        exclude:
            ``True`` for texts to leave out of clustering and flag as outliers from the start
            (reasons whose text is reporting boilerplate only, see
            :data:`fmviz.results.BOILERPLATE_ONLY`); ignored when it would leave nothing.

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
        held_out = np.zeros(n, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
        if held_out.shape != (n,):
            raise ValueError(f"{held_out.size} exclude flags for {n} texts")
        if held_out.all():  # nothing left to cluster: cluster everything rather than nothing
            held_out[:] = False
        keep = np.flatnonzero(~held_out)
        lo, hi = self._bounds(len(keep), min_clusters, max_clusters)
        features = self._features([texts[i] for i in keep], x[keep])
        kept_groups = None if groups is None else [groups[i] for i in keep]
        reduced, debiasing = remove_source_signal(features, kept_groups, seed=self.seed)
        # torch's and scikit-learn's OpenMP pools fight over cores once a model has run, which makes
        # many small k-means fits 10x slower; one thread is faster at these sizes
        with threadpool_limits(limits=1, user_api="openmp"):
            raw, chosen_k, curve = self._cluster(reduced, lo, hi)
        kept_labels, centroids = relabel_by_size(raw, x[keep])
        kept_outliers, threshold = self._outliers(x[keep], kept_labels, centroids)
        labels = np.argmax(x @ centroids.T, axis=1)  # held-out texts: their nearest cluster
        labels[keep] = kept_labels
        outliers = held_out.copy()
        outliers[keep] = kept_outliers
        named = np.where(outliers, -1, labels)  # outliers neither name nor centre a cluster
        labels, named, centroids = order_by_members(labels, named, centroids)
        centroids = member_centroids(x, named, len(centroids), fallback=centroids)
        descriptions = self.representation.describe(texts, named, x, centroids, self.embedder)
        clusters = []
        members: dict[str, list[str]] = {}
        for c, info in enumerate(descriptions):
            cid = f"C{c + 1}"
            member_ids = [ids[i] for i in np.flatnonzero(named == c)]
            members[cid] = member_ids
            clusters.append(
                Cluster(cid, info.name, info.description, list(info.keywords), len(member_ids) / n)
            )
        _dedupe_names(clusters)
        provenance = {
            "engine": "offline",
            "embedding_model": self.embedder.model_id,
            "reducer": repr(self.reducer),
            "lexical": None if self.lexical is None else repr(self.lexical),
            "lexical_weight": self.lexical_weight if self.lexical is not None else 0.0,
            "clusterer": describe_clusterer(self.clusterer_spec),
            "consensus_runs": self.consensus,
            "representation": getattr(self.representation, "params", lambda: repr(self.representation))(),
            "source_signal": debiasing,
            "k": len(clusters),
            "k_bounds": [lo, hi],
            "k_selection": {
                "metric": "silhouette (cosine)",
                "rule": self.k_rule,
                "applied": applied_rule(curve, self.k_rule),
                "sample": int(min(n, self.selection_sample)),
                "scores": {str(k): round(float(s), 4) for k, s in curve.items()},
                "chosen": chosen_k,
            },
            "outliers": {
                **(self.outliers.params() if self.outliers is not None else {"rule": "none"}),
                "threshold": None if threshold is None else round(threshold, 4),
                "flagged": int(outliers.sum()),
                "boilerplate_only": int(held_out.sum()),
            },
            "seed": self.seed,
            "n_reasons": n,
            "representatives": {
                f"C{c + 1}": [ids[i] for i in info.representatives] for c, info in enumerate(descriptions)
            },
        }
        cluster_set = ClusterSet(
            clusters,
            provenance,
            centroids={cid: [round(float(v), 6) for v in centroids[c]] for c, cid in enumerate(members)},
            embedding_model=self.embedder.model_id,
            membership={m: cid for cid, ms in members.items() for m in ms},
            # lets stage 3 recognise a member by id *and* unchanged text
            member_text_hash={i: text_hash(t) for i, t in zip(ids, texts, strict=True)},
        )
        return DiscoveryResult(cluster_set, labels, x, centroids, outliers)

    # -- internals ------------------------------------------------------------------------
    def _outliers(
        self, x: np.ndarray, labels: np.ndarray, centroids: np.ndarray
    ) -> tuple[np.ndarray, float | None]:
        if self.outliers is None or len(centroids) == 0:
            return np.zeros(len(labels), dtype=bool), None
        mask, threshold = self.outliers.flag(x, labels, centroids)
        if mask.all():  # nothing is typical: no outliers rather than no clusters
            return np.zeros(len(labels), dtype=bool), threshold
        return mask, threshold

    def _features(self, texts: list[str], x: np.ndarray) -> np.ndarray:
        """Reduced embeddings, joined with lexical features at ``lexical_weight`` when enabled."""
        if x.shape[0] <= 2:
            return x
        reduced = self.reducer.fit_transform(x)
        if self.lexical is None or self.lexical_weight <= 0:
            return reduced
        lexical = self.lexical.fit_transform(texts)
        if lexical is None:
            return reduced
        w = self.lexical_weight
        return np.hstack([np.sqrt(1 - w) * reduced, np.sqrt(w) * lexical]).astype(np.float32)

    def _bounds(self, n: int, lo: int | None, hi: int | None) -> tuple[int, int]:
        lo = lo if lo is not None else self.min_clusters
        hi = hi if hi is not None else self.max_clusters
        lo = max(1, lo if lo is not None else 2)
        hi = hi if hi is not None else max(lo, default_max_k(n))
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
            return absorb_noise(labels, x), None, {}
        if n < 3 or lo == hi:
            k = max(1, min(lo, n))
            return self._final_fit(x, k), k, {}
        ks = range(max(2, lo), hi + 1)
        curve = silhouette_curve(x, ks, self._fit_k, sample=self.selection_sample, seed=self.seed)
        if not curve:
            return self._fit_k(x, lo), lo, {}
        best = choose_k(curve, self.k_rule, self.k_tolerance, n=n)
        return self._final_fit(x, best), best, curve

    def _final_fit(self, x: np.ndarray, k: int) -> np.ndarray:
        if self.consensus > 1 and k > 1:
            return consensus_kmeans(x, k, self.consensus, self.seed)
        return self._fit_k(x, k)

    def _fit_k(self, x: np.ndarray, k: int) -> np.ndarray:
        if k <= 1:
            return np.zeros(x.shape[0], dtype=int)
        assert self.factory is not None
        return np.asarray(self.factory(k, self.seed).fit_predict(x))


def text_hash(text: str) -> str:
    """A short fingerprint of a clustered text (stored per member in the provenance)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _dedupe_names(clusters: list[Cluster]) -> None:
    seen: dict[str, int] = {}
    for cluster in clusters:
        key = cluster.name.lower()
        if key in seen:
            cluster.name = f"{cluster.name} ({cluster.id})"
        seen[key] = seen.get(key, 0) + 1
