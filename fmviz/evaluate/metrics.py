"""Agreement between discovered failure modes and ground-truth labels.

Cluster ids ("C3") and expert labels ("glass door") live in different vocabularies, so there
are two kinds of score: partition agreement (ARI, NMI, homogeneity, completeness), which needs no
mapping, and the paper's weighted F1 for assignment, which first maps each cluster to a truth
label. Inputs are ``{episode_id: label}`` mappings; only ids present in both are scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn import metrics

__all__ = ["cluster_agreement", "contingency", "label_mapping", "purity", "weighted_f1"]


def _aligned(pred: Mapping[Any, Any], truth: Mapping[Any, Any]) -> tuple[list[str], list[str], list[str]]:
    """Common ids (in ``pred`` order) and their labels as strings; truth ``None`` is skipped."""
    ids = [i for i in pred if i in truth and truth[i] is not None and pred[i] is not None]
    if not ids:
        raise ValueError("pred and truth share no ids with labels: nothing to compare")
    return ids, [str(pred[i]) for i in ids], [str(truth[i]) for i in ids]


def cluster_agreement(pred: Mapping[Any, Any], truth: Mapping[Any, Any]) -> dict[str, float]:
    """Partition agreement between predicted clusters and truth labels.

    Parameters
    ----------
    pred, truth:
        ``{id: label}``; ids missing from either side are ignored.

    Returns
    -------
    dict
        ``ari`` (adjusted Rand index), ``nmi`` (normalised mutual information, arithmetic mean),
        ``homogeneity`` (each cluster holds one truth label), ``completeness`` (each truth label
        sits in one cluster) and ``n`` (ids scored).
    """
    _, p, t = _aligned(pred, truth)
    homogeneity, completeness, _ = metrics.homogeneity_completeness_v_measure(t, p)
    return {
        "ari": float(metrics.adjusted_rand_score(t, p)),
        "nmi": float(metrics.normalized_mutual_info_score(t, p)),
        "homogeneity": float(homogeneity),
        "completeness": float(completeness),
        "n": len(p),
    }


def contingency(pred: Mapping[Any, Any], truth: Mapping[Any, Any]) -> pd.DataFrame:
    """Counts of ids per (predicted cluster, truth label): rows clusters, columns labels."""
    _, p, t = _aligned(pred, truth)
    table = pd.crosstab(pd.Series(p, name="cluster"), pd.Series(t, name="truth"))
    return table


def label_mapping(
    pred: Mapping[Any, Any],
    truth: Mapping[Any, Any],
    method: Literal["majority", "hungarian"] = "majority",
) -> dict[str, str]:
    """Map each predicted cluster to a truth label.

    ``"majority"``: each cluster takes its most common truth label (several clusters may share
    one; this is how a reader would name an over-split cluster). ``"hungarian"``: a one-to-one
    matching maximising agreement (scipy's ``linear_sum_assignment``); clusters left unmatched
    when there are more clusters than labels map to their majority label.
    """
    table = contingency(pred, truth)
    majority = {str(c): str(table.loc[c].idxmax()) for c in table.index}
    if method == "majority":
        return majority
    if method != "hungarian":
        raise ValueError(f"unknown mapping method {method!r}: use 'majority' or 'hungarian'")
    rows, cols = linear_sum_assignment(-table.to_numpy())
    matched = {str(table.index[r]): str(table.columns[c]) for r, c in zip(rows, cols, strict=True)}
    return {c: matched.get(c, majority[c]) for c in majority}


def weighted_f1(
    pred: Mapping[Any, Any],
    truth: Mapping[Any, Any],
    mapping: Mapping[str, str] | Literal["majority", "hungarian"] | None = None,
) -> float:
    """Support-weighted F1 of predicted labels against truth labels (the paper's Fig. 5 score).

    Parameters
    ----------
    pred, truth:
        ``{id: label}``.
    mapping:
        How cluster ids become truth labels before scoring: ``None`` compares labels as they are
        when every predicted label is a truth label, else uses ``"majority"``; ``"majority"`` or
        ``"hungarian"`` (see :func:`label_mapping`); or an explicit ``{cluster: label}`` dict
        (unmapped clusters, e.g. ``outlier``, count as wrong).
    """
    ids, p, t = _aligned(pred, truth)
    if mapping is None:
        mapping = None if set(p) <= set(t) else "majority"
    if isinstance(mapping, str):
        mapping = label_mapping(dict(zip(ids, p, strict=True)), dict(zip(ids, t, strict=True)), mapping)
    if mapping is not None:
        p = [str(mapping.get(label, f"<unmapped:{label}>")) for label in p]
    return float(metrics.f1_score(t, p, average="weighted", labels=sorted(set(t)), zero_division=0))


def purity(pred: Mapping[Any, Any], truth: Mapping[Any, Any]) -> float:
    """Share of ids whose cluster's most common truth label is their own label.

    1.0 when every cluster holds one label (also when every id is its own cluster, so read it
    next to NMI or ARI, which penalise over-splitting).

    Examples
    --------
    >>> purity({"a": "C1", "b": "C1", "c": "C2"}, {"a": "x", "b": "y", "c": "y"})
    0.6666666666666666
    """
    table = contingency(pred, truth)
    return float(table.max(axis=1).sum() / table.to_numpy().sum())
