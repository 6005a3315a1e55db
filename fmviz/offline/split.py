"""Offline cluster edits: split one failure mode by k-means on its members, and score new clusters.

A split is k-means (seeded) on the members' reason embeddings, named by the engine's own
representation (class-based TF-IDF over the parts, so each part is named by what tells it
from its siblings), and returned as a :class:`~fmviz.results.Split` operation carrying the
parts' centroids: logged and undoable like a hand split. :func:`add_scope` says which episodes
a new, hand-written cluster should be re-asked about: those closer to it than to their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans

from fmviz.offline.assign import cluster_texts, cluster_vectors
from fmviz.offline.discovery import Representation
from fmviz.offline.embeddings import Embedder, unit_rows
from fmviz.results import OUTLIER, Assignments, Cluster, ClusterSet, Reasons, Split
from fmviz.results.edits import members_to_split

__all__ = ["add_scope", "split_cluster"]


def split_cluster(
    reasons: Reasons,
    clusters: ClusterSet,
    assignments: Assignments | None,
    cluster_id: str,
    n: int,
    *,
    embedder: Embedder,
    representation: Representation,
    seed: int = 0,
) -> Split:
    """Split ``cluster_id`` into ``n`` parts by k-means on its members' embeddings (not applied)."""
    members = members_to_split(cluster_id, clusters, assignments, reasons, n)
    texts = [reasons[e].text for e in members]
    x = embedder.embed(texts)
    raw = KMeans(n_clusters=n, n_init=10, random_state=seed).fit_predict(x)
    # parts largest first, like discovery's C1..Ck
    order = sorted(range(n), key=lambda c: (-int((raw == c).sum()), int(np.flatnonzero(raw == c)[0])))
    labels = np.array([order.index(c) for c in raw])
    centroids = unit_rows(np.stack([x[labels == c].mean(axis=0) for c in range(n)]))
    described = representation.describe(texts, labels, x, centroids, embedder)
    return Split(
        cluster_id,
        tuple(tuple(members[i] for i in np.flatnonzero(labels == c)) for c in range(n)),
        names=tuple(d.name for d in described),
        descriptions=tuple(d.description for d in described),
        keywords=tuple(tuple(d.keywords) for d in described),
        centroids=tuple(tuple(round(float(v), 6) for v in row) for row in centroids),
        by="offline",
    )


def add_scope(
    embedder: Embedder,
    reasons: Reasons,
    clusters: ClusterSet,
    assignments: Assignments,
    name: str,
    description: str,
    keywords: Sequence[str],
) -> list[str]:
    """Episodes whose current cluster scores below a new cluster (``name``, ``description``).

    Pinned, pending and outlier episodes are left out (pins never move; outliers and pending
    ones are re-asked anyway).
    """
    candidates = [
        a.episode_id
        for a in assignments
        if not (a.pinned or a.pending or a.cluster_id == OUTLIER)
        and a.episode_id in reasons
        and a.cluster_id in clusters
    ]
    if not candidates or not len(clusters):
        return []
    x = embedder.embed([reasons[e].text for e in candidates])
    own_vectors, _ = cluster_vectors(clusters, embedder, dict(zip(candidates, x, strict=True)))
    index = {cid: i for i, cid in enumerate(clusters.ids)}
    new = embedder.embed(cluster_texts(ClusterSet([Cluster("new", name, description, list(keywords))])))[0]
    own = np.array([x[k] @ own_vectors[index[assignments[e].cluster_id]] for k, e in enumerate(candidates)])
    return [e for e, mine, theirs in zip(candidates, own, x @ new, strict=True) if theirs > mine]
