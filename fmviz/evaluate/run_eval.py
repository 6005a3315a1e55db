"""Everything that applies to one finished run, computed in one call (what ``fmviz eval`` runs).

Given a run's dataset, reasons, cluster set and assignments, :func:`evaluate_run` computes the
paper's comparisons that the data supports and skips the rest with a note saying why:

* assignment quality per label column (Fig. 5), with EA and RA, and the BERTopic baselines;
* taxonomy alignment against an expert taxonomy (Fig. 4) for the run and each baseline;
* reason quality against expert reasons (Table I), when the reasons are not those references;
* stability: ensemble members (LLM cluster sets) and reruns over seeds and orders (offline);
* monitor metrics (Table II), when the run folder holds a monitor's steps and outcomes.

It returns tables only (DataFrames); figures and files are the caller's (views and the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from fmviz.evaluate.assignment import assignment_quality, compare_assigners
from fmviz.evaluate.reason_quality import reason_quality, summarize_reason_quality
from fmviz.evaluate.stability import ensemble_stability, rerun_stability
from fmviz.evaluate.taxonomy import Taxonomy, align_taxonomy, similarity_matrix
from fmviz.results import Assignments, ClusterSet, Reasons

if TYPE_CHECKING:
    from fmviz import LLM
    from fmviz.episodes import Dataset
    from fmviz.offline.embeddings import Embedder

__all__ = ["BASELINES", "Evaluation", "evaluate_run", "truth_labels"]

#: Baselines ``evaluate_run`` knows.
BASELINES = ("ea", "ra", "bertopic", "bertopic-llm")


@dataclass
class Evaluation:
    """Tables by name, the similarity matrices behind the taxonomy figures, and notes."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: ``{method: cluster x category similarity}`` (Fig. 4 heatmaps).
    similarity: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: What was skipped and why, and how to read what was computed.
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per (labels, method): assignment scores and, where computed, taxonomy alignment."""
        assignment = self.tables.get("assignment")
        taxonomy = self.tables.get("taxonomy")
        if assignment is None and taxonomy is None:
            return pd.DataFrame()
        if assignment is None:
            return taxonomy.copy()
        if taxonomy is None:
            return assignment.copy()
        columns = ["method", "alignment", "coverage", "coverage_any", "cluster_fit"]
        return assignment.merge(taxonomy[columns], on="method", how="left")


def truth_labels(dataset: Dataset, column: str) -> dict[str, str]:
    """``{episode id: label}`` from ``label`` or a metadata column; ``A|B`` joins several columns.

    Raises
    ------
    ValueError
        When no episode has a value in the column, listing the columns that exist.
    """
    parts = [p.strip() for p in column.split("|") if p.strip()]
    out: dict[str, str] = {}
    for episode in dataset:
        values = []
        for part in parts:
            value = episode.label if part == "label" else episode.metadata.get(part)
            if value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip():
                values = []
                break
            values.append(str(value).strip())
        if values:
            out[episode.id] = " | ".join(values)
    if not out:
        known = sorted({"label", *(k for e in dataset for k in e.metadata)})
        raise ValueError(f"no episode has a value in label column {column!r}; columns: {', '.join(known)}")
    return out


def evaluate_run(
    dataset: Dataset,
    reasons: Reasons,
    clusters: ClusterSet,
    assignments: Assignments,
    *,
    labels: Sequence[str] = (),
    taxonomy: Taxonomy | None = None,
    baselines: Sequence[str] = ("ea", "ra"),
    judge: LLM | None = None,
    labeller: LLM | None = None,
    embedder: Embedder | None = None,
    seed: int = 0,
    stability: bool = True,
) -> Evaluation:
    """Compute every comparison that applies to a run.

    Parameters
    ----------
    dataset, reasons, clusters, assignments:
        The run.
    labels:
        Label columns to score assignments against (``label``, a metadata column, or ``A|B``).
    taxonomy:
        An expert taxonomy to align cluster sets with (:func:`~fmviz.evaluate.taxonomy.load_taxonomy`).
    baselines:
        Any of :data:`BASELINES`.
    judge:
        An LLM for the reason judge and the taxonomy similarity; ``None`` scores taxonomy
        similarity by embeddings and leaves the reason judge out.
    labeller:
        The LLM that names BERTopic topics (``bertopic-llm``); default ``judge``.
    embedder:
        The embedding model for EA, cosine and offline similarity (default: bundled MiniLM).
    seed:
        RA's seed, BERTopic's UMAP seed and the reference seed of the rerun stability.
    stability:
        Compute the stability tables (reruns the offline discovery a few times).

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> ev = evaluate_run(ds, r.reasons, r.clusters, r.assignments, labels=["label"])  # doctest: +SKIP
    >>> ev.summary()  # doctest: +SKIP
    """
    from fmviz.offline.embeddings import Embedder

    embedder = embedder if embedder is not None else Embedder()
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}: choose from {', '.join(BASELINES)}")
    out = Evaluation()
    engine = str(clusters.provenance.get("engine", "")) or "run"
    ours = f"fmviz ({engine})"
    sets: dict[str, tuple[ClusterSet, Assignments]] = {ours: (clusters, assignments)}
    if "bertopic" in baselines or "bertopic-llm" in baselines:
        from fmviz.evaluate.baselines import bertopic_baseline, bertopic_llm_baseline

        try:
            base = bertopic_baseline(reasons, embedder=embedder, seed=seed)
        except ValueError as exc:  # too few reasons for a topic model: the other comparisons still run
            out.notes.append(f"BERTopic baselines skipped: {exc}.")
            baselines = [b for b in baselines if b not in ("bertopic", "bertopic-llm")]
    if "bertopic" in baselines or "bertopic-llm" in baselines:
        if "bertopic" in baselines:
            sets["BERTopic"] = base
        if "bertopic-llm" in baselines:
            model = labeller or judge
            if model is None:
                out.notes.append("BERTopic-LLM skipped: it needs a model to name topics (--labeller SPEC).")
            else:
                sets[f"BERTopic-LLM ({model.spec})"] = bertopic_llm_baseline(
                    reasons, model, base=base, domain=dataset.domain
                )
                out.notes.append(
                    f"BERTopic-LLM shares BERTopic's topics and assignments; only names differ "
                    f"({model.spec})."
                )

    rows = []
    for column in labels:
        truth = truth_labels(dataset, column)
        frame = compare_assigners(
            reasons,
            clusters,
            truth,
            assignments=assignments,
            method=ours,
            baselines=[b for b in baselines if b in ("ea", "ra")],
            embedder=embedder,
            seed=seed,
            labels_name=column,
        )
        others = {name: a for name, (_, a) in sets.items() if name != ours}
        if others:
            frame = pd.concat(
                [frame, assignment_quality(others, truth, labels_name=column)], ignore_index=True
            )
        rows.append(frame)
    if rows:
        out.tables["assignment"] = pd.concat(rows, ignore_index=True)
    else:
        out.notes.append("Assignment quality skipped: no label column given and the episodes carry no label.")

    if taxonomy is not None:
        method = "llm" if judge is not None else "embedding"
        summaries = []
        for name, (cluster_set, _) in sets.items():
            if not len(cluster_set):
                out.notes.append(f"Taxonomy alignment of {name} skipped: it found no clusters.")
                continue
            matrix = similarity_matrix(cluster_set, taxonomy, method=method, embedder=embedder, llm=judge)
            matches, summary = align_taxonomy(matrix)
            out.similarity[name] = matrix
            out.tables[f"taxonomy_matches__{_slug(name)}"] = matches.assign(method=name)
            summaries.append(summary.assign(method=name, judge=method, taxonomy=taxonomy.name))
        if summaries:
            out.tables["taxonomy"] = pd.concat(summaries, ignore_index=True)

    _reason_tables(out, dataset, reasons, embedder, judge)
    if stability:
        _stability_tables(out, reasons, clusters, assignments, embedder, seed)
    return out


def _reason_tables(
    out: Evaluation, dataset: Dataset, reasons: Reasons, embedder: Embedder, judge: LLM | None
) -> None:
    references = {e.id: e.expert_reason for e in dataset if e.expert_reason}
    if not references:
        out.notes.append("Reason quality skipped: no episode has an expert_reason to compare with.")
        return
    if all(r.engine == "offline:expert_reason" for r in reasons if r.episode_id in references):
        out.notes.append(
            "Reason quality skipped: the offline engine used the expert reasons themselves as reasons; "
            "run stage 1 with a model (--reasons gemini:... or local) to score it."
        )
        return
    frame = reason_quality(reasons, references, embedder=embedder, llm=judge)
    out.tables["reason_quality"] = frame
    out.tables["reason_quality_summary"] = summarize_reason_quality(
        frame, method=", ".join(sorted({r.engine for r in reasons if r.engine})) or "reasons"
    )


def _stability_tables(
    out: Evaluation,
    reasons: Reasons,
    clusters: ClusterSet,
    assignments: Assignments,
    embedder: Embedder,
    seed: int,
) -> None:
    ensemble = ensemble_stability(reasons, clusters, assignments=assignments, embedder=embedder)
    if len(ensemble):
        out.tables["stability_ensemble"] = ensemble.rename_axis("clustering").reset_index()
    if clusters.provenance.get("engine") == "offline":
        from fmviz.evaluate.stability import partition_from_members
        from fmviz.offline import OfflineEngine

        def discover(batch: Reasons, s: int) -> ClusterSet:
            return OfflineEngine(embedder=embedder, seed=s, cleaner=False).discover_clusters(batch)

        saved = partition_from_members(clusters) or assignments.labels()
        out.tables["stability_reruns"] = rerun_stability(
            reasons, discover, seeds=(seed, seed + 1, seed + 2), orders=2, saved=saved
        )
    elif not len(ensemble):
        out.notes.append("Stability skipped: the cluster set has no ensemble members and is not offline.")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
