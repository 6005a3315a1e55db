"""The streaming monitor, the k-consecutive rule, the learned classifier and the Table-II layout.

Frames here are small synthetic arrays made in the test (a dark block that grows as a robot
closes in on it), labelled synthetic; no model is involved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmviz.evaluate.monitor_metrics import monitor_metrics
from fmviz.monitor import (
    FrameClassifier,
    LearnedSource,
    MonitorEpisode,
    StreamingMonitor,
    Verdict,
    VerdictSource,
    Window,
    label_frames,
    monitor_table,
    run_monitor,
    score_source,
    table_markdown,
)


class Scripted(VerdictSource):
    """Unsafe exactly where the centre of the newest frame is dark (mean below 100)."""

    name = "scripted"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def judge(self, window: Window) -> Verdict:
        self.seen.append(len(window.frames))
        newest = window.frames[-1]
        h, w = newest.shape[:2]
        centre = newest[h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1]
        return Verdict(unsafe=bool(centre.mean() < 100), rationale="dark centre")


def frame(level: int) -> np.ndarray:
    return np.full((6, 8, 3), level, dtype=np.uint8)


def looming_episode(rng: np.random.Generator, index: int, failed: bool, k: int = 20) -> MonitorEpisode:
    """SYNTHETIC: a grey corridor; in a failure a dark block grows over the last frames."""
    frames = rng.integers(150, 200, (k, 24, 32, 3)).astype(np.uint8)
    if failed:
        for i in range(k):
            side = max(0, i - (k - 10)) * 2  # appears 10 frames (1 s) before the end
            if side:
                frames[i, 12 - side // 2 : 12 + side // 2, 16 - side // 2 : 16 + side // 2] = 20
    times = np.arange(k) / 10.0
    return MonitorEpisode(
        f"{'f' if failed else 's'}{index}", frames, times, failed, float(times[-1]) if failed else None
    )


def test_alarm_engages_only_after_k_consecutive_unsafe_verdicts() -> None:
    monitor = StreamingMonitor(Scripted(), k=3)
    alarms = [monitor.step(frame(v)).alarm for v in (200, 10, 10, 200, 10, 10, 10, 10)]
    assert alarms == [False, False, False, False, False, False, True, True]


def test_callback_fires_once_per_alarm_and_rearms_after_a_safe_step() -> None:
    fired = []
    monitor = StreamingMonitor(Scripted(), k=2, on_alarm=fired.append)
    for v in (10, 10, 10, 200, 10, 10):
        monitor.step(frame(v), time=None)
    assert [r.step for r in fired] == [1, 5]
    assert monitor.history()["onset"].sum() == 2


def test_the_source_sees_at_most_window_frames() -> None:
    source = Scripted()
    monitor = StreamingMonitor(source, k=1, window=3)
    for v in range(6):
        monitor.step(frame(200 - v))
    assert source.seen == [1, 2, 3, 3, 3, 3]


def test_a_frame_of_the_wrong_shape_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        StreamingMonitor(Scripted()).step(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="at least 1"):
        StreamingMonitor(Scripted(), k=0)


def test_run_monitor_alarms_agree_with_the_metrics_k_rule_on_raw_verdicts() -> None:
    rng = np.random.default_rng(0)
    episodes = [looming_episode(rng, i, failed=i % 2 == 0) for i in range(6)]
    steps = run_monitor(Scripted(), episodes, k=3, progress=False)
    outcomes = pd.DataFrame(
        {
            "episode_id": [e.id for e in episodes],
            "failed": [e.failed for e in episodes],
            "failure_time": [e.failure_time for e in episodes],
        }
    )
    by_monitor = monitor_metrics(steps[["episode_id", "time", "alarm"]], outcomes, min_consecutive=1)
    raw = steps[["episode_id", "time", "unsafe"]].rename(columns={"unsafe": "alarm"})
    by_metrics = monitor_metrics(raw, outcomes, min_consecutive=3)
    pd.testing.assert_frame_equal(by_monitor, by_metrics)
    assert by_monitor.iloc[0]["tpr"] == 1.0
    assert by_monitor.iloc[0]["fpr"] == 0.0


def test_label_frames_marks_the_horizon_before_the_failure() -> None:
    assert label_frames(np.arange(5) / 2, 2.0, 1.0).tolist() == [0, 0, 1, 1, 1]
    assert label_frames(np.arange(3), None, 1.0).tolist() == [0, 0, 0]


def test_learned_classifier_detects_looming_obstacles_it_was_not_trained_on() -> None:
    rng = np.random.default_rng(1)
    train = [looming_episode(rng, i, failed=i % 2 == 0) for i in range(12)]
    model = FrameClassifier().fit(
        [e.frames for e in train], [label_frames(e.times, e.failure_time, 0.5) for e in train]
    )
    test = {"in_distribution": [looming_episode(rng, 100 + i, failed=i % 2 == 0) for i in range(8)]}
    metrics, steps = score_source(LearnedSource(model), test, k=2, progress=False)
    overall = metrics[metrics["failure_mode"] == "all"].iloc[0]
    assert overall["tpr"] >= 0.75
    assert overall["tnr"] >= 0.75
    assert overall["mean_lead_time_s"] > 0
    assert steps["score"].between(0, 1).all()


def test_untrained_classifier_and_one_class_data_are_refused() -> None:
    with pytest.raises(ValueError, match="not trained"):
        FrameClassifier().predict_proba(np.zeros((1, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="both classes"):
        FrameClassifier().fit([np.zeros((3, 4, 4, 3), np.uint8)], [np.zeros(3)])


class Unavailable(Scripted):
    name = "offline-llm"

    def unavailable(self, windows: list[Window]) -> str | None:
        return "not run: no key and 3 of 3 calls are not in the cache"


def test_table_has_both_halves_and_a_source_that_cannot_run_is_marked_not_run() -> None:
    rng = np.random.default_rng(2)
    sets = {
        "in_distribution": [looming_episode(rng, i, failed=i < 2) for i in range(4)],
        "out_of_distribution": [looming_episode(rng, 10 + i, failed=i < 2) for i in range(4)],
    }
    ran, _ = score_source(Scripted(), sets, k=1, progress=False)
    skipped, steps = score_source(Unavailable(), sets, k=1, progress=False)
    assert steps.empty
    table = monitor_table(pd.concat([ran, skipped], ignore_index=True))
    assert list(table["method"]) == ["scripted", "offline-llm"]
    assert table.loc[0, "in_distribution_tpr"] == 100.0
    assert table.loc[0, "status"] == "ok"
    assert pd.isna(table.loc[1, "out_of_distribution_f1"])
    assert "not run" in table.loc[1, "status"]
    text = table_markdown(table)
    assert "| offline-llm | not run |" in text
    assert "OOD F1" in text
