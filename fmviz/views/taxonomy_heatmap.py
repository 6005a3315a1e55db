"""The taxonomy heatmap: failure modes against expert categories, labels or another cluster set.

One canvas (``widgets/taxonomy_heatmap/``, drawing with ``widgets/_shared/heatmap.js``) for
every comparison the paper's Fig. 4 makes: cell values are counts, shares of each column, or a
similarity matrix the evaluation code computed (:func:`fmviz.evaluate.similarity_matrix`); the
optimal one-to-one matching is outlined (the one given, e.g. from
:func:`fmviz.evaluate.align_taxonomy`, else scipy's ``linear_sum_assignment``); covered
categories are marked; rows and columns are labelled by name in natural order (``C2`` before
``C10``); hovering a cell shows example episodes. Values travel as float32 binary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import traitlets

from fmviz.results import OUTLIER, Assignments, ClusterSet, Reasons, undo
from fmviz.views._heatmap_png import heatmap_png
from fmviz.views._matrix import column_coverage, contingency, optimal_matching
from fmviz.views._order import natural_key
from fmviz.views._widget import FmvizWidget, TypedArray

__all__ = ["TaxonomyHeatmap"]

Kind = Literal["count", "share", "similarity"]
#: Example episodes kept per cell, and their text length (hover only; keeps payloads small).
EXAMPLES_PER_CELL = 3
EXAMPLE_CHARS = 160
_MatchingInput = pd.DataFrame | Mapping[str, str] | Sequence[tuple[str, str]] | None


class TaxonomyHeatmap(FmvizWidget):
    """Rows (clusters) against columns (categories) with the best one-to-one matching outlined.

    Build one with :meth:`from_frame` (any DataFrame of scores), :meth:`from_labels`,
    :meth:`from_run` (a run against a label column) or :meth:`from_cluster_sets`.

    Examples
    --------
    >>> frame = pd.DataFrame([[0.2, 0.9], [0.8, 0.1]], index=["C10", "C2"], columns=["A", "B"])
    >>> heatmap = TaxonomyHeatmap.from_frame(frame, threshold=0.5)
    >>> [r["id"] for r in heatmap.rows], heatmap.matching.tolist(), heatmap.covered
    (['C2', 'C10'], [[0, 0], [1, 1]], [True, True])
    """

    _widget_name = "taxonomy_heatmap"

    #: Cell values, shape ``(len(rows), len(columns))``; NaN where there is no value.
    values = TypedArray("float32")
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Matched cells as ``(row index, column index)`` pairs, shape ``(k, 2)``.
    matching = TypedArray("int32")
    #: Per column: does its match reach ``threshold``.
    covered = traitlets.List(traitlets.Bool()).tag(sync=True)
    threshold = traitlets.Float(0.5).tag(sync=True)
    kind = traitlets.Unicode("count").tag(sync=True)
    #: ``{"i,j": [{"id", "text"}]}`` example episodes per cell; ``{"i,j": text}`` in ``notes``.
    examples = traitlets.Dict().tag(sync=True)
    notes = traitlets.Dict().tag(sync=True)
    #: ``{"i": [{"id", "text"}]}`` example episodes of row ``i`` (shown for cells with none).
    row_examples = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    row_title = traitlets.Unicode("failure modes").tag(sync=True)
    column_title = traitlets.Unicode("categories").tag(sync=True)

    # -- constructors --------------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        kind: Kind = "similarity",
        matching: _MatchingInput = None,
        threshold: float | None = None,
        row_names: Mapping[str, str] | None = None,
        column_names: Mapping[str, str] | None = None,
        cells: Mapping[tuple[str, str], Sequence[str]] | None = None,
        row_members: Mapping[str, Sequence[str]] | None = None,
        reasons: Reasons | None = None,
        **kwargs: Any,
    ) -> TaxonomyHeatmap:
        """The heatmap of any DataFrame of scores (index: rows, columns: categories).

        Parameters
        ----------
        frame:
            Numbers; e.g. :func:`fmviz.evaluate.similarity_matrix` (its ``attrs`` ``row_names``,
            ``col_names``, ``method`` and ``rationales`` are used when present).
        kind:
            ``"similarity"`` (scores), ``"count"`` or ``"share"`` (of each column's total).
        matching:
            The matching to outline: the ``matches`` frame of :func:`fmviz.evaluate.align_taxonomy`,
            ``{row: column}`` or ``[(row, column)]``; default: the optimal one-to-one matching.
        threshold:
            Coverage threshold (a score; for counts and shares, a share of the column);
            default from ``frame.attrs["method"]`` (LLM 7, embeddings 0.45), else 0.5.
        row_names, column_names:
            Display names by label (default: ``attrs`` or the labels themselves).
        cells, row_members, reasons:
            Episode ids behind each ``(row, column)`` cell, or behind each row (a cluster's
            members, for similarity matrices), and their reasons: examples shown on hover.
        """
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise ValueError("the heatmap needs a non-empty DataFrame (rows: clusters, columns: categories)")
        if kind not in ("count", "share", "similarity"):
            raise ValueError(f"kind must be 'count', 'share' or 'similarity', got {kind!r}")
        try:
            numbers = frame.apply(pd.to_numeric, errors="raise").astype(float)
        except (TypeError, ValueError):
            raise ValueError("every cell of the heatmap frame must be a number (or NaN)") from None
        row_labels = sorted((str(r) for r in numbers.index), key=_row_key)
        column_labels = sorted((str(c) for c in numbers.columns), key=_row_key)
        numbers.index, numbers.columns = numbers.index.map(str), numbers.columns.map(str)
        if numbers.index.has_duplicates or numbers.columns.has_duplicates:
            raise ValueError("row and column labels of the heatmap frame must be unique")
        numbers = numbers.loc[row_labels, column_labels]
        row_names = {**frame.attrs.get("row_names", {}), **(row_names or {})}
        column_names = {**frame.attrs.get("col_names", {}), **(column_names or {})}
        shown = numbers.to_numpy()
        if kind == "share":
            totals = np.nansum(shown, axis=0)
            shown = np.divide(shown, totals, out=np.zeros_like(shown), where=totals > 0)
        pairs = _matching(matching, row_labels, column_labels, numbers.to_numpy())
        if threshold is None:
            threshold = {"llm": 7.0, "embedding": 0.45}.get(str(frame.attrs.get("method")), 0.5)
        covered = column_coverage(
            numbers.to_numpy(), pairs, threshold=float(threshold), share_of_column=kind != "similarity"
        )
        if isinstance(matching, pd.DataFrame) and {"category", "covered"} <= set(matching.columns):
            given = dict(zip(matching["category"].astype(str), matching["covered"].astype(bool), strict=True))
            covered = [given.get(c, flag) for c, flag in zip(column_labels, covered, strict=True)]
        widget = cls(
            values=shown.astype(np.float32),
            rows=[{"id": r, "name": _display(r, row_names)} for r in row_labels],
            columns=[{"id": c, "name": _display(c, column_names)} for c in column_labels],
            matching=np.asarray(pairs, dtype=np.int32).reshape(-1, 2),
            covered=covered,
            threshold=float(threshold),
            kind=kind,
            examples=_examples(cells or {}, reasons, row_labels, column_labels),
            row_examples={
                str(i): _picked(row_members[r], reasons)
                for i, r in enumerate(row_labels)
                if r in (row_members or {})
            },
            notes=_notes(frame.attrs.get("rationales") or {}, row_labels, column_labels),
            **kwargs,
        )
        return widget

    @classmethod
    def from_similarity(
        cls, run: Any, matrix: pd.DataFrame, *, matching: _MatchingInput = None, **kwargs: Any
    ) -> TaxonomyHeatmap:
        """A similarity matrix of a run's clusters (rows) against a taxonomy, e.g. from
        :func:`fmviz.evaluate.similarity_matrix`, with each cluster's members on hover.

        ``matching`` may be the ``matches`` frame of :func:`fmviz.evaluate.align_taxonomy`.

        Examples
        --------
        >>> from fmviz.evaluate import align_taxonomy, load_taxonomy, similarity_matrix  # doctest: +SKIP
        >>> matrix = similarity_matrix(run.clusters, load_taxonomy("robofail"))         # doctest: +SKIP
        >>> TaxonomyHeatmap.from_similarity(run, matrix, matching=align_taxonomy(matrix)[0])  # doctest: +SKIP
        """
        members: dict[str, list[str]] = {}
        for row in run.current_assignments:
            members.setdefault(row.cluster_id, []).append(row.episode_id)
        kwargs.setdefault("row_names", run.clusters.names())
        kwargs.setdefault("column_title", "expert categories")
        return cls.from_frame(
            matrix, kind="similarity", matching=matching, row_members=members, reasons=run.reasons, **kwargs
        )

    @classmethod
    def from_labels(
        cls,
        row_labels: Mapping[str, str],
        column_labels: Mapping[str, str],
        *,
        kind: Literal["count", "share"] = "count",
        reasons: Reasons | None = None,
        **kwargs: Any,
    ) -> TaxonomyHeatmap:
        """Counts (or shares) of episodes by row label against column label.

        Examples
        --------
        >>> h = TaxonomyHeatmap.from_labels({"a": "C1", "b": "C2"}, {"a": "glass", "b": "chair"})
        >>> [c["id"] for c in h.columns], h.values.tolist()
        (['chair', 'glass'], [[0.0, 1.0], [1.0, 0.0]])
        """
        counts, cells = contingency(row_labels, column_labels)
        if counts.empty:
            raise ValueError("no episode has both a row label and a column label to compare")
        return cls.from_frame(counts, kind=kind, cells=cells, reasons=reasons, **kwargs)

    @classmethod
    def from_run(cls, run: Any, label_column: str = "label", **kwargs: Any) -> TaxonomyHeatmap:
        """A run's failure modes against a column of its dataset (default: the expert ``label``).

        ``run`` is a :class:`fmviz.run.Run` (or a ``RunResult``); keyword arguments go to
        :meth:`from_labels` (``kind="share"`` shows each label's split across clusters).
        """
        frame = run.dataset.to_frame()
        if label_column not in frame.columns:
            known = ", ".join(str(c) for c in frame.columns)
            raise ValueError(f"the dataset has no column {label_column!r}; known: {known}")
        labels = {
            str(i): str(v) for i, v in zip(frame["id"], frame[label_column], strict=True) if _present(v)
        }
        if not labels:
            raise ValueError(f"no episode has a value in column {label_column!r} to compare with")
        names = run.clusters.names() | {OUTLIER: "Outlier"}
        kwargs.setdefault("row_names", names)
        kwargs.setdefault("column_title", label_column)
        return cls.from_labels(run.current_assignments.labels(), labels, reasons=run.reasons, **kwargs)

    @classmethod
    def from_cluster_sets(
        cls,
        rows: ClusterSet,
        row_assignments: Assignments | Mapping[str, str],
        columns: ClusterSet,
        column_assignments: Assignments | Mapping[str, str],
        *,
        reasons: Reasons | None = None,
        **kwargs: Any,
    ) -> TaxonomyHeatmap:
        """Two cluster sets over the same episodes (before vs after edits, LLM vs offline).

        Examples
        --------
        >>> from fmviz.results import Cluster
        >>> a = ClusterSet([Cluster("C1", "Glass"), Cluster("C2", "Legs")])
        >>> b = ClusterSet([Cluster("C1", "Reflective")])
        >>> h = TaxonomyHeatmap.from_cluster_sets(a, {"e1": "C1", "e2": "C2"}, b, {"e1": "C1", "e2": "C1"})
        >>> [r["name"] for r in h.rows], h.values.ravel().tolist()
        (['Glass', 'Legs'], [1.0, 1.0])
        """
        row_map = row_assignments.labels() if isinstance(row_assignments, Assignments) else row_assignments
        col_map = (
            column_assignments.labels() if isinstance(column_assignments, Assignments) else column_assignments
        )
        kwargs.setdefault("row_names", rows.names() | {OUTLIER: "Outlier"})
        kwargs.setdefault("column_names", columns.names() | {OUTLIER: "Outlier"})
        kwargs.setdefault("column_title", "second cluster set")
        return cls.from_labels(dict(row_map), dict(col_map), reasons=reasons, **kwargs)

    @classmethod
    def from_edits(cls, run: Any, **kwargs: Any) -> TaxonomyHeatmap:
        """The cluster set as first proposed (rows) against the edited one (columns).

        The proposed set and its assignments come from undoing the log on copies (the pure
        :func:`fmviz.results.undo`); the run is not changed.
        """
        clusters, assignments = run.clusters, run.current_assignments
        if not clusters.log.applied:
            raise ValueError("the cluster set has no edits to compare with")
        while clusters.log.applied:
            step = undo(clusters, assignments)
            clusters, assignments = step.clusters, step.assignments
        kwargs.setdefault("row_title", "as proposed")
        kwargs.setdefault("column_title", "after edits")
        return cls.from_cluster_sets(
            clusters, assignments, run.clusters, run.current_assignments, reasons=run.reasons, **kwargs
        )

    # -- reading back ------------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The values shown, as a DataFrame indexed by row id with one column per category id."""
        shape = (len(self.rows), len(self.columns))
        return pd.DataFrame(
            self.values.reshape(shape),
            index=[r["id"] for r in self.rows],
            columns=[c["id"] for c in self.columns],
        )

    def to_png(self) -> bytes | None:
        """The heatmap as a static picture (for viewers without widget JavaScript)."""
        if not self.rows or not self.columns:
            return None
        pairs = [tuple(p) for p in self.matching.reshape(-1, 2).tolist()]
        return heatmap_png(self.values, pairs, [r["id"] for r in self.rows], [c["id"] for c in self.columns])

    def matches(self) -> pd.DataFrame:
        """The outlined matching: ``row, row_name, column, column_name, value, covered``."""
        values = self.values.reshape(len(self.rows), len(self.columns))
        return pd.DataFrame(
            [
                {
                    "row": self.rows[i]["id"],
                    "row_name": self.rows[i]["name"],
                    "column": self.columns[j]["id"],
                    "column_name": self.columns[j]["name"],
                    "value": float(values[i, j]),
                    "covered": self.covered[j],
                }
                for i, j in self.matching.reshape(-1, 2).tolist()
            ]
        )


def _row_key(label: str) -> tuple[Any, ...]:
    return (label == OUTLIER, natural_key(label))


def _display(label: str, names: Mapping[str, str]) -> str:
    return str(names.get(label, label))


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value) != ""


def _matching(
    matching: _MatchingInput, rows: list[str], columns: list[str], values: np.ndarray
) -> list[tuple[int, int]]:
    if matching is None:
        skip = [i for i, r in enumerate(rows) if r == OUTLIER]
        return optimal_matching(values, skip_rows=skip)
    if isinstance(matching, pd.DataFrame):
        missing = {"category", "cluster"} - set(matching.columns)
        if missing:
            raise ValueError(f"a matching frame needs columns 'cluster' and 'category' (missing {missing})")
        pairs = [
            (str(r), str(c))
            for r, c in zip(matching["cluster"], matching["category"], strict=True)
            if _present(r)
        ]
    elif isinstance(matching, Mapping):
        pairs = [(str(r), str(c)) for r, c in matching.items()]
    else:
        pairs = [(str(r), str(c)) for r, c in matching]
    row_index = {r: i for i, r in enumerate(rows)}
    column_index = {c: j for j, c in enumerate(columns)}
    unknown = [p for p in pairs if p[0] not in row_index or p[1] not in column_index]
    if unknown:
        raise ValueError(f"the matching names rows or columns the frame does not have: {unknown[:3]}")
    return sorted((row_index[r], column_index[c]) for r, c in pairs)


def _examples(
    cells: Mapping[tuple[str, str], Sequence[str]],
    reasons: Reasons | None,
    rows: list[str],
    columns: list[str],
) -> dict[str, list[dict[str, str]]]:
    row_index = {r: i for i, r in enumerate(rows)}
    column_index = {c: j for j, c in enumerate(columns)}
    out: dict[str, list[dict[str, str]]] = {}
    for (row, column), ids in cells.items():
        if row not in row_index or column not in column_index:
            continue
        out[f"{row_index[row]},{column_index[column]}"] = _picked(ids, reasons)
    return out


def _picked(ids: Sequence[str], reasons: Reasons | None) -> list[dict[str, str]]:
    picked = []
    for episode_id in list(ids)[:EXAMPLES_PER_CELL]:
        reason = reasons.get(episode_id) if reasons is not None else None
        text = " ".join(reason.text.split())[:EXAMPLE_CHARS] if reason is not None else ""
        picked.append({"id": str(episode_id), "text": text})
    return picked


def _notes(rationales: Mapping[str, str], rows: list[str], columns: list[str]) -> dict[str, str]:
    out = {}
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            text = rationales.get(f"{row}|{column}")
            if text:
                out[f"{i},{j}"] = str(text)[: EXAMPLE_CHARS * 2]
    return out
