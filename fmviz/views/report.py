"""A standalone HTML report of one run that opens offline and can be shared as a file.

The plotly library is inlined once, so the file needs no network. Every piece of text
that came from a model or a log is escaped with :func:`html.escape`; figures get their
text escaped in :mod:`fmviz.views.figures`.
"""

from __future__ import annotations

import html
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from plotly.offline import get_plotlyjs

from fmviz.results import OUTLIER, StaleResultsWarning
from fmviz.views.evaluation import render_evaluation_section
from fmviz.views.figures import (
    cluster_frequency_figure,
    embedding_map_figure,
    k_curve_figure,
    taxonomy_heatmap,
)

if TYPE_CHECKING:
    from fmviz.results import RunResult

__all__ = ["render_report", "write_report"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2933;padding:0 1rem}
h1{margin-bottom:.2rem} .muted{color:#616e7c} table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #e4e7eb;padding:.4rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#f5f7fa} .cluster{border:1px solid #e4e7eb;border-radius:8px;padding:.8rem 1rem;margin:1rem 0}
.kw{display:inline-block;background:#eef2ff;border-radius:4px;padding:0 .4rem;margin:0 .2rem .2rem 0;
font-size:.85rem} details{margin:.3rem 0} summary{cursor:pointer} .err{color:#9b1c1c}
.stale{background:#fff4e5;border:1px solid #f0b429;border-radius:6px;padding:.5rem .8rem}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                cells.append(f"<td>{value:.3g}</td>")
            elif isinstance(value, (list, tuple)):
                cells.append(f"<td>{_e(', '.join(map(str, value)))}</td>")
            else:
                cells.append(f"<td>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(fig: object) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False)  # type: ignore[attr-defined]


def _examples(result: RunResult, per_cluster: int) -> str:
    table = result.table()
    blocks = []
    for cluster in [*result.clusters, None]:
        cluster_id = cluster.id if cluster else OUTLIER
        members = table[table["cluster_id"] == cluster_id]
        if cluster is None and members.empty:
            continue
        name = cluster.name if cluster else "Outliers"
        keywords = "".join(f'<span class="kw">{_e(k)}</span>' for k in (cluster.keywords if cluster else []))
        description = _e(cluster.description) if cluster else "Episodes that fit no cluster."
        items = []
        for row in members.head(per_cluster).itertuples(index=False):
            items.append(
                f"<details><summary><b>{_e(row.episode_id)}</b>: {_e(row.failure_reason)}</summary>"
                f"<p><b>Trajectory.</b> {_e(row.trajectory)}</p>"
                f"<p><b>Why this cluster.</b> {_e(row.rationale)}</p></details>"
            )
        blocks.append(
            f'<div class="cluster"><h3>{_e(cluster_id)}: {_e(name)} '
            f'<span class="muted">({len(members)} episodes)</span></h3>'
            f"<p>{description}</p><p>{keywords}</p>{''.join(items) or '<p class=muted>no members</p>'}</div>"
        )
    return "".join(blocks)


def _labels_section(result: RunResult) -> str:
    labels = {e.id: e.label for e in result.dataset if e.label}
    if len(labels) < 2:
        return ""
    from fmviz.evaluate.metrics import cluster_agreement

    predicted = {k: v for k, v in result.current_assignments.labels().items() if k in labels}
    if not predicted:
        return ""
    truth = {k: labels[k] for k in predicted}
    scores = cluster_agreement(predicted, truth)
    names = result.clusters.names() | {OUTLIER: "Outlier"}
    crosstab = pd.crosstab(
        pd.Series({k: f"{v}: {names.get(v, v)}" for k, v in predicted.items()}, name="cluster"),
        pd.Series(truth, name="label"),
    )
    fig = taxonomy_heatmap(crosstab, title="Clusters vs dataset labels (row-normalised)")
    return (
        "<h2>Agreement with dataset labels</h2>"
        f"<p>Adjusted Rand index {scores['ari']:.3f}, normalised mutual information {scores['nmi']:.3f} "
        f"over {scores['n']} labelled episodes. Labels describe the dataset's own taxonomy, "
        "which need not match failure modes one to one.</p>" + _figure(fig)
    )


def _selection_section(result: RunResult) -> str:
    """How the number of modes was chosen and what was taken out of the texts' style."""
    provenance = result.clusters.provenance
    fig = k_curve_figure(provenance.get("k_selection") or {})
    if fig is None:
        return ""
    parts = ["<h2>How many failure modes</h2>", _figure(fig)]
    signal = provenance.get("source_signal")
    if isinstance(signal, dict) and signal.get("method") not in (None, "none"):
        parts.append(
            f"<p class=muted>Each source's writing style was taken out before clustering "
            f"({_e(signal.get('method'))}: {_e(signal.get('sources'))} sources, "
            f"{_e(signal.get('removed_directions'))} directions removed; held-out accuracy of telling "
            f"sources apart {_e(signal.get('balanced_accuracy'))}, chance {_e(signal.get('chance'))}).</p>"
        )
    return "\n".join(parts)


def _monitor_section(run_dir: Path) -> str:
    """The Table-II-like table ``fmviz monitor`` wrote into the run folder, if it ran."""
    table = run_dir / "monitor" / "table.csv"
    if not table.exists():
        return ""
    return (
        "<h2>Runtime failure monitor</h2><p class=muted>From <code>fmviz monitor</code>: held-out runs, "
        "in distribution (IID) and out of distribution (OOD); rates in percent, an alarm after k "
        "consecutive unsafe verdicts; lead time is how long before the failure the first alarm fired. "
        "Sources with no key and no cached calls are listed as not run.</p>" + _table(pd.read_csv(table))
    )


def _widgets_section(result: RunResult) -> str:
    """The embedding map and the clip scrubber as live widgets, linked, from their saved state."""
    from fmviz.views._widget import link
    from fmviz.views.embedding_map import EmbeddingMap
    from fmviz.views.export import embed_widgets_html
    from fmviz.views.scrubber import Scrubber

    scrubber = Scrubber.from_run(result)
    if result.embedding_map is None:
        return "<h2>Explore the episodes</h2>" + embed_widgets_html([scrubber])
    emap = EmbeddingMap.from_run(result)
    link(emap, "selected_ids", scrubber, "filter_ids")
    return (
        "<h2>Explore the episodes</h2><p class=muted>Lasso or box-select points on the map to list those "
        "episodes in the scrubber; play a clip's tail beside its reasons. Runs offline in this file.</p>"
        + embed_widgets_html([emap, scrubber])  # the link between them travels with their state
    )


def render_report(
    result: RunResult,
    *,
    examples_per_cluster: int = 3,
    run_dir: str | Path | None = None,
    widgets: bool = True,
) -> str:
    """The report as one HTML string (plotly and the widget runtime inlined, all text escaped).

    ``run_dir`` adds the evaluation ``fmviz eval`` wrote there; ``widgets`` the linked map and
    clip scrubber (their saved state, rendered with no network).
    """
    dataset = result.dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StaleResultsWarning)  # shown as a banner instead
        summary = result.summary()
    engines = ", ".join(f"{stage}: {spec}" for stage, spec in result.engines.items())
    stale = result.stale_message()
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>fmviz report: {_e(dataset.name)}</title><style>{_STYLE}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",
        f"<h1>Failure modes of {_e(dataset.name)}</h1>",
        f'<p class="muted">{_e(dataset.description)}</p>',
        f"<p>{len(dataset)} episodes, {len(result.reasons)} reasons, {len(result.clusters)} failure modes. "
        f"Engines: {_e(engines)}. Cluster set version {_e(result.clusters.version)} "
        f"({len(result.clusters.log)} edits). "
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by fmviz.</p>",
        f'<p class="stale"><b>Out of date:</b> {_e(stale)}</p>' if stale else "",
        '<p class="muted">Assignments were carried through the edits below; none needed re-asking.</p>'
        if result.carried_forward()
        else "",
        "<h2>Failure modes</h2>",
        _table(
            summary[["id", "name", "assigned", "pending", "share", "frequency", "keywords", "description"]]
        ),
        _figure(cluster_frequency_figure(summary)),
    ]
    if result.embedding_map is not None:
        hover = result.reasons.to_frame().set_index("episode_id")["failure_reason"]
        points = result.embedding_map.copy()  # coloured by the current (edited) assignments
        current = result.current_assignments.labels()
        points["cluster_id"] = points["episode_id"].map(current).fillna(points["cluster_id"])
        fig = embedding_map_figure(points, cluster_names=result.clusters.names(), hover=hover)
        parts.append(_figure(fig))
    parts.append(_selection_section(result))
    if len(result.clusters.log) or result.clusters.log.undone:
        parts.append("<h2>Edits</h2><p>Edits to the proposed failure modes, in order:</p>")
        parts.append(_table(result.clusters.log_frame()))
    if result.cleaning is not None and len(result.cleaning):
        parts.append(
            "<h2>Text cleaning</h2><p>Boilerplate repeated across the source and masked spans were "
            "removed before clustering (switch off with <code>--no-clean</code>):</p>"
            + _table(result.cleaning.head(15))
        )
        notes = sum(r.boilerplate_only for r in result.reasons)
        if notes:
            parts.append(
                f"<p>{notes} narratives are reporting boilerplate and nothing else (cover notes that "
                "describe no failure): they are outliers, not a failure mode.</p>"
            )
    parts.append(_labels_section(result))
    if run_dir is not None:
        parts.append(render_evaluation_section(run_dir))
        parts.append(_monitor_section(Path(run_dir)))
    if widgets:
        parts.append(_widgets_section(result))
    parts.append("<h2>Examples per failure mode</h2>" + _examples(result, examples_per_cluster))
    errors = result.reasons.errors | result.assignments.errors
    if errors:
        frame = pd.DataFrame({"episode_id": list(errors), "error": list(errors.values())})
        parts.append(f'<h2 class="err">Episodes with errors ({len(errors)})</h2>' + _table(frame))
    if result.ledger is not None:
        ledger = result.ledger.summary()
        if len(ledger):
            parts.append("<h2>Model calls and cost</h2>" + _table(ledger))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(result: RunResult, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`render_report` to ``path`` (its folder is the run folder) and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("run_dir", path.parent)
    path.write_text(render_report(result, **kwargs), encoding="utf-8")
    return path
