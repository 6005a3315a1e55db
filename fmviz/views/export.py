"""Offline HTML from widgets and executed notebooks: every widget live, no network at all.

``jupyter nbconvert --to html`` pages load require.js, MathJax and the widget manager from
public CDNs, so offline they show nothing and log ``net::ERR_FAILED``. Here the page carries
everything it runs: fmviz's small runtime (``widgets/_runtime/runtime.js``, an
implementation of the anywidget model API over saved state), each widget's own ES module
(saved in its ``_esm`` trait) and, when the notebook has plotly figures, plotly.js once.
Widget state and views use the standard embed format (``application/vnd.jupyter.widget-
state+json`` and ``widget-view+json`` script tags).

Untrusted text stays inert: markdown is rendered with raw HTML escaped and harmful link
schemes removed (mistune), ``text/html`` outputs pass bleach's allow-list, every other text
is escaped, and JSON inside ``<script>`` cannot close its tag.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fmviz.views._widget import _assets_root

__all__ = [
    "embed_widgets_html",
    "execute_notebook",
    "export_notebook",
    "notebook_html",
    "runtime_js",
    "widget_ids",
]

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "small",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": ["class", "title"], "a": ["href"], "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"],
}  # fmt: skip


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: images only from inline data (a page loads nothing)."""
    if tag == "img":
        return name in ("alt", "width", "height") or (name == "src" and value.startswith("data:image/"))
    return name in _ALLOWED_ATTRIBUTES.get(tag, []) or name in _ALLOWED_ATTRIBUTES["*"]


_PAGE_CSS = """
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
.cell { margin: 12px 0; }
pre.source { background: #f6f8fa; border: 1px solid #e5e5e5; border-radius: 4px; padding: 8px;
  overflow: auto; }
pre.stream, pre.text { margin: 4px 0; overflow: auto; white-space: pre-wrap; }
pre.stderr { background: #fff4f4; }
.output img { max-width: 100%; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 2px 6px; }
.fmviz-static-fallback { display: block; }
"""


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``</`` or ``<!--`` can appear."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def runtime_js() -> str:
    """The runtime's source (inlined into every page)."""
    return (_assets_root() / "_runtime" / "runtime.js").read_text(encoding="utf-8")


def _state_block(state: dict[str, Any]) -> str:
    payload = {"version_major": 2, "version_minor": 0, "state": state}
    return f'<script type="{STATE_MIME}">{_script_json(payload)}</script>'


def _view_block(model_id: str) -> str:
    view = {"version_major": 2, "version_minor": 0, "model_id": model_id}
    return f'<script type="{VIEW_MIME}">{_script_json(view)}</script>'


def _runtime_block() -> str:
    source = runtime_js().replace("</script", "<\\/script")
    return f'<script type="module">{source}</script>'


def embed_widgets_html(widgets: Any | Sequence[Any]) -> str:
    """An HTML fragment that renders live widgets from their current state, offline.

    The fragment holds the widgets' state (and that of every widget they refer to, plus
    the ``jslink``/``jsdlink`` links between them), one view per widget, and the runtime.
    Several fragments may share a page; the runtime runs once and renders them all.

    Parameters
    ----------
    widgets:
        One widget or a list of widgets (any ipywidgets / anywidget widget).

    Examples
    --------
    >>> import ipywidgets
    >>> "widget-state+json" in embed_widgets_html(ipywidgets.Label("hi"))
    True
    """
    from ipywidgets.embed import dependency_state

    items = list(widgets) if isinstance(widgets, (list, tuple)) else [widgets]
    state = dependency_state(items, drop_defaults=False)
    views = "\n".join(f'<div class="fmviz-widget">{_view_block(w.model_id)}</div>' for w in items)
    return "\n".join([_state_block(state), views, _runtime_block()])


# ----------------------------------------------------------------------------- notebooks


