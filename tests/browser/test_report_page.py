"""The run report (`fmviz report RUN_DIR`) opened from file:// with every non-file request blocked.

The run is offline over SYNTHETIC narratives that carry injection strings; after an edit the
report must show the edited state, its widgets, and render every untrusted string as text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fmviz.cli import main
from fmviz.engine import EngineOptions
from fmviz.episodes import Dataset, Episode
from fmviz.pipeline import run_pipeline
from tests.conftest import synthetic_dataset

pytestmark = pytest.mark.e2e

EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>\"><svg onload=alert(2)>"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = synthetic_dataset()
    episodes = [Episode(e.id, narrative=f"{e.narrative} {EVIL}", label=e.label, task=EVIL) for e in base]
    dataset = Dataset(episodes, name="synthetic-report", domain="navigation")
    run = run_pipeline(dataset, options=EngineOptions(domain="navigation", map_method="pca"))
    folder = tmp_path_factory.mktemp("report") / "run"
    run.save(folder)
    first, second = run.clusters.ids[:2]
    assert main(["edit", str(folder), "--merge", f"{first},{second}", "--name", f"Merged {EVIL}"]) == 0
    assert main(["report", str(folder)]) == 0
    return folder / "report.html"


def test_report_opens_offline_with_its_widgets_and_the_edit(probe, report):
    page = probe.page
    page.goto(report.as_uri())
    page.wait_for_function("document.body.dataset.fmvizWidgets !== undefined", timeout=30000)
    assert page.evaluate("document.body.dataset.fmvizWidgets") == "2"  # map and scrubber
    page.wait_for_selector(".main-svg")  # plotly inlined, figures drawn
    text = page.inner_text("body")
    assert "Merged <script>" in text  # the edit is there, as text
    assert "Edits" in text
    assert page.locator("svg[onload], img[onerror], script:not([type])").count() <= _inline_scripts(page)
    page.wait_for_timeout(300)
    probe.screenshot("run_report")
    assert probe.blocked == []
    assert probe.errors == []
    assert probe.dialogs == []


def _inline_scripts(page) -> int:
    """Scripts the report itself inlines (plotly, figure calls, the widget runtime): none with data."""
    sources = page.eval_on_selector_all("script:not([type])", "els => els.map(e => e.textContent)")
    assert not any("alert('x')" in s and "<script>" in s for s in sources)
    return len(sources)
