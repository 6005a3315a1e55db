"""The triage view exported to static HTML: its links run in the page with no kernel."""

from __future__ import annotations

import pytest
from _view_runs import run_with_map

from fmviz.views.export import embed_widgets_html
from fmviz.views.triage import Triage

pytestmark = pytest.mark.e2e


def open_exported(probe, tmp_path, widget, name: str) -> None:
    head = f'<!doctype html><html><head><meta charset="utf-8"><title>{name}</title></head>'
    page = f"{head}<body>{embed_widgets_html(widget)}</body></html>"
    path = tmp_path / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    probe.page.goto(path.as_uri())
    probe.page.wait_for_selector(".fmviz-editor-card")
    probe.page.wait_for_function(
        "document.querySelector('.fmviz-map') && document.querySelector('.fmviz-map').dataset.drawn >= 1"
    )


def test_choosing_a_cluster_in_the_editor_highlights_the_map_and_filters_the_list(probe, tmp_path) -> None:
    view = Triage.from_run(run_with_map())
    open_exported(probe, tmp_path, view, "triage_export")
    page = probe.page
    page.locator('.fmviz-editor-card[data-cluster="C10"] .fmviz-editor-id').click()
    active = page.locator(".fmviz-map-legend-item.fmviz-active")
    assert active.count() == 1
    assert active.get_attribute("data-cluster") == "C10"
    rows = page.locator(".fmviz-scrub-row")
    ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    assert sorted(ids) == ["cable-0", "cable-1", "cable-2"]
    probe.screenshot("triage_cluster_chosen")
    assert probe.errors == []
    assert probe.blocked == []


def test_a_box_on_the_map_filters_the_scrubber_list(probe, tmp_path) -> None:
    view = Triage.from_run(run_with_map(), editor=False)
    page = probe.page
    html = embed_widgets_html(view)
    path = tmp_path / "triage_box.html"
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"></head><body>{html}</body></html>',
        encoding="utf-8",
    )
    page.goto(path.as_uri())
    page.wait_for_function(
        "document.querySelector('.fmviz-map') && document.querySelector('.fmviz-map').dataset.drawn >= 1"
    )
    page.get_by_role("button", name="Box").click()
    box = page.locator(".fmviz-map-overlay").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] / 2 + 1, box["y"] + box["height"] - 2)
    page.mouse.up()
    status = page.locator(".fmviz-map-status").inner_text()
    chosen = int(status.split(" of ")[0])
    assert 0 < chosen < 12
    rows = page.locator(".fmviz-scrub-row")
    assert rows.count() == chosen
    probe.screenshot("triage_box_selection")
    assert probe.errors == []
