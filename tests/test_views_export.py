"""Offline HTML export: widget state embedded, untrusted text inert, no network references.

The notebooks here are built in code (synthetic); the browser tests open the same pages.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import ipywidgets
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from fmviz.cli import main
from fmviz.views._widget import link
from fmviz.views.embedding_map import EmbeddingMap
from fmviz.views.export import STATE_MIME, VIEW_MIME, embed_widgets_html, export_notebook, notebook_html
from fmviz.views.scrubber import Scrubber, ScrubberEpisode

INJECTIONS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    '"><svg onload=alert("svg")>',
    "[click](javascript:alert('link'))",
]
OUR_SCRIPT_TYPES = {STATE_MIME, VIEW_MIME, "module", "application/json", None}


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def _widgets() -> tuple[EmbeddingMap, Scrubber]:
    emap = EmbeddingMap.from_points(
        np.arange(4.0), np.arange(4.0), ["a", "b", "c", "d"], ["c1", "c1", "c2", "outlier"], texts=INJECTIONS
    )
    frames = [np.full((30, 40, 3), 90, np.uint8)] * 2
    scrubber = Scrubber.from_episodes(
        [ScrubberEpisode(e, frames, failure_reason=INJECTIONS[i]) for i, e in enumerate("abcd")]
    )
    return emap, scrubber


def _synthetic_notebook() -> nbformat.NotebookNode:
    """A notebook as nbconvert --execute saves it: outputs plus the widget state."""
    from ipywidgets.embed import dependency_state

    emap, scrubber = _widgets()
    link(emap, "selected_ids", scrubber, "filter_ids")
    table = {"text/html": f"<table><tr><td>{INJECTIONS[1]}</td></tr></table>"}
    styled = {"text/html": "<style>.x{}</style><script>alert(1)</script><b>ok</b>"}
    notebook = new_notebook()
    view = lambda w: {VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": w.model_id}}  # noqa: E731
    notebook.cells = [
        new_markdown_cell("# Report\n\n" + "\n\n".join(INJECTIONS)),
        new_code_cell("emap", outputs=[new_output("execute_result", data={**view(emap), "text/plain": "m"})]),
        new_code_cell("scrubber", outputs=[new_output("display_data", data=view(scrubber))]),
        new_code_cell(
            "table",
            outputs=[
                new_output("display_data", data=table),
                new_output("stream", name="stdout", text=INJECTIONS[0]),
                new_output("display_data", data=styled),
            ],
        ),
    ]  # fmt: skip
    state = dependency_state([emap, scrubber], drop_defaults=False)
    notebook.metadata["widgets"] = {STATE_MIME: {"version_major": 2, "version_minor": 0, "state": state}}
    return notebook


def test_the_page_embeds_every_saved_widget_and_the_link_between_them():
    page = notebook_html(_synthetic_notebook())
    blocks = [a for t, a in _tags(page) if t == "script" and a.get("type") == STATE_MIME]
    assert len(blocks) == 1
    start = page.index(f'<script type="{STATE_MIME}">') + len(f'<script type="{STATE_MIME}">')
    state = json.loads(page[start : page.index("</script>", start)])["state"]
    names = sorted(s["model_name"] for s in state.values())
    assert names.count("AnyModel") == 2
    assert "DirectionalLinkModel" in names
    assert sum(1 for t, a in _tags(page) if t == "script" and a.get("type") == VIEW_MIME) == 2


def test_untrusted_text_is_inert_in_the_page():
    page = notebook_html(_synthetic_notebook())
    for tag, attrs in _tags(page):
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert tag != "svg"
        assert not str(attrs.get("href", "")).lower().startswith("javascript:")
        if tag == "script":
            assert attrs.get("type") in OUR_SCRIPT_TYPES
        if tag == "img":  # an image loads nothing from outside the page
            assert "src" not in attrs or str(attrs["src"]).startswith("data:image/")
    assert "alert('script')</script>" not in page  # only escaped copies remain
    assert "<p>&lt;img src=x onerror=alert('img')&gt;</p>" in page  # the markdown shows it as text
    assert "<b>ok</b>" in page
    assert ".x{}" not in page


def test_the_page_refers_to_no_network_resource():
    page = notebook_html(_synthetic_notebook())
    for tag, attrs in _tags(page):
        for key in ("src", "href"):
            value = str(attrs.get(key) or "")
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert "require.js" not in page
    assert "mathjax" not in page.lower()


def test_plotly_js_is_inlined_once_for_any_number_of_figures():
    import plotly.graph_objects as go

    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4])).to_plotly_json()
    notebook = new_notebook()
    notebook.cells = [
        new_code_cell(
            "f", outputs=[new_output("display_data", data={"application/vnd.plotly.v1+json": figure})]
        )
        for _ in range(3)
    ]
    page = notebook_html(json.loads(json.dumps(notebook, default=str)))
    assert page.count('class="fmviz-plotly-figure"') == 3
    assert page.count("* plotly.js v") == 1
    assert page.count("Plotly.newPlot(") == 1


def test_embed_widgets_html_holds_state_views_and_the_runtime():
    emap, scrubber = _widgets()
    fragment = embed_widgets_html([emap, scrubber, ipywidgets.HBox([emap, scrubber])])
    assert fragment.count(f'<script type="{VIEW_MIME}">') == 3
    assert '<script type="module">' in fragment
    assert "class Manager" in fragment
    assert "</script" not in fragment.split('<script type="module">')[1].split("</script>")[0]


def test_fmviz_export_writes_the_page_and_reports_bad_input_in_one_line(tmp_path: Path, capsys):
    notebook_path = tmp_path / "report.ipynb"
    nbformat.write(_synthetic_notebook(), notebook_path)
    out = tmp_path / "out" / "report.html"
    assert main(["export", str(notebook_path), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert main(["export", str(tmp_path / "missing.ipynb"), "--out", str(out)]) == 2
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    assert main(["export", str(tmp_path / "bad.ipynb"), "--out", str(out)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert all(line.startswith("fmviz: error:") for line in errors)


def test_export_notebook_function_writes_a_file(tmp_path: Path):
    notebook_path = tmp_path / "n.ipynb"
    nbformat.write(_synthetic_notebook(), notebook_path)
    written = export_notebook(notebook_path, tmp_path / "n.html", show_code=False)
    assert '<pre class="source">' not in written.read_text(encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        export_notebook(tmp_path / "nope.ipynb", tmp_path / "x.html")
