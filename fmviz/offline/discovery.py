"""Offline failure-mode discovery: embeddings -> reduction -> clustering -> representation.

The offline counterpart of the paper's stage 2. Like BERTopic, it is a chain of swappable parts
(embedder, reducer, clusterer, representation), each with a default that is fast and
deterministic: PCA to a few dozen dimensions joined with TF-IDF/SVD word features, k-means with
the number of clusters at the knee of the silhouette curve on a seeded subsample, and c-TF-IDF
keyphrases for names. The result is an ordinary
:class:`fmviz.results.ClusterSet` whose provenance records every choice, the silhouette curve,
the centroids (so stage 3 can assign new reasons) and the members.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from fmviz.offline.embeddings import Embedder, unit_rows
from fmviz.offline.keyphrases import ClusterDescription, KeyphraseRepresentation
from fmviz.results import Cluster, ClusterSet

_DEFAULT: Any = object()

__all__ = [
    "Discovery",
    "DiscoveryResult",
    "LexicalFeatures",
    "PCAReducer",
    "UMAPReducer",
    "choose_k",
    "make_clusterer",
    "make_reducer",
    "text_hash",
]


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


class LexicalFeatures:
    """TF-IDF over words and word pairs, reduced by truncated SVD (LSA) and row-normalised.

    Sentence embeddings of long, log-like texts are dominated by what every text shares
    (speeds, lighting, boilerplate), while the cause is often one distinctive word ("glass",
    "mast"); LSA features keep that signal. Discovery clusters embeddings and these together.
    """

    def __init__(self, n_components: int = 32, ngram_range: tuple[int, int] = (1, 2), seed: int = 0) -> None:
        self.n_components = n_components
        self.ngram_range = ngram_range
        self.seed = seed

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray | None:
        """``(n, c)`` features, or ``None`` when the texts have too little vocabulary."""
        vectorizer = TfidfVectorizer(
            stop_words="english",
            sublinear_tf=True,
            min_df=2 if len(texts) >= 20 else 1,
            ngram_range=self.ngram_range,
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
            dtype=np.float32,
        )
        try:
            tfidf = vectorizer.fit_transform(texts)
        except ValueError:  # empty vocabulary
            return None
        n_components = min(self.n_components, tfidf.shape[1] - 1, len(texts) - 1)
        if n_components < 2:
            return None
        return unit_rows(TruncatedSVD(n_components=n_components, random_state=self.seed).fit_transform(tfidf))

    def __repr__(self) -> str:
        return f"LexicalFeatures(tfidf{self.ngram_range}+svd{self.n_components})"


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
        reduced = self._features(texts, x)
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
            "lexical": None if self.lexical is None else repr(self.lexical),
            "lexical_weight": self.lexical_weight if self.lexical is not None else 0.0,
            "clusterer": _describe_clusterer(self.clusterer_spec),
            "representation": getattr(self.representation, "params", lambda: repr(self.representation))(),
            "k": len(clusters),
            "k_bounds": [lo, hi],
            "k_selection": {
                "metric": "silhouette (cosine)",
                "rule": self.k_rule,
                "sample": int(min(n, self.selection_sample)),
                "scores": {str(k): round(float(s), 4) for k, s in curve.items()},
                "chosen": chosen_k,
            },
            "seed": self.seed,
            "n_reasons": n,
            "centroids": {cid: [round(float(v), 6) for v in centroids[c]] for c, cid in enumerate(members)},
            "members": members,
            # lets stage 3 recognise a member by id *and* unchanged text
            "member_text_hash": {i: text_hash(t) for i, t in zip(ids, texts, strict=True)},
            "representatives": {
                f"C{c + 1}": [ids[i] for i in info.representatives] for c, info in enumerate(descriptions)
            },
        }
        return DiscoveryResult(ClusterSet(clusters, provenance), labels, x, centroids)

    # -- internals ------------------------------------------------------------------------
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
        best = choose_k(curve, self.k_rule, self.k_tolerance)
        return self._fit_k(x, best), best, curve

    def _fit_k(self, x: np.ndarray, k: int) -> np.ndarray:
        if k <= 1:
            return np.zeros(x.shape[0], dtype=int)
        assert self.factory is not None
        return np.asarray(self.factory(k, self.seed).fit_predict(x))


K_RULES = ("knee", "max", "parsimony")


def choose_k(curve: dict[int, float], rule: str = "knee", tolerance: float = 0.1) -> int:
    """Pick k from a ``{k: silhouette}`` curve (see ``Discovery(k_rule=...)``)."""
    ks = sorted(curve)
    scores = np.array([curve[k] for k in ks])
    if rule == "max" or len(ks) < 3:
        return ks[int(np.argmax(scores))]
    if rule == "parsimony":
        top = scores.max()
        return min(k for k in ks if curve[k] >= top - tolerance * abs(top))
    span = scores.max() - scores.min()
    if span <= 0:
        return ks[0]
    x = (np.array(ks) - ks[0]) / (ks[-1] - ks[0])
    y = (scores - scores.min()) / span
    bulge = y - (y[0] + (y[-1] - y[0]) * x)
    if bulge.max() < 0.05:  # no knee (a straight or convex curve): take the best score
        return ks[int(np.argmax(scores))]
    return ks[int(np.argmax(bulge))]


def text_hash(text: str) -> str:
    """A short fingerprint of a clustered text (stored per member in the provenance)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _relabel_by_size(raw: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels 0..k-1 ordered by size (ties: first appearance) and normalised centroids."""
    values, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], first[i]))
    mapping = {values[i]: rank for rank, i in enumerate(order)}
    labels = np.array([mapping[v] for v in raw], dtype=int)
    centroids = np.stack([x[labels == c].mean(axis=0) for c in range(len(values))])
    return labels, unit_rows(centroids)


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