def execute_notebook(path: str | Path, *, timeout: int = 600) -> Any:
    """Run a notebook top to bottom (nbclient) and keep its widget state, like
    ``jupyter nbconvert --execute --ExecutePreprocessor.store_widget_state=True``."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, store_widget_state=True, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return notebook


def _markdown(text: str) -> str:
    import mistune

    return str(mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])(text))


def _sanitize_html(text: str) -> str:
    import bleach

    # <style> and <script> blocks would survive as visible text once bleach strips the tags.
    text = re.sub(r"<(style|script)\b.*?</\1\s*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    return bleach.clean(
        text,
        tags=_ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=["http", "https", "mailto", "data"],
        strip=True,
    )


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


class _Page:
    """Collects a notebook's cells as HTML and remembers whether plotly.js is needed."""

    def __init__(self, widget_ids: set[str]) -> None:
        self.widget_ids = widget_ids
        self.parts: list[str] = []
        self.plotly = 0

    def output(self, output: dict[str, Any]) -> str:
        kind = output.get("output_type")
        if kind == "stream":
            css = "stream stderr" if output.get("name") == "stderr" else "stream"
            return f'<pre class="{css}">{html.escape(_text(output.get("text", "")))}</pre>'
        if kind == "error":
            lines = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
            return f'<pre class="stream stderr">{html.escape(lines)}</pre>'
        data = output.get("data", {})
        view = data.get(VIEW_MIME)
        if view and view.get("model_id") in self.widget_ids:
            fallback = ""
            if "image/png" in data:
                png = _text(data["image/png"]).replace("\n", "")
                fallback = (
                    f'<noscript><img src="data:image/png;base64,{html.escape(png)}" alt="widget"></noscript>'
                )
            return f'<div class="fmviz-widget">{_view_block(view["model_id"])}{fallback}</div>'
        if PLOTLY_MIME in data:
            self.plotly += 1
            figure = data[PLOTLY_MIME]
            return (
                f'<div class="fmviz-plotly" id="fmviz-plotly-{self.plotly}"></div>'
                f'<script type="application/json" class="fmviz-plotly-figure">{_script_json(figure)}</script>'
            )
        for mime in ("image/png", "image/jpeg"):
            if mime in data:
                encoded = _text(data[mime]).replace("\n", "")
                try:
                    base64.b64decode(encoded, validate=True)  # base64 only, so it cannot leave src=""
                except ValueError:
                    return '<pre class="text">(an image output that is not valid base64)</pre>'
                return f'<img src="data:{mime};base64,{encoded}" alt="output">'
        if "text/html" in data:
            return f'<div class="html">{_sanitize_html(_text(data["text/html"]))}</div>'
        if "text/markdown" in data:
            return _markdown(_text(data["text/markdown"]))
        if "text/plain" in data:
            return f'<pre class="text">{html.escape(_text(data["text/plain"]))}</pre>'
        return ""

    def cell(self, cell: dict[str, Any], *, show_code: bool) -> None:
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            self.parts.append(f'<div class="cell markdown">{_markdown(source)}</div>')
        elif cell.get("cell_type") == "code":
            code = f'<pre class="source">{html.escape(source)}</pre>' if show_code and source.strip() else ""
            outputs = "".join(self.output(o) for o in cell.get("outputs", []))
            self.parts.append(f'<div class="cell code">{code}<div class="output">{outputs}</div></div>')


_PLOTLY_BOOT = """<script>
for (const node of document.querySelectorAll("script.fmviz-plotly-figure")) {
  const figure = JSON.parse(node.textContent);
  const config = Object.assign({displaylogo: false, responsive: true}, figure.config || {});
  Plotly.newPlot(node.previousElementSibling, figure.data || [], figure.layout || {}, config);
}
</script>"""


def notebook_html(notebook: Any, *, title: str | None = None, show_code: bool = True) -> str:
    """One self-contained HTML page of an executed notebook (an ``nbformat`` node or dict).

    Widgets render from the notebook's saved widget state; plotly figures from their JSON.
    """
    metadata = notebook.get("metadata", {})
    saved = (metadata.get("widgets") or {}).get(STATE_MIME) or {}
    state = saved.get("state") or {}
    page = _Page(set(state))
    for cell in notebook.get("cells", []):
        page.cell(cell, show_code=show_code)
    name = title or metadata.get("title") or "fmviz report"
    head = [f"<title>{html.escape(name)}</title>", f"<style>{_PAGE_CSS}</style>"]
    if page.plotly:
        from plotly.offline import get_plotlyjs

        head.append(f"<script>{get_plotlyjs()}</script>")
    body = ["<main>", *page.parts, "</main>"]
    if state:
        body += [_state_block(state), _runtime_block()]
    if page.plotly:
        body.append(_PLOTLY_BOOT)
    return "\n".join(
        [
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
            *head,
            "</head><body>",
            *body,
            "</body></html>",
        ]
    )


def export_notebook(
    notebook_path: str | Path,
    out: str | Path,
    *,
    execute: bool = False,
    timeout: int = 600,
    show_code: bool = True,
) -> Path:
    """Write an executed notebook as one offline HTML file (``fmviz export``).

    Parameters
    ----------
    notebook_path:
        An ``.ipynb`` saved with its widget state (JupyterLab: *Save Widget State
        Automatically*; ``nbconvert --execute`` stores it), or any notebook with
        ``execute=True``.
    out:
        The HTML file to write.
    execute:
        Run the notebook first (nbclient, widget state stored).
    """
    import nbformat

    path = Path(notebook_path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    try:
        notebook = execute_notebook(path, timeout=timeout) if execute else nbformat.read(path, as_version=4)
    except nbformat.reader.NotJSONError as error:
        raise ValueError(f"{path} is not a notebook (not JSON): {error}") from error
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(notebook_html(notebook, title=path.stem, show_code=show_code), encoding="utf-8")
    return out_path


def widget_ids(notebook: Any) -> Iterable[str]:
    """Ids of the widgets whose state a notebook saved."""
    saved = (notebook.get("metadata", {}).get("widgets") or {}).get(STATE_MIME) or {}
    return list((saved.get("state") or {}).keys())
