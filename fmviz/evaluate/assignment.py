"""Assignment quality against labelled episodes, with the paper's baselines in the same call.

The paper's Fig. 5 compares the weighted F1 of its assignments with an embedding assigner (EA:
each reason to the cluster it is most cosine-similar to) and random assignment (RA). Cluster ids
and expert labels live in different vocabularies, so weighted F1 needs a rule that turns a
cluster into a label. Two are reported, and both are stated in every table:

* ``optimal``: a one-to-one matching of clusters to labels that maximises the number of agreeing
  episodes (scipy's ``linear_sum_assignment`` on the contingency table). Clusters left without a
  label (more clusters than labels) count as wrong, so over-splitting is penalised.
* ``majority``: each cluster takes its most common label (several clusters may share one), how a
  reader names an over-split cluster; it forgives over-splitting.

``outlier`` is never mapped to a label: an outlier is wrong under both rules. ARI, NMI and
purity need no mapping. Only episodes with a truth label are scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn import metrics

from fmviz.evaluate.metrics import contingency, purity, weighted_f1
from fmviz.results import OUTLIER, Assignments, ClusterSet, Reasons

if TYPE_CHECKING:
    from fmviz.offline.embeddings import Embedder

__all__ = ["ASSIGNMENT_COLUMNS", "assignment_quality", "compare_assigners", "optimal_mapping"]

#: Columns of :func:`assignment_quality`, in order.
ASSIGNMENT_COLUMNS = (
    "method",
    "labels",
    "weighted_f1_optimal",
    "weighted_f1_majority",
    "ari",
    "nmi",
    "purity",
    "n",
    "n_labels",
    "n_clusters",
    "outliers",
)


def optimal_mapping(pred: Mapping[str, str], truth: Mapping[str, str]) -> dict[str, str]:
    """One-to-one cluster -> label mapping maximising agreement; ``outlier`` is left out.

    Examples
    --------
    >>> optimal_mapping({"a": "C1", "b": "C2", "c": "C2"}, {"a": "x", "b": "y", "c": "y"})
    {'C1': 'x', 'C2': 'y'}
    """
    kept = {k: v for k, v in pred.items() if v != OUTLIER}
    if not kept:
        return {}
    table = contingency(kept, truth)
    rows, cols = linear_sum_assignment(-table.to_numpy())
    return {str(table.index[r]): str(table.columns[c]) for r, c in zip(rows, cols, strict=True)}


def _majority_mapping(pred: Mapping[str, str], truth: Mapping[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in pred.items() if v != OUTLIER}
    if not kept:
        return {}
    table = contingency(kept, truth)
    return {str(c): str(table.loc[c].idxmax()) for c in table.index}


def _labels_of(assignments: Assignments | Mapping[str, str]) -> dict[str, str]:
    if isinstance(assignments, Assignments):
        return assignments.labels()
    return {str(k): str(v) for k, v in assignments.items()}


def assignment_quality(
    methods: Mapping[str, Assignments | Mapping[str, str]],
    truth: Mapping[str, str | None],
    *,
    labels_name: str = "label",
) -> pd.DataFrame:
    """Score each method's assignments against truth labels: one row per method.

    Parameters
    ----------
    methods:
        ``{method name: assignments}``; assignments as :class:`~fmviz.results.Assignments` or
        ``{episode id: cluster id}``.
    truth:
        ``{episode id: label}``; ``None`` or empty labels are not scored.
    labels_name:
        What the labels are (a column name), copied into the ``labels`` column.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ASSIGNMENT_COLUMNS`: weighted F1 under the ``optimal`` and ``majority``
        rules (see the module docstring), ARI, NMI (arithmetic), purity, episodes scored, labels,
        clusters used and outliers among the scored episodes.

    Examples
    --------
    >>> truth = {"a": "x", "b": "x", "c": "y", "d": "y"}
    >>> frame = assignment_quality({"perfect": {"a": "C2", "b": "C2", "c": "C1", "d": "C1"}}, truth)
    >>> float(frame.loc[0, "weighted_f1_optimal"]), float(frame.loc[0, "ari"])
    (1.0, 1.0)
    """
    clean = {str(k): str(v) for k, v in truth.items() if v is not None and str(v).strip()}
    rows = []
    for name, assignments in methods.items():
        pred = {k: v for k, v in _labels_of(assignments).items() if k in clean}
        if not pred:
            raise ValueError(f"method {name!r}: no assigned episode has a {labels_name!r} label")
        t = [clean[k] for k in pred]
        p = list(pred.values())
        row = {
            "method": name,
            "labels": labels_name,
            "weighted_f1_optimal": weighted_f1(pred, clean, optimal_mapping(pred, clean)),
            "weighted_f1_majority": weighted_f1(pred, clean, _majority_mapping(pred, clean)),
            "ari": float(metrics.adjusted_rand_score(t, p)),
            "nmi": float(metrics.normalized_mutual_info_score(t, p)),
            "purity": purity(pred, clean),
            "n": len(pred),
            "n_labels": len(set(t)),
            "n_clusters": len({c for c in p if c != OUTLIER}),
            "outliers": sum(c == OUTLIER for c in p),
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=list(ASSIGNMENT_COLUMNS))


def compare_assigners(
    reasons: Reasons,
    clusters: ClusterSet,
    truth: Mapping[str, str | None],
    *,
    assignments: Assignments | None = None,
    method: str = "ours",
    baselines: Sequence[str] = ("ea", "ra"),
    embedder: Embedder | None = None,
    seed: int = 0,
    labels_name: str = "label",
) -> pd.DataFrame:
    """The paper's Fig. 5 in one call: a run's assignments next to EA and RA on the same clusters.

    Parameters
    ----------
    reasons, clusters:
        The run's stage-1 reasons and cluster set.
    truth:
        ``{episode id: label}``.
    assignments:
        The run's own assignments (row ``method``); omitted, only the baselines are scored.
    baselines:
        Any of ``"ea"`` (:func:`fmviz.offline.assign.assign_nearest` with ``use_members=False``:
        nearest cluster vector, no memory of discovery) and ``"ra"``
        (:func:`fmviz.offline.assign.random_assign`, seeded).
    embedder:
        For EA (default: the bundled MiniLM).
    seed:
        For RA.

    Returns
    -------
    pandas.DataFrame
        :func:`assignment_quality` rows, the run first, then ``EA`` and ``RA``.

    Examples
    --------
    >>> compare_assigners(reasons, clusters, truth, assignments=run_assignments)  # doctest: +SKIP
    """
    from fmviz.offline.assign import assign_nearest, random_assign

    methods: dict[str, Assignments] = {}
    if assignments is not None:
        methods[method] = assignments
    for baseline in baselines:
        key = baseline.strip().lower()
        if key == "ea":
            methods["EA"] = assign_nearest(reasons, clusters, embedder=embedder, use_members=False)
        elif key == "ra":
            methods["RA"] = random_assign(reasons, clusters, seed=seed)
        else:
            raise ValueError(f"unknown assignment baseline {baseline!r}: use 'ea' or 'ra'")
    if not methods:
        raise ValueError("nothing to compare: give assignments or at least one baseline")
    return assignment_quality(methods, truth, labels_name=labels_name)
