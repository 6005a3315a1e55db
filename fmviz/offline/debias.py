"""Take who wrote a text out of the clustering features, so clusters follow what happened.

Each source of failure reports (a company, a fleet, a test site) writes in its own style and
its own template, and sentence embeddings pick that up as strongly as the content: left alone,
clusters follow the reporting company. Two steps remove it, both only from the features that
choose the clusters (centroids, names and assignment keep the plain embeddings):

1. **Centring**: each source's mean is subtracted (sources of :data:`MIN_GROUP_SIZE` texts or
   more; a mean of a few texts is mostly their content).
2. **Nullspace projection** (Ravfogel et al. 2020, "Null It Out", INLP): a linear classifier is
   trained to tell the sources apart, and the directions it uses are projected out; repeated
   while a held-out classifier still beats chance by more than :data:`CHANCE_MARGIN` (balanced
   accuracy), at most :data:`MAX_ITERATIONS` times. Centring removes where each source sits;
   this removes the directions along which the sources' sub-templates differ.

The stopping rule reads only how predictable the source still is, never any label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import cross_val_score

from fmviz.offline.embeddings import unit_rows

__all__ = ["CHANCE_MARGIN", "MAX_ITERATIONS", "MIN_GROUP_SIZE", "remove_source_signal"]

#: Sources with fewer texts are pooled as one "other" source (the cleaner's ``min_group_docs``
#: uses the same 10).
MIN_GROUP_SIZE = 10
#: Projection stops once a held-out linear classifier tells sources apart no better than chance
#: plus this margin (balanced accuracy).
CHANCE_MARGIN = 0.05
#: At most this many projections: each removes up to (number of sources - 1) directions.
MAX_ITERATIONS = 3
#: Below this many features left, no more directions are removed.
_MIN_DIMENSIONS = 8


def remove_source_signal(
    features: np.ndarray, groups: Sequence[object] | None, *, seed: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """Features with each source's mean and its linearly predictable directions removed.

    Returns the new (row-normalised) features and a record of what was done, for provenance:
    sources used, directions removed, held-out balanced accuracy before and after.
    """
    if groups is None:
        return features, {"method": "none"}
    names = [None if g is None else str(g) for g in groups]
    if len(names) != features.shape[0]:
        raise ValueError(f"{len(names)} groups for {features.shape[0]} texts")
    out = features.astype(np.float32, copy=True)
    series = pd.Series(names, dtype=object)
    sizes = series.value_counts()
    large = [g for g, n in sizes.items() if n >= MIN_GROUP_SIZE]
    for group in large:
        rows = (series == group).to_numpy()
        out[rows] -= features[rows].mean(axis=0)
    out = unit_rows(out)
    record: dict[str, Any] = {"method": "centring + nullspace projection", "sources": len(large)}
    pooled = series.where(series.isin(large), "other").fillna("other").to_numpy()
    if len(set(pooled)) < 2 or min(pd.Series(pooled).value_counts()) < 3:
        record.update(removed_directions=0, iterations=0)
        return out, record
    chance = 1.0 / len(set(pooled))
    removed, accuracies = 0, []
    for _ in range(MAX_ITERATIONS + 1):
        accuracy = _held_out_accuracy(out, pooled, seed)
        accuracies.append(round(accuracy, 4))
        if accuracy <= chance + CHANCE_MARGIN or len(accuracies) > MAX_ITERATIONS:
            break
        basis = _separating_directions(out, pooled)
        if out.shape[1] - removed - basis.shape[0] < _MIN_DIMENSIONS:
            break
        out = unit_rows(out - (out @ basis.T) @ basis)
        removed += basis.shape[0]
    record.update(
        removed_directions=removed,
        iterations=len(accuracies) - 1,
        balanced_accuracy=accuracies,
        chance=round(chance, 4),
    )
    return out.astype(np.float32), record


def _held_out_accuracy(x: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Three-fold balanced accuracy of a ridge classifier predicting the source."""
    folds = min(3, int(pd.Series(labels).value_counts().min()))
    scores = cross_val_score(RidgeClassifier(alpha=1.0), x, labels, cv=folds, scoring="balanced_accuracy")
    return float(np.mean(scores))


def _separating_directions(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning the weights of a ridge classifier fitted on all rows."""
    weights = np.atleast_2d(RidgeClassifier(alpha=1.0).fit(x, labels).coef_)
    _, singular, vt = np.linalg.svd(weights, full_matrices=False)
    return vt[singular > singular.max() * 1e-6]
