"""The embedding map's ES module in Chromium with a fake model (synthetic points)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fmviz.views.embedding_map import EmbeddingMap
from tests.browser.conftest import INJECTIONS

pytestmark = pytest.mark.e2e


def _grid_map(**kwargs: object) -> EmbeddingMap:
    """Synthetic: a 10 x 10 grid of points, left half cluster c1, right half c2."""
    xs, ys = np.meshgrid(np.arange(10, dtype=np.float32), np.arange(10, dtype=np.float32))
    x, y = xs.ravel(), ys.ravel()
    ids = [f"e{i}" for i in range(100)]
    clusters = ["c1" if xv < 5 else "c2" for xv in x]
    texts = [INJECTIONS[i % len(INJECTIONS)] for i in range(100)]
    return EmbeddingMap.from_points(x, y, ids, clusters, {"c1": "Left", "c2": "Right"}, texts, **kwargs)


def _canvas_box(probe):
    return probe.page.locator(".fmviz-map-overlay").bounding_box()


def _data_to_page(probe, widget: EmbeddingMap, xv: float, yv: float) -> tuple[float, float]:
    """Page coordinates of a data point, using the same fit the widget draws with."""
    box = _canvas_box(probe)
    pad = 12
    s = min((box["width"] - 2 * pad) / 9, (box["height"] - 2 * pad) / 9)
    tx = pad + (box["width"] - 2 * pad - s * 9) / 2
    ty = box["height"] - pad - (box["height"] - 2 * pad - s * 9) / 2
    return box["x"] + tx + s * xv, box["y"] + ty - s * yv


def test_map_renders_every_point_and_the_legend_names(probe, mount):
    widget = _grid_map(title="Synthetic grid")
    mount(probe, widget, "map_render")
    probe.page.wait_for_function("document.querySelector('.fmviz-map').dataset.drawn >= 1")
    legend = probe.page.locator(".fmviz-map-legend-item").all_inner_texts()
    assert legend == ["Left (50)", "Right (50)"]
    painted = probe.page.evaluate(
        """() => { const c = document.querySelector('.fmviz-map-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )
    assert painted >= 100 * 4  # every point is at least 2 x 2 pixels
    probe.screenshot("embedding_map_render")
    assert probe.errors == []
    assert probe.blocked == []


def test_lasso_around_the_left_columns_selects_exactly_their_ids(probe, mount):
    widget = _grid_map()
    mount(probe, widget, "map_lasso")
    probe.page.wait_for_function("document.querySelector('.fmviz-map').dataset.drawn >= 1")
    # A free-hand loop around columns x = 0..2, all rows (drawn as many small moves).
    corners = [(-0.5, -0.25), (2.5, -0.25), (2.5, 9.25), (-0.5, 9.25), (-0.5, -0.2)]
    points = [_data_to_page(probe, widget, *c) for c in corners]
    page = probe.page
    page.mouse.move(*points[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for step in range(1, 11):
            page.mouse.move(x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10)
    page.mouse.up()
    selected = page.evaluate("window.fmvizModel.get('selected_ids')")
    expected = [f"e{i}" for i in range(100) if i % 10 <= 2]
    assert selected == expected
    assert page.evaluate("window.fmvizModel.saves") >= 1
    probe.screenshot("embedding_map_lasso")


def test_box_select_and_highlight_from_the_legend(probe, mount):
    widget = _grid_map()
    mount(probe, widget, "map_box")
    page = probe.page
    page.click("text=Box")
    x0, y0 = _data_to_page(probe, widget, 6.5, 9.25)
    x1, y1 = _data_to_page(probe, widget, 9.5, 7.5)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
    page.mouse.move(x1, y1)
    page.mouse.up()
    selected = page.evaluate("window.fmvizModel.get('selected_ids')")
    assert selected == [f"e{r * 10 + c}" for r in (8, 9) for c in (7, 8, 9)]
    page.click("text=Right (50)")
    assert page.evaluate("window.fmvizModel.get('highlight_cluster')") == "c2"
    probe.screenshot("embedding_map_box_highlight")


def test_hover_shows_the_reason_as_inert_text(probe, mount):
    widget = _grid_map()
    mount(probe, widget, "map_hover")
    page = probe.page
    for index in range(4):  # e0..e3 carry the four injection strings
        page.mouse.move(*_data_to_page(probe, widget, index, 0))
        tooltip = page.locator(".fmviz-map-tooltip")
        assert tooltip.is_visible()
        assert INJECTIONS[index] in tooltip.inner_text()
    assert (
        page.locator(".fmviz-map-tooltip img, .fmviz-map-tooltip svg, .fmviz-map-tooltip script").count() == 0
    )
    probe.screenshot("embedding_map_hover")
    assert probe.dialogs == []
    assert probe.errors == []
