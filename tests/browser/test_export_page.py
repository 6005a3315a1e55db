"""An executed notebook exported to HTML, opened from file:// with the network blocked.

The notebook is built in code over SYNTHETIC data, executed with nbclient (widget state
stored, as ``jupyter nbconvert --execute`` does) and exported with ``fmviz export``.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fmviz.cli import main
from fmviz.views._widget import link
from fmviz.views.embedding_map import EmbeddingMap
from fmviz.views.export import embed_widgets_html
from fmviz.views.scrubber import Scrubber, ScrubberEpisode
from tests.browser.conftest import INJECTIONS

pytestmark = pytest.mark.e2e


_SETUP = f"""
import numpy as np
import plotly.express as px
import plotly.io as pio
from fmviz.views._widget import link
from fmviz.views.embedding_map import EmbeddingMap
from fmviz.views.scrubber import Scrubber, ScrubberEpisode
pio.renderers.default = "plotly_mimetype+notebook"
INJECTIONS = {INJECTIONS!r}
ids = [f"e{{i}}" for i in range(8)]
clusters = ["c1", "c1", "c1", "c2", "c2", "c2", "outlier", "outlier"]
names = {{"c1": "Glass doors", "c2": "Chair legs"}}
emap = EmbeddingMap.from_points(np.arange(8.0), np.arange(8.0) % 3, ids, clusters, names,
                                [INJECTIONS[i % 4] for i in range(8)])
frames = lambda i: [np.full((60, 80, 3), 25 * i + 10 * k, np.uint8) for k in range(4)]
scrubber = Scrubber.from_episodes([
    ScrubberEpisode(e, frames(i), [0.5 * k for k in range(4)], failure_reason=INJECTIONS[i % 4],
                    context=INJECTIONS[(i + 1) % 4], cluster_id=clusters[i], cluster_name=clusters[i])
    for i, e in enumerate(ids)])
selection_link = link(emap, "selected_ids", scrubber, "filter_ids")
"""


def _notebook() -> nbformat.NotebookNode:
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        new_markdown_cell("# Synthetic triage\n\n" + "\n\n".join(INJECTIONS)),
        new_code_cell(_SETUP),
        new_code_cell("emap"),
        new_code_cell("scrubber"),
        new_code_cell('scrubber.current = "e4"\nemap.highlight_cluster = "c2"'),
        new_code_cell('px.bar(x=["c1", "c2"], y=[3, 3], title="synthetic counts")'),
        new_code_cell("print(INJECTIONS[0])"),
    ]
    return notebook


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    source = folder / "triage.ipynb"
    nbformat.write(_notebook(), source)
    out = folder / "triage.html"
    assert main(["export", str(source), "--out", str(out), "--execute", "--timeout", "120"]) == 0
    return out


def _open(probe, path: Path) -> None:
    probe.page.goto(path.as_uri())
    probe.page.wait_for_function("document.body.dataset.fmvizWidgets !== undefined", timeout=30000)


def test_exported_notebook_shows_saved_widget_state_with_no_network(probe, exported):
    _open(probe, exported)
    page = probe.page
    assert page.evaluate("document.body.dataset.fmvizWidgets") == "2"
    assert page.locator(".fmviz-map-legend-item").all_inner_texts() == [
        "Glass doors (3)", "Chair legs (3)", "Outlier (2)",
    ]  # fmt: skip
    assert page.locator(".fmviz-map-legend-item.fmviz-active").inner_text() == "Chair legs (3)"
    assert page.inner_text(".fmviz-scrub-id") == "e4"  # the state saved after display
    assert page.locator(".fmviz-scrub-frame").get_attribute("src").startswith("blob:")
    page.wait_for_selector(".fmviz-plotly .main-svg")  # plotly.js inlined, figure drawn
    page.wait_for_timeout(300)
    probe.screenshot("export_notebook")
    assert probe.blocked == []
    assert probe.errors == []
    assert probe.dialogs == []


def test_map_selection_filters_the_scrubber_in_the_static_page(probe, exported):
    _open(probe, exported)
    page = probe.page
    page.click(".fmviz-map .fmviz-button >> text=Box")
    box = page.locator(".fmviz-map-overlay").bounding_box()
    # Points lie on x = 0..7: the left third of the canvas holds e0..e2.
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.36, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] * 0.36, box["y"] + box["height"] - 2)
    page.mouse.up()
    assert page.inner_text(".fmviz-map-status").startswith("3 of 8")
    assert page.locator(".fmviz-scrub-row").all_inner_texts()[0].startswith("e0")
    assert page.locator(".fmviz-scrub-row").count() == 3
    assert "3 selected on the map" in page.inner_text(".fmviz-scrub-selection")
    probe.screenshot("export_linked_selection")
    assert probe.errors == []
    assert probe.blocked == []
    assert probe.dialogs == []


def test_injection_strings_stay_text_in_the_exported_page(probe, exported):
    _open(probe, exported)
    page = probe.page
    body = page.inner_text("main")
    assert "<script>alert('script')</script>" in body
    assert "<img src=x onerror=alert('img')>" in body
    assert page.locator("main svg[onload], main img[onerror], a[href^='javascript']").count() == 0
    page.mouse.move(*_first_point(page))
    assert probe.dialogs == []
    assert probe.errors == []


def _first_point(page) -> tuple[float, float]:
    box = page.locator(".fmviz-map-overlay").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_embed_widgets_html_renders_a_box_of_linked_widgets(probe, tmp_path: Path):
    emap = EmbeddingMap.from_points([0.0, 1.0, 2.0], [0.0, 1.0, 0.0], ["a", "b", "c"], ["c1", "c2", "c2"])
    scrubber = Scrubber.from_episodes(
        [
            ScrubberEpisode(e, failure_reason=f"reason {e}", cluster_id=c)
            for e, c in zip("abc", ["c1", "c2", "c2"], strict=False)
        ]
    )
    link(emap, "highlight_cluster", scrubber, "cluster_filter")
    fragment = embed_widgets_html([ipywidgets.VBox([emap, scrubber])])
    page_path = tmp_path / "fragment.html"
    page_path.write_text(f"<!doctype html><meta charset='utf-8'><body>{fragment}</body>", encoding="utf-8")
    _open(probe, page_path)
    probe.page.click("text=c2 (2)")
    assert probe.page.locator(".fmviz-scrub-row").count() == 2  # the link ran in the page
    probe.screenshot("embed_fragment_box")
    assert probe.errors == []
    assert probe.blocked == []


def test_every_widget_page_has_its_python_state(exported):
    html = exported.read_text(encoding="utf-8")
    assert html.count('"_model_name":"AnyModel"') == 2
    assert np.isfinite(len(html))
