"""The evaluation of a run as files (``RUN_DIR/evaluation/``) and as an HTML fragment for the report.

:func:`write_evaluation` writes what ``fmviz eval`` computed: ``summary.csv`` and ``summary.md``
(the side-by-side table and the notes), one CSV per table, and each figure as plotly JSON
(``*.plotly.json``, reloadable with ``plotly.io.read_json``) and as a standalone HTML file.
:func:`render_evaluation_section` reads that folder back into a ``<section>`` for the run's
report: it only reads files, so it never recomputes anything. Text from models and logs
(cluster names, rationales) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from fmviz.views.evaluation_figures import (
    assignment_quality_figure,
    reason_quality_figure,
    stability_figure,
    taxonomy_alignment_figure,
)

if TYPE_CHECKING:
    from fmviz.evaluate.run_eval import Evaluation

__all__ = [
    "EVALUATION_DIR",
    "evaluation_figures",
    "render_evaluation_section",
    "to_markdown",
    "write_evaluation",
]

#: The folder inside a run folder that ``fmviz eval`` writes.
EVALUATION_DIR = "evaluation"
#: Columns of the summary shown in the report, in order (those present).
_SUMMARY_COLUMNS = (
    "labels",
    "method",
    "weighted_f1_optimal",
    "weighted_f1_majority",
    "ari",
    "nmi",
    "purity",
    "n_clusters",
    "outliers",
    "alignment",
    "coverage",
    "coverage_any",
    "cluster_fit",
)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.3f}"
    return "" if value is None else str(value)


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (floats to 3 decimals; ``|`` in cells escaped).

    Examples
    --------
    >>> print(to_markdown(pd.DataFrame({"a": [0.5], "b": ["x|y"]})))
    | a | b |
    |---|---|
    | 0.500 | x\\|y |
    """

    def clean(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(clean(str(c)) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(clean(_cell(v)) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def evaluation_figures(evaluation: Evaluation) -> dict[str, go.Figure]:
    """The figures that apply to an evaluation, by file stem."""
    figures: dict[str, go.Figure] = {}
    assignment = evaluation.tables.get("assignment")
    if assignment is not None and len(assignment):
        figures["assignment_f1"] = assignment_quality_figure(assignment)
    for i, (method, matrix) in enumerate(evaluation.similarity.items(), start=1):
        figures[f"taxonomy_{i}"] = taxonomy_alignment_figure(matrix, title=f"{method} vs reference taxonomy")
    ensemble = evaluation.tables.get("stability_ensemble")
    if ensemble is not None and len(ensemble):
        figures["stability_ensemble"] = stability_figure(
            ensemble, title="Ensemble members vs aggregate (ARI)"
        )
    reruns = evaluation.tables.get("stability_reruns")
    if reruns is not None and "pairwise" in reruns.attrs:
        figures["stability_reruns"] = stability_figure(
            reruns.attrs["pairwise"], title="Reruns over seeds and input orders (ARI)"
        )
    reasons = evaluation.tables.get("reason_quality")
    if reasons is not None and len(reasons):
        figures["reason_quality"] = reason_quality_figure(reasons)
    return figures


def write_evaluation(evaluation: Evaluation, folder: str | Path) -> dict[str, Path]:
    """Write tables (CSV), the summary (CSV + Markdown with notes) and figures (plotly JSON + HTML).

    Returns
    -------
    dict
        ``{name: path}`` of every file written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    summary = evaluation.summary()
    summary.to_csv(folder / "summary.csv", index=False)
    written["summary.csv"] = folder / "summary.csv"
    parts = ["# Evaluation", ""]
    if len(summary):
        shown = summary[[c for c in _SUMMARY_COLUMNS if c in summary.columns]]
        parts += [to_markdown(shown), ""]
    for name in ("taxonomy", "reason_quality_summary", "stability_reruns"):
        table = evaluation.tables.get(name)
        if table is not None and len(table):
            parts += [f"## {name.replace('_', ' ')}", "", to_markdown(table), ""]
    if evaluation.notes:
        parts += ["## Notes", "", *[f"- {note}" for note in evaluation.notes], ""]
    (folder / "summary.md").write_text("\n".join(parts), encoding="utf-8")
    written["summary.md"] = folder / "summary.md"
    (folder / "notes.json").write_text(json.dumps(evaluation.notes, indent=1), encoding="utf-8")
    written["notes.json"] = folder / "notes.json"
    for name, table in evaluation.tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        written[f"{name}.csv"] = folder / f"{name}.csv"
    for name, matrix in evaluation.similarity.items():
        stem = "similarity__" + "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
        matrix.to_csv(folder / f"{stem}.csv")
        written[f"{stem}.csv"] = folder / f"{stem}.csv"
    for stem, fig in evaluation_figures(evaluation).items():
        fig.write_json(folder / f"{stem}.plotly.json")
        # "directory": one plotly.min.js next to the files, so they open offline without 4 MB each
        fig.write_html(folder / f"{stem}.html", include_plotlyjs="directory", full_html=True)
        written[f"{stem}.plotly.json"] = folder / f"{stem}.plotly.json"
        written[f"{stem}.html"] = folder / f"{stem}.html"
    return written


def _table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_evaluation_section(run_dir: str | Path) -> str:
    """An HTML ``<section>`` with the evaluation ``fmviz eval`` wrote into ``run_dir``.

    Figures are embedded with ``include_plotlyjs=False`` (the report inlines plotly once).
    Returns ``""`` when the run has not been evaluated, so a report can always call it.

    Examples
    --------
    >>> render_evaluation_section("runs/navigation")[:30]  # doctest: +SKIP
    '<section id="evaluation"><h2>Ev'
    """
    folder = Path(run_dir) / EVALUATION_DIR
    summary_path = folder / "summary.csv"
    if not summary_path.exists():
        return ""
    parts = ['<section id="evaluation"><h2>Evaluation</h2>']
    parts.append(
        '<p class="muted">From <code>fmviz eval</code>. Weighted F1 maps clusters to labels by optimal '
        "one-to-one matching (unmatched clusters and outliers count as wrong) and, as a second view, by "
        "majority vote. EA: nearest cluster by embedding; RA: random cluster.</p>"
    )
    summary = pd.read_csv(summary_path)
    if len(summary):
        parts.append(_table_html(summary[[c for c in _SUMMARY_COLUMNS if c in summary.columns]]))
    notes_path = folder / "notes.json"
    notes = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.exists() else []
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
    for path in sorted(folder.glob("*.plotly.json")):
        fig = pio.read_json(path)
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False))
    parts.append("</section>")
    return "".join(parts)
