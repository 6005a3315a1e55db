"""Fixtures for browser tests: Debian's Chromium driven by Playwright, with the network off.

Shared by every widget's browser tests (see ``widgets/README.md``):

- ``browser``: one headless Chromium for the session (``/usr/bin/chromium``, the launch flags
  of the machine notes; Playwright gives each launch a fresh ``--user-data-dir``).
- ``probe``: a fresh page wrapped in :class:`Probe`: every request that is not ``file:``,
  ``data:`` or ``blob:`` is aborted and counted in ``probe.blocked``; console errors and
  page errors land in ``probe.errors``; any ``alert``/``confirm``/``prompt`` is dismissed
  and recorded in ``probe.dialogs``; ``probe.screenshot("name")`` saves
  ``tests/browser/artifacts/name.png`` (gitignored).
- ``mount``: ``mount(probe, widget)`` writes a page that loads that widget's shipped ES
  module (``widget_esm``) with the small fake model of ``fake_model.js`` holding the
  widget's full state (binary buffers as ``DataView``), opens it from ``file://`` and
  waits until ``render`` returned. ``window.fmvizModel`` is the model
  (``get``/``set``/``saves``/``changes``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


#: Untrusted strings every widget and export must render as inert text.
INJECTIONS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    '"><svg onload=alert("svg")>',
    "[click](javascript:alert('link'))",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test-browser]'")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_FLAGS)
        yield launched
        launched.close()


@dataclass
class Probe:
    """A page with its network blocked and its errors, dialogs and screenshots recorded."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def probe(browser: Any) -> Iterator[Probe]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    result = Probe(page)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(LOCAL_SCHEMES):
            request_route.continue_()
        else:
            result.blocked.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on(
        "console", lambda message: result.errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: result.errors.append(str(error)))
    page.on("requestfailed", lambda request: result.errors.append(f"request failed: {request.url}"))

    def on_dialog(dialog: Any) -> None:
        result.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield result
    context.close()


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title><style>{css}</style></head>
<body><div id="root" style="width: 1000px; padding: 8px"></div>
<script type="application/json" id="state">{state}</script>
<script type="text/plain" id="esm">{esm}</script>
<script type="module">
{fake_model}
const spec = JSON.parse(document.getElementById("state").textContent);
const model = fakeModel(spec);
window.fmvizModel = model;
const source = document.getElementById("esm").textContent;
const url = URL.createObjectURL(new Blob([source], {{ type: "text/javascript" }}));
const widget = (await import(url)).default;
if (widget.initialize) await widget.initialize({{ model }});
await widget.render({{ model, el: document.getElementById("root") }});
window.fmvizReady = true;
</script></body></html>
"""


def _script_text(text: str) -> str:
    """Text safe inside a <script> element (no closing tag can appear)."""
    return text.replace("</", "<\\/")


@pytest.fixture
def mount(tmp_path: Path) -> Callable[..., Path]:
    from fmviz.views._widget import widget_esm

    fake_model = (Path(__file__).parent / "fake_model.js").read_text(encoding="utf-8").replace("export ", "")

    def mount_widget(probe: Probe, widget: Any, name: str = "widget") -> Path:
        embed = widget._get_embed_state(drop_defaults=False)
        state = {k: v for k, v in embed["state"].items() if k not in ("_esm", "_css")}
        spec = {"state": state, "buffers": embed.get("buffers", [])}
        html = _PAGE.format(
            title=name,
            css=widget._css.replace("</", "<\\/"),
            state=_script_text(json.dumps(spec)),
            esm=_script_text(widget_esm(widget._widget_name)),
            fake_model=fake_model,
        )
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        probe.page.goto(path.as_uri())
        probe.page.wait_for_function("window.fmvizReady === true", timeout=20000)
        return path

    return mount_widget
