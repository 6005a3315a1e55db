"""Matrices the heatmap views draw: contingency tables, one-to-one matchings and coverage.

Pure functions over plain mappings and arrays, shared by the taxonomy heatmap and the
ensemble view. Rows and columns come back in natural order (``C2`` before ``C10``), with
``outlier`` last, so every heatmap reads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from fmviz.results import OUTLIER
from fmviz.views._order import natural_key

__all__ = ["column_coverage", "contingency", "label_order", "optimal_matching"]


def label_order(labels: Sequence[str] | set[str]) -> list[str]:
    """Distinct labels in natural order, ``outlier`` last and ``""`` dropped.

    Examples
    --------
    >>> label_order(["C10", "outlier", "C2", "", "C2"])
    ['C2', 'C10', 'outlier']
    """
    distinct = {str(x) for x in labels if x is not None and str(x) != ""}
    ordered = sorted(distinct - {OUTLIER}, key=natural_key)
    return ordered + ([OUTLIER] if OUTLIER in distinct else [])


def contingency(
    row_labels: Mapping[str, str], column_labels: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[tuple[str, str], list[str]]]:
    """Counts of the episodes both labellings name, and the episode ids behind each cell.

    Parameters
    ----------
    row_labels, column_labels:
        ``{episode_id: label}``; episodes missing from either, or labelled ``""``, are left out.

    Examples
    --------
    >>> counts, cells = contingency({"a": "C1", "b": "C1", "c": "C2"}, {"a": "x", "b": "y", "c": "y"})
    >>> counts.loc["C1"].tolist(), cells[("C2", "y")]
    ([1, 1], ['c'])
    """
    cells: dict[tuple[str, str], list[str]] = {}
    for episode_id, row in row_labels.items():
        column = column_labels.get(episode_id)
        if column is None or str(column) == "" or str(row) == "":
            continue
        cells.setdefault((str(row), str(column)), []).append(str(episode_id))
    rows = label_order([r for r, _ in cells])
    columns = label_order([c for _, c in cells])
    counts = pd.DataFrame(0, index=rows, columns=columns, dtype=int)
    for (row, column), ids in cells.items():
        counts.loc[row, column] = len(ids)
    return counts, cells


def optimal_matching(values: np.ndarray, *, skip_rows: Sequence[int] = ()) -> list[tuple[int, int]]:
    """The one-to-one matching of rows to columns with the largest total value.

    NaN counts as the smallest value; rows in ``skip_rows`` (e.g. ``outlier``) are never matched.
    Uses scipy's ``linear_sum_assignment`` (the Hungarian method).

    Examples
    --------
    >>> optimal_matching(np.array([[0.1, 0.9], [0.8, 0.7]]))
    [(0, 1), (1, 0)]
    """
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim != 2 or not matrix.size:
        return []
    keep = [i for i in range(matrix.shape[0]) if i not in set(skip_rows)]
    if not keep:
        return []
    sub = matrix[keep]
    finite = sub[np.isfinite(sub)]
    floor = float(finite.min()) - 1.0 if finite.size else 0.0
    rows, columns = linear_sum_assignment(np.nan_to_num(sub, nan=floor), maximize=True)
    return sorted((keep[int(r)], int(c)) for r, c in zip(rows, columns, strict=True))


def column_coverage(
    values: np.ndarray, matching: Sequence[tuple[int, int]], *, threshold: float, share_of_column: bool
) -> list[bool]:
    """Whether each column (an expert category) is covered by its matched row.

    ``share_of_column``: counts are compared as the matched row's share of the column total
    (a category is covered when its matched cluster holds at least ``threshold`` of its
    episodes); otherwise the matched value itself is compared (a similarity score).

    Examples
    --------
    >>> column_coverage(np.array([[3, 0], [1, 1]]), [(0, 0), (1, 1)], threshold=0.5, share_of_column=True)
    [True, True]
    """
    matrix = np.asarray(values, dtype=float)
    covered = [False] * (matrix.shape[1] if matrix.ndim == 2 else 0)
    for row, column in matching:
        value = matrix[row, column]
        if share_of_column:
            total = float(np.nansum(matrix[:, column]))
            value = value / total if total > 0 else 0.0
        covered[column] = bool(np.isfinite(value) and value >= threshold)
    return covered
