"""Stability: do the failure modes survive a different prompt, seed or input order?

A taxonomy that changes when the reasons are shuffled is not one an engineer can act on. Two
views, each as ARI between partitions of the same reasons:

* :func:`ensemble_stability`: the prompt-ensemble members of an LLM cluster set (the original
  prompt and its paraphrases, ``provenance["members"]`` as written by
  :mod:`fmviz.stages.clusters`) next to the aggregated set. LLM members name clusters but do not
  list episodes, so each member's clusters partition the reasons by nearest cluster embedding
  (the EA rule, no outlier threshold, so every reason lands somewhere); the aggregate uses the
  run's own assignments when given.
* :func:`rerun_stability`: the clustering rerun with other seeds and shuffled input orders
  (for the offline engine or any ``discover`` callable), each compared with the reference run.

ARI is symmetric and corrected for chance: 1 is the same partition, about 0 is chance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from fmviz.results import Assignments, Cluster, ClusterSet, Reasons

if TYPE_CHECKING:
    from fmviz.offline.embeddings import Embedder

__all__ = ["ensemble_stability", "pairwise_ari", "partition_from_members", "rerun_stability"]


def pairwise_ari(labelings: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """Square matrix of ARI between every two labelings, over the ids they share.

    Examples
    --------
    >>> m = pairwise_ari({"a": {"1": "x", "2": "x", "3": "y"}, "b": {"1": "p", "2": "p", "3": "q"}})
    >>> float(m.loc["a", "b"])
    1.0
    """
    names = list(labelings)
    matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names, dtype=float)
    for a, b in combinations(names, 2):
        shared = [i for i in labelings[a] if i in labelings[b]]
        value = (
            float(adjusted_rand_score([labelings[a][i] for i in shared], [labelings[b][i] for i in shared]))
            if shared
            else float("nan")
        )
        matrix.loc[a, b] = matrix.loc[b, a] = value
    return matrix


def partition_from_members(clusters: ClusterSet) -> dict[str, str] | None:
    """``{episode id: cluster id}`` as found at discovery, when the set records it.

    Offline discovery and the BERTopic baselines record it (``ClusterSet.membership``); LLM cluster
    sets do not (their ``provenance["members"]`` are ensemble records), and ``None`` is returned.
    """
    if clusters.membership:
        return dict(clusters.membership)
    members = clusters.provenance.get("members")  # sets written before membership was a field
    if isinstance(members, dict):
        return {str(e): str(cid) for cid, ids in members.items() if isinstance(ids, list) for e in ids}
    return None


def _member_cluster_set(index: int, record: Mapping[str, Any]) -> ClusterSet | None:
    answer = record.get("clusters")
    if not isinstance(answer, dict) or not answer.get("clusters"):
        return None
    clusters = [
        Cluster(
            f"M{index}C{j}",
            str(c.get("name", "")),
            str(c.get("description", "")),
            [str(k) for k in c.get("keywords", []) or []],
            float(c.get("frequency", 0.0) or 0.0),
        )
        for j, c in enumerate(answer["clusters"], start=1)
    ]
    return ClusterSet(clusters, {"engine": "ensemble member"})


def ensemble_stability(
    reasons: Reasons,
    clusters: ClusterSet,
    *,
    assignments: Assignments | None = None,
    embedder: Embedder | None = None,
) -> pd.DataFrame:
    """Pairwise ARI between the ensemble members' clusterings and the aggregated cluster set.

    Parameters
    ----------
    reasons:
        The reasons that were clustered.
    clusters:
        An LLM cluster set with ``provenance["members"]`` (a list of member records).
    assignments:
        The run's assignments to the aggregated set (default: nearest cluster embedding).
    embedder:
        For the nearest-cluster partitions (default: the bundled MiniLM).

    Returns
    -------
    pandas.DataFrame
        Square ARI matrix over ``member 0 (original prompt)``, ``member 1`` ... and
        ``aggregate``; empty when the set has no ensemble (e.g. offline clusters).

    Examples
    --------
    >>> ensemble_stability(result.reasons, result.clusters, assignments=result.assignments)  # doctest: +SKIP
    """
    from fmviz.offline.assign import assign_nearest
    from fmviz.offline.embeddings import Embedder

    records = clusters.provenance.get("members")
    if not isinstance(records, list) or not records:
        return pd.DataFrame()
    embedder = embedder if embedder is not None else Embedder()
    labelings: dict[str, dict[str, str]] = {}
    for record in records:
        index = int(record.get("index", len(labelings)))
        member = _member_cluster_set(index, record)
        if member is None:
            continue
        name = f"member {index} (original prompt)" if index == 0 else f"member {index}"
        labelings[name] = assign_nearest(
            reasons, member, embedder=embedder, threshold=-1.0, use_members=False
        ).labels()
    if assignments is None:
        assignments = assign_nearest(reasons, clusters, embedder=embedder, threshold=-1.0, use_members=False)
    labelings["aggregate"] = assignments.labels()
    return pairwise_ari(labelings)


def rerun_stability(
    reasons: Reasons,
    discover: Callable[[Reasons, int], ClusterSet],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    orders: int = 2,
    assign: Callable[[Reasons, ClusterSet], Assignments] | None = None,
    saved: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Rerun clustering with other seeds and shuffled input orders; ARI of each with the reference.

    Parameters
    ----------
    reasons:
        The reasons to cluster.
    discover:
        ``(reasons, seed) -> ClusterSet``, e.g.
        ``lambda r, s: OfflineEngine(seed=s).discover_clusters(r)``.
    seeds:
        Seeds to run in the original order; the first is the reference run.
    orders:
        Extra runs with the first seed on seeded shuffles of the reasons.
    assign:
        ``(reasons, clusters) -> Assignments`` for cluster sets that do not list their members.
    saved:
        The partition of the run as saved (``{episode id: cluster id}``); adds ``ari_vs_saved``,
        which shows when the engine has changed since the run was made.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run``, ``seed``, ``order`` (``original`` or ``shuffle N``),
        ``n_clusters`` and ``ari_vs_reference`` (1.0 for the reference itself).

    Examples
    --------
    >>> from fmviz.offline import OfflineEngine
    >>> rerun_stability(reasons, lambda r, s: OfflineEngine(seed=s).discover_clusters(r))  # doctest: +SKIP
    """
    if not seeds:
        raise ValueError("rerun_stability needs at least one seed")
    items = list(reasons)
    runs: list[tuple[str, int, str, Reasons]] = [(f"seed {s}", int(s), "original", reasons) for s in seeds]
    for k in range(1, orders + 1):
        order = np.random.default_rng([int(seeds[0]), k]).permutation(len(items))
        shuffled = Reasons([items[i] for i in order])
        runs.append((f"seed {seeds[0]}, shuffle {k}", int(seeds[0]), f"shuffle {k}", shuffled))
    rows, labelings = [], {}
    for name, seed, order_name, batch in runs:
        clusters = discover(batch, seed)
        labels = partition_from_members(clusters)
        if labels is None:
            if assign is None:
                raise ValueError(f"run {name!r}: the cluster set does not list its members; pass assign=")
            labels = assign(batch, clusters).labels()
        labelings[name] = labels
        rows.append({"run": name, "seed": seed, "order": order_name, "n_clusters": len(clusters)})
    matrix = pairwise_ari(labelings)
    reference = runs[0][0]
    frame = pd.DataFrame(rows)
    frame["ari_vs_reference"] = [float(matrix.loc[reference, r["run"]]) for r in rows]
    if saved is not None:
        with_saved = pairwise_ari({"saved": dict(saved), **labelings})
        frame["ari_vs_saved"] = [float(with_saved.loc["saved", r["run"]]) for r in rows]
    frame.attrs["pairwise"] = matrix
    return frame
