"""The quick-start notebook, executed and exported with `fmviz export`, opened with no network.

This is the report a user shares: it must show the widgets' saved state and the figures with
0 blocked requests and 0 console errors, and name no folder of the machine that made it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fmviz.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.notebook, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("notebook-report") / "quickstart.html"
    notebook = ROOT / "notebooks" / "00_quickstart.ipynb"
    assert main(["export", str(notebook), "--out", str(out), "--execute", "--timeout", "600"]) == 0
    return out


def test_exported_quickstart_opens_offline_with_widgets_and_figures(probe, report):
    page = probe.page
    page.goto(report.as_uri())
    page.wait_for_function("document.body.dataset.fmvizWidgets !== undefined", timeout=60000)
    assert int(page.evaluate("document.body.dataset.fmvizWidgets")) >= 3  # triage view and editor
    assert page.locator(".fmviz-map-legend-item").count() >= 2
    assert page.locator(".fmviz-scrub-frame").first.get_attribute("src").startswith("blob:")
    # with no kernel to answer its hello, the editor says it is read-only (after its 2.5 s wait)
    page.wait_for_selector("text=Read-only", timeout=15000)
    page.wait_for_timeout(500)
    probe.screenshot("quickstart_report")
    assert probe.blocked == []
    assert probe.errors == []
    assert probe.dialogs == []


def test_exported_quickstart_names_no_folder_of_this_machine(report):
    html = report.read_text(encoding="utf-8")
    assert str(ROOT) not in html
    assert "/root/" not in html
    assert "/home/" not in html
