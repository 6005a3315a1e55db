"""The clip scrubber's ES module in Chromium with a fake model (synthetic frames)."""

from __future__ import annotations

import numpy as np
import pytest

from fmviz.views.scrubber import Scrubber, ScrubberEpisode

pytestmark = pytest.mark.e2e

INJECTIONS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    '"><svg onload=alert("svg")>',
    "[click](javascript:alert('link')) **bold** <a href=\"javascript:alert('a')\">a</a>",
]


def _frames(seed: int, count: int = 6) -> list[np.ndarray]:
    """Synthetic frames: a flat colour per frame, so each frame's JPEG differs."""
    return [np.full((90, 120, 3), (seed * 40 + i * 30) % 255, dtype=np.uint8) for i in range(count)]


def _scrubber(**kwargs: object) -> Scrubber:
    episodes = []
    for i in range(5):
        episodes.append(
            ScrubberEpisode(
                id=f"ep{i}",
                frames=_frames(i) if i != 3 else [],
                times=[10.0 + 0.5 * k for k in range(6)] if i != 3 else None,
                failure_time=12.0,
                context=f"task: deliver parcel {i}\n" + INJECTIONS[i % 4],
                trajectory=INJECTIONS[(i + 1) % 4],
                failure_reason=f"collided with a chair {i} " + INJECTIONS[(i + 2) % 4],
                cluster_id="outlier" if i == 2 else f"c{i % 2}",
                cluster_name="Outlier" if i == 2 else ["Chair legs", "Glass doors"][i % 2],
                rationale=INJECTIONS[(i + 3) % 4],
            )
        )
    return Scrubber.from_episodes(episodes, **kwargs)


def _frame_src(page) -> str:
    return page.get_attribute(".fmviz-scrub-frame", "src")


def test_scrubber_opens_at_the_failure_frame_and_the_slider_changes_it(probe, mount):
    widget = _scrubber()
    mount(probe, widget, "scrubber_slider")
    page = probe.page
    # failure_time 12.0 with frames at 10.0, 10.5, ... -> the 5th frame (index 4)
    assert page.get_attribute(".fmviz-scrub", "data-frame") == "4"
    assert page.inner_text(".fmviz-scrub-time") == "5/6 · failure"
    first = _frame_src(page)
    page.locator(".fmviz-scrub-slider").fill("1")
    assert page.get_attribute(".fmviz-scrub", "data-frame") == "1"
    assert page.inner_text(".fmviz-scrub-time") == "2/6 · −1.50 s"
    assert _frame_src(page) != first
    probe.screenshot("scrubber_slider")
    assert probe.errors == []


def test_play_advances_frames_in_the_browser_without_saving(probe, mount):
    widget = _scrubber(fps=10.0)
    mount(probe, widget, "scrubber_play")
    page = probe.page
    page.locator(".fmviz-scrub-slider").fill("0")
    saves = page.evaluate("window.fmvizModel.saves")
    page.click(".fmviz-scrub-play")
    page.wait_for_function("document.querySelector('.fmviz-scrub').dataset.frame >= 3", timeout=5000)
    page.click(".fmviz-scrub-play")
    assert page.inner_text(".fmviz-scrub-play") == "▶ Play"
    assert page.evaluate("window.fmvizModel.saves") == saves  # playback never calls the kernel


def test_next_filter_and_outlier_jump_move_between_episodes(probe, mount):
    widget = _scrubber()
    mount(probe, widget, "scrubber_nav")
    page = probe.page
    page.click("text=Next ▶")
    assert page.evaluate("window.fmvizModel.get('current')") == "ep1"
    assert page.inner_text(".fmviz-scrub-counter") == "2 / 5"
    page.click("text=Next outlier")
    assert page.evaluate("window.fmvizModel.get('current')") == "ep2"
    page.select_option(".fmviz-scrub-filter", "c1")
    assert page.evaluate("window.fmvizModel.get('cluster_filter')") == "c1"
    assert page.locator(".fmviz-scrub-row").count() == 2  # ep1 and ep3
    page.click("text=Next ▶")
    assert page.evaluate("window.fmvizModel.get('current')") == "ep3"
    # ep3 has no frames: text only, with the reason why
    assert page.locator(".fmviz-scrub-controls").is_hidden()
    assert "no frames" in page.inner_text(".fmviz-scrub-notice")
    probe.screenshot("scrubber_text_only")


def test_filter_ids_from_a_map_selection_limit_the_list(probe, mount):
    widget = _scrubber(filter_ids=["ep4", "ep0"])
    mount(probe, widget, "scrubber_filter_ids")
    page = probe.page
    assert page.locator(".fmviz-scrub-row").all_inner_texts()[0].startswith("ep0")
    assert page.locator(".fmviz-scrub-row").count() == 2
    assert "2 selected on the map" in page.inner_text(".fmviz-scrub-selection")
    page.click("text=Show all")
    assert page.locator(".fmviz-scrub-row").count() == 5


def test_untrusted_text_renders_inert_and_opens_no_dialog(probe, mount):
    widget = _scrubber()
    mount(probe, widget, "scrubber_injection")
    page = probe.page
    for _ in range(4):
        page.click("text=Next ▶")
    shown = page.inner_text(".fmviz-scrub-text")
    assert "<img src=x onerror=alert('img')>" in shown or "<script>" in shown
    assert page.locator(".fmviz-scrub-text img, .fmviz-scrub-text svg, .fmviz-scrub-text a").count() == 0
    assert page.locator(".fmviz-scrub-list img, .fmviz-scrub-list svg").count() == 0
    probe.screenshot("scrubber_injection")
    assert probe.dialogs == []
    assert probe.errors == []
    assert probe.blocked == []
