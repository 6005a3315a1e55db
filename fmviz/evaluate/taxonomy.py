"""Taxonomy alignment: how well a cluster set recovers an expert taxonomy (the paper's Fig. 4).

The paper asks an LLM for a similarity score between every discovered cluster and every expert
failure type and reads the heatmap: one sharp cell per row and column means the clusters
recover the taxonomy one to one. This module computes the same matrix, by an LLM judge on the
paper's 1-10 scale (:mod:`fmviz.evaluate.judge`) or offline by the cosine of sentence embeddings
of ``"name: description"``, then condenses it: an optimal one-to-one matching (scipy's
``linear_sum_assignment``), coverage (how many expert categories have a match at or above a
threshold) and one alignment score (the mean matched similarity over expert categories, an
unmatched category counting 0).

Built-in taxonomies ship as data files in ``fmviz/evaluate/taxonomies/`` with their sources:
``robofail`` (the eight RoboFail / REFLECT failure types) and ``volpe`` (the US DOT Volpe
Center's 37 pre-crash scenarios). A cluster set can be the reference too, to compare two runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from fmviz.evaluate.judge import SimilarityScore, ask_each
from fmviz.results import ClusterSet

if TYPE_CHECKING:
    from fmviz import LLM
    from fmviz.offline.embeddings import Embedder

__all__ = [
    "BUILTIN_TAXONOMIES",
    "DEFAULT_THRESHOLDS",
    "Category",
    "Taxonomy",
    "align_taxonomy",
    "load_taxonomy",
    "similarity_matrix",
]

_HERE = Path(__file__).parent / "taxonomies"
#: Names accepted by :func:`load_taxonomy` besides a file path.
BUILTIN_TAXONOMIES = ("robofail", "volpe")
#: Matches at or above these similarities count as covering a category. LLM: 7 of 10, the score
#: the judge prompt defines as "the same failure type described more broadly or more narrowly".
#: Embeddings: cosine 0.45. Measured with all-MiniLM-L6-v2 on ten hand-written pairs of
#: "name: description" texts (tests/test_evaluate_taxonomy.py): five pairs naming one failure type
#: two ways scored 0.47-0.61, five pairs of different types 0.09-0.48 (the highest: two kinds of
#: crash). Embeddings separate failure types less sharply than the judge; prefer ``llm`` when a
#: model is available.
DEFAULT_THRESHOLDS = {"llm": 7.0, "embedding": 0.45}

Method = Literal["embedding", "llm"]


@dataclass
class Category:
    """One expert category: a stable id, a name and an optional description."""

    id: str
    name: str
    description: str = ""

    def text(self) -> str:
        """``"name: description"``, what embeddings and the judge compare."""
        description = self.description.strip()
        return f"{self.name.strip()}: {description}" if description else self.name.strip()


@dataclass
class Taxonomy:
    """Named categories with where they came from.

    Examples
    --------
    >>> taxonomy = load_taxonomy("robofail")
    >>> len(taxonomy), taxonomy.categories[0].name
    (8, 'Drop')
    """

    name: str
    categories: list[Category]
    source: str = ""
    title: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.categories)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(c.id, c.name, c.description) for c in self.categories], columns=["id", "name", "description"]
        )

    @classmethod
    def from_cluster_set(cls, clusters: ClusterSet, name: str = "clusters") -> Taxonomy:
        """A cluster set as a reference taxonomy (to compare two runs or engines)."""
        from fmviz.offline.assign import cluster_texts

        categories = []
        for cluster, text in zip(clusters, cluster_texts(clusters), strict=True):
            description = text.split(":", 1)[1].strip() if ":" in text else ""
            categories.append(Category(cluster.id, cluster.name, description))
        return cls(name, categories, source=str(clusters.provenance.get("engine", "")))


def load_taxonomy(name_or_path: str | Path) -> Taxonomy:
    """A built-in taxonomy (``robofail``, ``volpe``) or a JSON / CSV file of categories.

    A JSON file holds ``{"name", "source", "categories": [{"id", "name", "description"}]}`` (or
    just the list); a CSV file has ``name`` and optional ``id`` and ``description`` columns.

    Raises
    ------
    FileNotFoundError, ValueError
        With a message naming the file and what is wrong with it.
    """
    key = str(name_or_path).strip()
    path = _HERE / f"{key.lower()}.json" if key.lower() in BUILTIN_TAXONOMIES else Path(key)
    if not path.exists():
        raise FileNotFoundError(
            f"no taxonomy {key!r}: give {', '.join(BUILTIN_TAXONOMIES)} or a .json / .csv file of categories"
        )
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str).fillna("")
        if "name" not in frame.columns:
            raise ValueError(f"taxonomy file {path}: needs a 'name' column, found {list(frame.columns)}")
        records = frame.to_dict(orient="records")
        payload: dict[str, object] = {"name": path.stem, "categories": records}
    else:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"taxonomy file {path} is not valid JSON: {exc}") from exc
        payload = {"name": path.stem, "categories": loaded} if isinstance(loaded, list) else loaded
    raw = payload.get("categories")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"taxonomy file {path}: no categories (expected a non-empty 'categories' list)")
    categories = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise ValueError(f"taxonomy file {path}: category {i} has no name")
        categories.append(
            Category(str(item.get("id") or f"T{i}"), str(item["name"]), str(item.get("description") or ""))
        )
    if len({c.id for c in categories}) != len(categories):
        raise ValueError(f"taxonomy file {path}: category ids are not unique")
    extra = {k: v for k, v in payload.items() if k not in ("name", "categories", "source", "title")}
    return Taxonomy(
        str(payload.get("name") or path.stem),
        categories,
        source=str(payload.get("source") or ""),
        title=str(payload.get("title") or ""),
        extra=extra,
    )


def similarity_matrix(
    clusters: ClusterSet | Taxonomy,
    reference: Taxonomy,
    *,
    method: Method = "embedding",
    embedder: Embedder | None = None,
    llm: LLM | None = None,
) -> pd.DataFrame:
    """Similarity of every cluster (rows) with every reference category (columns).

    Parameters
    ----------
    clusters:
        The discovered failure modes (or another taxonomy).
    reference:
        The expert taxonomy.
    method:
        ``"embedding"``: cosine of the two ``"name: description"`` texts (no key needed).
        ``"llm"``: the judge's 1-10 score, one cached call per pair.
    embedder, llm:
        The embedding model (default bundled MiniLM) / the judge (required for ``"llm"``).

    Returns
    -------
    pandas.DataFrame
        Index: cluster ids; columns: category ids. ``attrs`` holds ``method``, the row and
        column names (``row_names``, ``col_names``) and, for ``"llm"``, ``rationales`` and
        ``errors`` (pairs the judge could not answer are NaN).

    Examples
    --------
    >>> similarity_matrix(result.clusters, load_taxonomy("robofail"))  # doctest: +SKIP
    """
    rows = clusters if isinstance(clusters, Taxonomy) else Taxonomy.from_cluster_set(clusters)
    if not len(rows) or not len(reference):
        raise ValueError("similarity needs at least one cluster and one reference category")
    if method == "embedding":
        from fmviz.offline.embeddings import Embedder

        embedder = embedder if embedder is not None else Embedder()
        a = np.asarray(embedder.embed([c.text() for c in rows.categories]))
        b = np.asarray(embedder.embed([c.text() for c in reference.categories]))
        frame = pd.DataFrame(a @ b.T, index=rows.ids, columns=reference.ids).astype(float)
    elif method == "llm":
        if llm is None:
            raise ValueError("similarity by 'llm' needs a judge model (llm=...)")
        items = {
            f"{r.id}|{c.id}": {"first": r.text(), "second": c.text()}
            for r in rows.categories
            for c in reference.categories
        }
        judged = ask_each(
            llm, items, template="judge_similarity", schema=SimilarityScore, desc="judge taxonomy"
        )
        values = np.full((len(rows), len(reference)), np.nan)
        rationales: dict[str, str] = {}
        for i, r in enumerate(rows.categories):
            for j, c in enumerate(reference.categories):
                answer = judged.answers.get(f"{r.id}|{c.id}")
                if isinstance(answer, SimilarityScore):
                    values[i, j] = answer.score
                    rationales[f"{r.id}|{c.id}"] = answer.rationale
        frame = pd.DataFrame(values, index=rows.ids, columns=reference.ids)
        frame.attrs["rationales"] = rationales
        frame.attrs["errors"] = judged.errors
    else:
        raise ValueError(f"unknown similarity method {method!r}: use 'embedding' or 'llm'")
    frame.index.name, frame.columns.name = "cluster", "category"
    frame.attrs["method"] = method
    frame.attrs["row_names"] = {c.id: c.name for c in rows.categories}
    frame.attrs["col_names"] = {c.id: c.name for c in reference.categories}
    return frame


def _normalised(matrix: pd.DataFrame, method: str) -> np.ndarray:
    values = matrix.to_numpy(dtype=float)
    values = (values - 1.0) / 9.0 if method == "llm" else np.clip(values, 0.0, 1.0)
    return np.nan_to_num(values, nan=0.0)


def align_taxonomy(
    matrix: pd.DataFrame, *, threshold: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Optimal one-to-one matching of clusters to categories, coverage and one alignment score.

    Parameters
    ----------
    matrix:
        From :func:`similarity_matrix` (its ``attrs["method"]`` sets the scale).
    threshold:
        A match at or above it covers its category, in the matrix's own scale (1-10 for ``llm``,
        cosine for ``embedding``); default :data:`DEFAULT_THRESHOLDS`.

    Returns
    -------
    (matches, summary)
        ``matches``: one row per reference category with its matched cluster (or none), the
        similarity and whether it is covered. ``summary``: one row with ``alignment`` (mean over
        categories of the matched similarity scaled to 0-1, unmatched = 0), ``coverage``
        (share of categories whose one-to-one match reaches the threshold), ``coverage_any``
        (share that any cluster reaches, many-to-one), ``cluster_fit`` (mean over clusters of
        their best category's similarity scaled to 0-1: do the clusters mean something in the
        taxonomy's terms, whatever its size), the threshold and the sizes.

    Examples
    --------
    >>> m = pd.DataFrame([[0.9, 0.1], [0.2, 0.8]], index=["C1", "C2"], columns=["A", "B"])
    >>> m.attrs["method"] = "embedding"
    >>> float(align_taxonomy(m)[1].loc[0, "coverage"])
    1.0
    """
    method = str(matrix.attrs.get("method", "embedding"))
    threshold = DEFAULT_THRESHOLDS.get(method, 0.5) if threshold is None else float(threshold)
    scaled = _normalised(matrix, method)
    raw = matrix.to_numpy(dtype=float)
    rows, cols = linear_sum_assignment(-scaled)
    matched = {int(c): int(r) for r, c in zip(rows, cols, strict=True)}
    row_names = matrix.attrs.get("row_names", {})
    col_names = matrix.attrs.get("col_names", {})
    records = []
    for j, category in enumerate(matrix.columns):
        r = matched.get(j)
        similarity = float(raw[r, j]) if r is not None else float("nan")
        records.append(
            {
                "category": category,
                "category_name": col_names.get(category, category),
                "cluster": matrix.index[r] if r is not None else None,
                "cluster_name": row_names.get(matrix.index[r], matrix.index[r]) if r is not None else None,
                "similarity": similarity,
                "covered": bool(r is not None and similarity >= threshold),
                "best_any": float(np.nanmax(raw[:, j])) if np.isfinite(raw[:, j]).any() else float("nan"),
            }
        )
    matches = pd.DataFrame(records)
    n_categories = matrix.shape[1]
    score = sum(float(scaled[r, j]) for j, r in matched.items()) / n_categories
    summary = pd.DataFrame(
        [
            {
                "method": method,
                "alignment": score,
                "coverage": float(matches["covered"].mean()),
                "coverage_any": float((matches["best_any"] >= threshold).mean()),
                "cluster_fit": float(scaled.max(axis=1).mean()),
                "threshold": threshold,
                "n_clusters": matrix.shape[0],
                "n_categories": n_categories,
            }
        ]
    )
    return matches, summary
