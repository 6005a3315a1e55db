"""Offline assignment: each reason to its nearest cluster by cosine similarity, or ``outlier``.

This is stage 3 without an LLM, and also the paper's EA (embedding assigner) baseline. Clusters
found offline carry their centroids and discovery membership as typed fields, so a reason is
compared with the mean of the cluster's members (and a reason that discovery itself clustered
keeps its cluster). Cluster sets written by an LLM have no centroids, so each cluster is
embedded as ``"name: description. Keywords: ..."`` and compared with that. A reason whose best
similarity is below a threshold becomes ``outlier``. :func:`random_assign` is the paper's RA baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fmviz.offline.discovery import text_hash
from fmviz.offline.embeddings import Embedder, unit_rows
from fmviz.results import OUTLIER, Assignment, Assignments, ClusterSet, Reason, Reasons

__all__ = [
    "DEFAULT_CENTROID_THRESHOLD",
    "DEFAULT_DESCRIPTION_THRESHOLD",
    "assign_nearest",
    "cluster_texts",
    "cluster_vectors",
    "random_assign",
    "reason_text",
]

#: Below this cosine to the nearest centroid a reason is an outlier (members of the synthetic
#: navigation test corpus sit at 0.5-0.9 from their centroid, unrelated text below 0.2).
DEFAULT_CENTROID_THRESHOLD = 0.3
#: Reasons are less similar to a one-line cluster description than to a centroid of reasons
#: (synthetic test reasons: 0.27-0.66 to their own description, unrelated text below 0.1).
DEFAULT_DESCRIPTION_THRESHOLD = 0.2


def reason_text(reason: Reason) -> str:
    """The text embedded for a reason (:attr:`fmviz.results.Reason.text`)."""
    return reason.text


def cluster_texts(clusters: ClusterSet) -> list[str]:
    """One text per cluster for embedding: ``"name: description. Keywords: a, b."``."""
    out = []
    for cluster in clusters:
        text = cluster.name.strip()
        if cluster.description.strip():
            text += f": {cluster.description.strip().rstrip('.')}."
        if cluster.keywords:
            text += f" Keywords: {', '.join(cluster.keywords)}."
        out.append(text)
    return out


def cluster_vectors(
    clusters: ClusterSet,
    embedder: Embedder,
    member_vectors: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, str]:
    """``(k, d)`` normalised cluster vectors and where they came from.

    A set made with the same embedding model uses its stored centroids; a cluster an edit made
    (a split part without a centroid, a merged pair) uses the mean of its members' vectors in
    ``member_vectors`` (episode id -> vector), and one with no member there its description.
    Sets written by an LLM (or with another model) embed every cluster's text: the EA baseline.

    Returns
    -------
    tuple
        The vectors and ``"centroids"`` or ``"descriptions"`` (which threshold applies).
    """
    if not clusters.centroids or clusters.embedding_model != embedder.model_id:
        return embedder.embed(cluster_texts(clusters)), "descriptions"
    member_vectors = member_vectors or {}
    rows: list[np.ndarray | None] = []
    for cluster in clusters:
        if cluster.id in clusters.centroids:
            rows.append(np.asarray(clusters.centroids[cluster.id], dtype=np.float32))
            continue
        found = [member_vectors[m] for m in clusters.members(cluster.id) if m in member_vectors]
        rows.append(np.mean(found, axis=0) if found else None)
    missing = [i for i, row in enumerate(rows) if row is None]
    if missing:
        texts = cluster_texts(clusters)
        embedded = embedder.embed([texts[i] for i in missing])
        for i, vector in zip(missing, embedded, strict=True):
            rows[i] = vector
    return unit_rows(np.stack([np.asarray(r, dtype=np.float32) for r in rows])), "centroids"


def assign_nearest(
    reasons: Reasons | Sequence[Reason],
    clusters: ClusterSet,
    *,
    embedder: Embedder | None = None,
    threshold: float | None = None,
    embeddings: np.ndarray | None = None,
    use_members: bool = True,
) -> Assignments:
    """Assign each reason to the most similar cluster, or ``outlier`` below ``threshold``.

    Parameters
    ----------
    reasons:
        Stage-1 reasons; their :func:`reason_text` is embedded.
    clusters:
        The failure modes (offline-discovered or LLM-made).
    embedder:
        Embeds reasons and, for sets without centroids, cluster texts (default: bundled MiniLM).
    threshold:
        Minimum cosine similarity to the nearest cluster; ``None`` picks
        :data:`DEFAULT_CENTROID_THRESHOLD` or :data:`DEFAULT_DESCRIPTION_THRESHOLD` by source.
    embeddings:
        Precomputed normalised reason embeddings, one row per reason.
    use_members:
        A reason that offline discovery clustered (same episode id, same text) keeps the cluster
        it was found in, since discovery also used lexical features that the centroids lack;
        ``False`` assigns every reason by nearest vector (the pure EA baseline). A reason whose
        text is reporting boilerplate only (:attr:`~fmviz.results.Reason.boilerplate_only`) is
        an outlier either way.

    Returns
    -------
    Assignments
        ``score`` is the cosine similarity to the chosen (or nearest) cluster.
    """
    reasons = list(reasons)
    if len(clusters) == 0:
        raise ValueError("cannot assign to an empty cluster set")
    embedder = embedder if embedder is not None else Embedder()
    if not reasons:
        return Assignments([], cluster_set_version=clusters.version)
    x = embedder.embed([reason_text(r) for r in reasons]) if embeddings is None else embeddings
    x = np.asarray(x, dtype=np.float32)
    own = {r.episode_id: row for r, row in zip(reasons, x, strict=False)}
    vectors, source = cluster_vectors(clusters, embedder, own)
    if threshold is None:
        threshold = _default_threshold(clusters, source)
    if x.shape != (len(reasons), vectors.shape[1]):
        raise ValueError(
            f"embeddings of shape {x.shape} do not match {len(reasons)} reasons x {vectors.shape[1]}"
        )
    similarity = x @ vectors.T
    best = np.argmax(similarity, axis=1)
    ids = clusters.ids
    known = _members(clusters) if use_members else {}
    out = []
    for reason, index, row in zip(reasons, best, similarity, strict=True):
        member_of = known.get((reason.episode_id, text_hash(reason_text(reason))))
        if member_of is not None:
            index = ids.index(member_of)
        score = float(row[index])
        chosen = ids[int(index)]
        if reason.boilerplate_only:
            why = f"its text is reporting boilerplate only, no failure described (nearest {chosen})"
            out.append(Assignment(reason.episode_id, OUTLIER, why, score))
        elif score < threshold:
            why = f"no cluster reaches cos {threshold:.2f} (nearest {chosen}, cos {score:.2f})"
            out.append(Assignment(reason.episode_id, OUTLIER, why, score))
        elif member_of is not None:
            why = f"member of {chosen} at discovery (cos {score:.2f})"
            out.append(Assignment(reason.episode_id, chosen, why, score))
        else:
            out.append(Assignment(reason.episode_id, chosen, f"nearest to {chosen} (cos {score:.2f})", score))
    return Assignments(out, cluster_set_version=clusters.version)


def _default_threshold(clusters: ClusterSet, source: str) -> float:
    """The outlier threshold discovery learnt for this set, else the fixed default for ``source``."""
    if source != "centroids":
        return DEFAULT_DESCRIPTION_THRESHOLD
    learnt = (clusters.provenance.get("outliers") or {}).get("threshold")
    return float(learnt) if learnt is not None else DEFAULT_CENTROID_THRESHOLD


def _members(clusters: ClusterSet) -> dict[tuple[str, str], str]:
    """``(episode id, text hash) -> cluster id`` for members recorded by offline discovery."""
    valid = set(clusters.ids)
    hashes = clusters.member_text_hash
    return {
        (episode_id, hashes[episode_id]): cid
        for episode_id, cid in clusters.membership.items()
        if cid in valid and episode_id in hashes
    }


def random_assign(reasons: Reasons | Sequence[Reason], clusters: ClusterSet, seed: int = 0) -> Assignments:
    """The RA baseline: each reason to a uniformly random cluster (seeded)."""
    if len(clusters) == 0:
        raise ValueError("cannot assign to an empty cluster set")
    reasons = list(reasons)
    rng = np.random.default_rng(seed)
    ids = clusters.ids
    picks = rng.integers(0, len(ids), size=len(reasons))
    return Assignments(
        [
            Assignment(r.episode_id, ids[int(i)], "random baseline (RA)", None)
            for r, i in zip(reasons, picks, strict=True)
        ],
        cluster_set_version=clusters.version,
    )
