"""The taxonomy heatmap and the ensemble view in Chromium with a fake model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _view_runs import make_run

from fmviz.results import Cluster, ClusterSet, Reason, Reasons
from fmviz.views.ensemble_view import EnsembleView
from fmviz.views.taxonomy_heatmap import TaxonomyHeatmap
from tests.browser.conftest import INJECTIONS

pytestmark = pytest.mark.e2e


def pixel(probe, x: float, y: float) -> tuple[int, int, int]:
    """The canvas colour at CSS pixel (x, y) of the first heatmap canvas."""
    return tuple(
        probe.page.evaluate(
            """([x, y]) => { const c = document.querySelector('.fmviz-heatmap-canvas');
            const r = window.devicePixelRatio || 1;
            const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
            return Array.from(d).slice(0, 3); }""",
            [x, y],
        )
    )


def geometry(probe) -> tuple[int, int, int]:
    data = probe.page.evaluate("Object.assign({}, document.querySelector('.fmviz-heatmap').dataset)")
    return int(data["cell"]), int(data["left"]), int(data["top"])


def twelve_clusters() -> TaxonomyHeatmap:
    """Synthetic: clusters C1..C12 against categories T1..T12, a shuffled one-to-one match."""
    order = np.random.default_rng(1).permutation(12)
    values = np.full((12, 12), 0.1)
    for i, j in enumerate(order):
        values[i, j] = 0.9
    rows = [f"C{i}" for i in range(1, 13)]
    frame = pd.DataFrame(values, index=rows, columns=[f"T{j}" for j in range(1, 13)])
    frame = frame.sample(frac=1.0, random_state=2)  # rows arrive out of order
    names = {r: f"Failure mode number {r[1:]} with a long name" for r in rows}
    return TaxonomyHeatmap.from_frame(frame, row_names=names, threshold=0.5, title="Synthetic taxonomy")


def test_the_heatmap_outlines_exactly_the_matched_cells(probe, mount) -> None:
    widget = twelve_clusters()
    mount(probe, widget, "heatmap_match")
    assert [r["id"] for r in widget.rows][:3] == ["C1", "C2", "C3"]
    assert [r["id"] for r in widget.rows][-3:] == ["C10", "C11", "C12"]
    cell, left, top = geometry(probe)
    matched = {tuple(p) for p in widget.matching.tolist()}
    assert len(matched) == 12
    for i in range(12):
        for j in (0, 5, 11):
            edge = pixel(probe, left + j * cell + 1, top + i * cell + cell / 2)
            is_red = edge[0] - max(edge[1], edge[2]) > 80  # the outline's red, not a blue cell
            assert is_red == ((i, j) in matched), (i, j, edge)
    summary = probe.page.locator(".fmviz-taxonomy-summary").inner_text()
    assert "Coverage: 12 of 12 categories" in summary
    probe.screenshot("taxonomy_heatmap_match")
    assert probe.errors == []
    assert probe.blocked == []


def test_hovering_a_cell_shows_its_episodes_as_inert_text(probe, mount) -> None:
    rows = {f"e{i}": ("C2" if i % 2 else "C10") for i in range(8)}
    cols = {f"e{i}": INJECTIONS[i % 4] for i in range(8)}
    reasons = Reasons([Reason(f"e{i}", "", INJECTIONS[(i + 1) % 4]) for i in range(8)])
    widget = TaxonomyHeatmap.from_labels(
        rows, cols, reasons=reasons, row_names={"C2": INJECTIONS[2], "C10": "Ten"}
    )
    mount(probe, widget, "heatmap_hover")
    assert [r["id"] for r in widget.rows] == ["C2", "C10"]
    cell, left, top = geometry(probe)
    box = probe.page.locator(".fmviz-heatmap-canvas").bounding_box()
    probe.page.mouse.move(box["x"] + left + cell / 2, box["y"] + top + cell / 2)
    card = probe.page.locator(".fmviz-heatmap-card")
    assert card.is_visible()
    text = card.inner_text()
    assert INJECTIONS[2] in text  # the row name, as text
    assert "e" in text
    assert probe.page.locator(".fmviz-heatmap-card *").evaluate_all("els => els.map(e => e.tagName)") == [
        "DIV"
    ] * (probe.page.locator(".fmviz-heatmap-card > div").count())
    probe.screenshot("taxonomy_heatmap_hover")
    assert probe.dialogs == []
    assert probe.errors == []


def test_the_ensemble_view_draws_the_ari_and_one_heatmap_per_member(probe, mount) -> None:
    member = {
        "clusters": [
            {"name": n, "description": "", "keywords": [n], "frequency": 0.5} for n in ("glass", "chair")
        ]
    }
    lumped = {
        "clusters": [
            {"name": "glass chair", "description": "", "keywords": ["glass", "chair"], "frequency": 1.0}
        ]
    }
    provenance = {
        "engine": "openai:test",
        "aggregate": {"members": [0, 1]},
        "members": [
            {"index": 0, "prompt": "p0", "clusters": member},
            {"index": 1, "prompt": INJECTIONS[0], "clusters": lumped},
        ],
    }
    clusters = ClusterSet(
        [Cluster("C1", "Glass", keywords=["glass"]), Cluster("C2", "Chair", keywords=["chair"])], provenance
    )
    reasons = Reasons([Reason(f"e{i}", "", ("glass" if i % 2 else "chair") + " hit") for i in range(10)])

    def by_keyword(rs, cs):
        return {
            r.episode_id: next((c.id for c in cs if any(k in r.text for k in c.keywords)), cs.ids[0])
            for r in rs
        }

    view = EnsembleView.from_cluster_set(clusters, reasons, partition=by_keyword)
    mount(probe, view, "ensemble_view")
    assert probe.page.locator(".fmviz-heatmap").count() == 3  # ARI + two members
    table = probe.page.locator(".fmviz-ensemble-table").inner_text()
    assert INJECTIONS[0] in table
    assert "1.00" in table
    probe.screenshot("ensemble_view")
    assert probe.dialogs == []
    assert probe.errors == []


def test_an_offline_set_shows_its_plain_message(probe, mount) -> None:
    view = EnsembleView.from_cluster_set(
        ClusterSet([Cluster("C1", "Glass")], {"engine": "offline"}), Reasons()
    )
    mount(probe, view, "ensemble_offline")
    assert "not made by a prompt ensemble" in probe.page.locator(".fmviz-ensemble-message").inner_text()
    assert probe.page.locator(".fmviz-heatmap").count() == 0
    probe.screenshot("ensemble_view_offline")
    assert json.loads(json.dumps(probe.errors)) == []


def test_a_similarity_heatmap_shows_the_clusters_members_on_hover(probe, mount) -> None:
    run = make_run()
    matrix = pd.DataFrame(
        np.eye(3) * 0.8 + 0.1, index=["C10", "C1", "C2"], columns=["Glass", "Legs", "Floor"]
    )
    widget = TaxonomyHeatmap.from_similarity(run, matrix)
    mount(probe, widget, "heatmap_similarity")
    cell, left, top = geometry(probe)
    box = probe.page.locator(".fmviz-heatmap-canvas").bounding_box()
    probe.page.mouse.move(box["x"] + left + cell * 1.5, box["y"] + top + cell * 2.5)  # row C10, second column
    text = probe.page.locator(".fmviz-heatmap-card").inner_text()
    assert text.split("\n")[0] == "Cables × Glass"  # rows C1, C2, C10; columns Floor, Glass, Legs
    assert "examples of Cables:" in text
    assert "cable-0: a cable on the floor" in text
    probe.screenshot("taxonomy_heatmap_similarity")
    assert probe.errors == []
