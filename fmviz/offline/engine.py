"""The offline engine: all three pipeline stages with sentence embeddings, no LLM, no API key.

Stage 1 uses the text an episode already carries (a narrative or an expert's reason) after
stripping boilerplate (corpus-wide, and per source when the dataset names a group column);
stage 2 is :class:`~fmviz.offline.discovery.Discovery`; stage 3 is nearest-centroid assignment
with an outlier threshold (the paper's EA baseline for LLM-made cluster sets). It satisfies
:class:`fmviz.engine.Engine`, so any stage can be swapped for an LLM
engine's and the results look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from fmviz.episodes import Dataset
from fmviz.offline.assign import assign_nearest, reason_text
from fmviz.offline.cleaning import REPORT_COLUMNS, TextCleaner
from fmviz.offline.discovery import ClustererFactory, Discovery, Reducer, Representation
from fmviz.offline.embeddings import Embedder
from fmviz.offline.reducers import MAP_METHODS, project_2d
from fmviz.offline.static import make_embedder
from fmviz.results import BOILERPLATE_ONLY, Assignments, ClusterSet, Reason, Reasons, Split

__all__ = ["NO_TEXT_HELP", "OfflineEngine"]

#: What to do when the offline engine has nothing to read: run stage 1 with a model instead.
NO_TEXT_HELP = (
    "the offline engine needs text it can read (an episode's `narrative` or `expert_reason`), and no "
    "episode has any. To infer failure reasons from the recordings themselves, use a model for stage 1:\n"
    "  - Gemini:  export GEMINI_API_KEY=...  then  --reasons gemini:gemini-2.5-pro\n"
    "  - OpenAI:  export OPENAI_API_KEY=...  then  --reasons openai:o4-mini\n"
    "  - a local OpenAI-compatible server (Ollama, vLLM, llama.cpp):  "
    "--reasons openai:MODEL --base-url http://localhost:11434/v1"
)

_DEFAULT_CLEANER: Any = object()


class OfflineEngine:
    """Run every stage offline with a sentence-transformers model.

    Parameters
    ----------
    embedding_model:
        sentence-transformers model name or folder; ``None`` is the bundled all-MiniLM-L6-v2;
        ``"static-minilm"`` is the static model distilled from it (:mod:`fmviz.offline.static`),
        about 100x faster on long narratives and measured better on real ones
        (``benchmarks/bench_real_narratives.py``).
    cleaner:
        A :class:`TextCleaner` (default: one with default settings, fitted per dataset), or
        ``None``/``False`` to use the episodes' text as is.
    outlier_threshold:
        Cosine similarity below which an episode is an ``outlier`` in stage 3; ``None`` uses the
        defaults of :func:`~fmviz.offline.assign.assign_nearest`.
    seed:
        Makes discovery and the embedding map reproducible.
    min_clusters, max_clusters:
        Default bounds on the number of failure modes (per-call arguments override them).
    cache_dir:
        Folder of the embedding cache (default ``$FMVIZ_CACHE_DIR`` or ``~/.cache/fmviz``).
    reducer, clusterer, representation:
        Swappable discovery parts, see :class:`~fmviz.offline.discovery.Discovery`.
    device:
        Torch device for the embedding model.
    embedder:
        A ready :class:`Embedder` (overrides ``embedding_model``, ``cache_dir`` and ``device``).
    group_column:
        Metadata column naming each episode's source (e.g. ``"Reporting Entity"``), whose values
        the cleaner uses to learn per-source boilerplate and remove source names. ``None``
        (default) uses the dataset's :attr:`~fmviz.episodes.Dataset.group_column`; ``False``
        cleans without groups.

    Examples
    --------
    >>> engine = OfflineEngine()  # doctest: +SKIP
    >>> reasons = engine.infer_reasons(dataset)  # doctest: +SKIP
    >>> clusters = engine.discover_clusters(reasons)  # doctest: +SKIP
    >>> engine.assign(reasons, clusters).to_frame()  # doctest: +SKIP
    """

    spec = "offline"

    def __init__(
        self,
        embedding_model: str | Path | None = None,
        *,
        cleaner: TextCleaner | bool | None = _DEFAULT_CLEANER,
        outlier_threshold: float | None = None,
        seed: int = 0,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
        cache_dir: str | Path | None = None,
        reducer: str | Reducer | None = "pca",
        clusterer: str | ClustererFactory | Any = "kmeans",
        representation: Representation | None = None,
        device: str | None = None,
        embedder: Embedder | None = None,
        group_column: str | Literal[False] | None = None,
    ) -> None:
        self.embedder = embedder or make_embedder(embedding_model, cache_dir=cache_dir, device=device)
        if cleaner is _DEFAULT_CLEANER or cleaner is True:
            cleaner = TextCleaner()
        self.cleaner: TextCleaner | None = cleaner or None
        self.group_column = group_column
        #: Each episode's source from the last :meth:`infer_reasons` (episode id -> group).
        self._sources: dict[str, object] = {}
        self.outlier_threshold = outlier_threshold
        self.seed = seed
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.discovery = Discovery(
            self.embedder,
            reducer=reducer,
            clusterer=clusterer,
            representation=representation,
            seed=seed,
        )

    def __repr__(self) -> str:
        return f"OfflineEngine(embedding_model={self.embedder.model!r}, seed={self.seed})"

    # -- stage 1 --------------------------------------------------------------------------
    def infer_reasons(self, dataset: Dataset) -> Reasons:
        """Reasons from the text episodes carry (narrative, else expert reason), cleaned.

        Episodes without text are listed in ``Reasons.errors``.

        Raises
        ------
        ValueError
            If no episode has any text, with instructions for running stage 1 with a model.
        """
        texts = {episode.id: episode.known_text for episode in dataset}
        readable = {eid: text for eid, text in texts.items() if text}
        if not readable:
            raise ValueError(f"dataset {dataset.name!r}: {NO_TEXT_HELP}")
        cleaned = dict(readable)
        groups = self._groups(dataset, list(readable))
        # remembered for discovery, which centres each source's style away (see Discovery.fit)
        self._sources = dict(zip(readable, groups, strict=True)) if groups is not None else {}
        template_only: set[str] = set()
        if self.cleaner is not None:
            texts_out = self.cleaner.fit_transform(list(readable.values()), groups)
            cleaned = dict(zip(readable, texts_out, strict=True))
            flags = self.cleaner.boilerplate_only(list(readable.values()), groups)
            template_only = {eid for eid, flag in zip(readable, flags, strict=True) if flag}
        reasons, errors = [], {}
        for episode in dataset:
            original = texts[episode.id]
            if not original:
                errors[episode.id] = (
                    f"episode {episode.id!r} has no narrative or expert_reason for the offline engine; "
                    "give it text or run stage 1 with a model (--reasons gemini:... or openai:...)"
                )
                continue
            text = cleaned[episode.id]
            if not text.strip():
                errors[episode.id] = (
                    f"episode {episode.id!r}: its text is empty once boilerplate and masked spans are "
                    "removed (see cleaning_report())"
                )
                continue
            from_narrative = bool(episode.narrative and episode.narrative.strip())
            reasons.append(
                Reason(
                    episode_id=episode.id,
                    trajectory=text if from_narrative else "",
                    failure_reason=text,
                    raw=original,
                    engine="offline:narrative" if from_narrative else "offline:expert_reason",
                    # discovery leaves such a reason out and stage 3 calls it an outlier
                    provenance={BOILERPLATE_ONLY: True} if episode.id in template_only else {},
                )
            )
        return Reasons(reasons, errors)

    def _groups(self, dataset: Dataset, ids: list[str]) -> list[object] | None:
        """Each episode's source for the cleaner, or ``None`` when cleaning without groups."""
        column = self.group_column if self.group_column is not None else dataset.group_column
        if not column:
            return None
        return [dataset[i].metadata.get(column) for i in ids]

    def cleaning_report(self) -> pd.DataFrame:
        """What the cleaner removed in the last :meth:`infer_reasons` (empty when disabled)."""
        if self.cleaner is None or not self.cleaner.fitted_:
            return pd.DataFrame(columns=REPORT_COLUMNS)
        return self.cleaner.report()

    # -- stage 2 --------------------------------------------------------------------------
    def discover_clusters(
        self,
        reasons: Reasons,
        *,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
    ) -> ClusterSet:
        """Failure modes by embedding, reduction, clustering and keyphrases.

        The number of clusters is chosen by silhouette within ``[min_clusters, max_clusters]``.
        """
        reasons = list(reasons)
        if not reasons:
            raise ValueError("no reasons to cluster: stage 1 produced none (see Reasons.errors)")
        sources = [self._sources.get(r.episode_id) for r in reasons]
        result = self.discovery.fit(
            [reason_text(r) for r in reasons],
            [r.episode_id for r in reasons],
            groups=sources if any(s is not None for s in sources) else None,
            exclude=[r.boilerplate_only for r in reasons],
            min_clusters=min_clusters if min_clusters is not None else self.min_clusters,
            max_clusters=max_clusters if max_clusters is not None else self.max_clusters,
        )
        result.clusters.provenance["text_field"] = "failure_reason"
        return result.clusters

    # -- stage 3 --------------------------------------------------------------------------
    def assign(self, reasons: Reasons, clusters: ClusterSet) -> Assignments:
        """Nearest cluster by cosine similarity, ``outlier`` below the threshold."""
        return assign_nearest(reasons, clusters, embedder=self.embedder, threshold=self.outlier_threshold)

    # -- cluster edits --------------------------------------------------------------------
    def split_cluster(
        self, reasons: Reasons, clusters: ClusterSet, assignments: Assignments | None, cluster_id: str, n: int
    ) -> Split:
        """Propose a split of ``cluster_id`` into ``n`` (see :func:`fmviz.offline.split.split_cluster`)."""
        from fmviz.offline.split import split_cluster

        return split_cluster(
            reasons,
            clusters,
            assignments,
            cluster_id,
            n,
            embedder=self.embedder,
            representation=self.discovery.representation,
            seed=self.seed,
        )

    def add_scope(
        self,
        reasons: Reasons,
        clusters: ClusterSet,
        assignments: Assignments,
        name: str,
        description: str,
        keywords: Sequence[str],
    ) -> list[str]:
        """Episodes a new cluster should be re-asked about (see :func:`fmviz.offline.split.add_scope`)."""
        from fmviz.offline.split import add_scope

        return add_scope(self.embedder, reasons, clusters, assignments, name, description, keywords)

    # -- helpers for views ----------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings of ``texts`` (cached)."""
        return self.embedder.embed(texts)

    def embedding_map(
        self,
        reasons: Reasons,
        clusters: ClusterSet | None = None,
        assignments: Assignments | None = None,
        *,
        method: str = "tsne",
    ) -> pd.DataFrame:
        """2-D coordinates of every reason for the report's embedding map.

        Parameters
        ----------
        reasons, clusters, assignments:
            What to place and how to colour it.
        method:
            One of :data:`~fmviz.offline.reducers.MAP_METHODS`: ``"tsne"`` (landmark t-SNE, fast
            at any size), ``"umap"`` (cosine, seeded; exact, slower) or ``"pca"`` (instant).

        Returns
        -------
        pandas.DataFrame
            Columns ``x``, ``y``, ``episode_id``, ``cluster_id``, ``cluster_name``, ``text``;
            ``cluster_id`` comes from ``assignments``, else from the cluster set's members.
        """
        reasons = list(reasons)
        columns = ["x", "y", "episode_id", "cluster_id", "cluster_name", "text"]
        if not reasons:
            return pd.DataFrame(columns=columns)
        texts = [reason_text(r) for r in reasons]
        if method not in MAP_METHODS:
            raise ValueError(f"unknown map method {method!r}: use one of {', '.join(MAP_METHODS)}")
        xy = project_2d(self.embed(texts), self.seed, method)
        labels: dict[str, str] = {}
        if assignments is not None:
            labels = assignments.labels()
        elif clusters is not None:
            labels = dict(clusters.membership)
        names = clusters.names() if clusters is not None else {}
        ids = [r.episode_id for r in reasons]
        cluster_ids = [labels.get(i, "") for i in ids]
        return pd.DataFrame(
            {
                "x": xy[:, 0],
                "y": xy[:, 1],
                "episode_id": ids,
                "cluster_id": cluster_ids,
                "cluster_name": [names.get(c, c) for c in cluster_ids],
                "text": texts,
            },
            columns=columns,
        )
