"""Monitor metrics (the paper's Table II): rates and lead time from hand-checkable verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmviz.evaluate.monitor_metrics import episode_detections, monitor_metrics


def steps(alarms: dict[str, list[int]], n: int = 10) -> pd.DataFrame:
    """One step per second; ``alarms[episode]`` lists the seconds with an alarm."""
    rows = [(e, float(t), t in on) for e, on in alarms.items() for t in range(n)]
    return pd.DataFrame(rows, columns=["episode_id", "time", "alarm"])


OUTCOMES = pd.DataFrame(
    {
        "episode_id": ["f1", "f2", "f3", "f4", "s1", "s2", "s3"],
        "failed": [True, True, True, True, False, False, False],
        "failure_time": [8.0, 8.0, 5.0, 6.0, None, None, None],
        "failure_mode": ["glass", "glass", "chair", "chair", None, None, None],
    }
)
ALARMS = {"f1": [6, 7], "f2": [2], "f3": [7], "f4": [], "s1": [3], "s2": [], "s3": []}


def test_rates_and_lead_time_by_hand() -> None:
    row = monitor_metrics(steps(ALARMS), OUTCOMES).set_index("failure_mode").loc["all"]
    # f1 (lead 2 s) and f2 (lead 6 s) detected; f3's alarm comes after its failure; f4 silent
    assert (row["tp"], row["fn"], row["fp"], row["tn"]) == (2, 2, 1, 2)
    assert row["tpr"] == pytest.approx(0.5)
    assert row["fnr"] == pytest.approx(0.5)
    assert row["tnr"] == pytest.approx(2 / 3)
    assert row["fpr"] == pytest.approx(1 / 3)
    assert row["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert row["mean_lead_time_s"] == pytest.approx(4.0)


def test_each_failure_mode_is_scored_against_the_same_safe_runs() -> None:
    frame = monitor_metrics(steps(ALARMS), OUTCOMES).set_index("failure_mode")
    assert frame.loc["glass", "tpr"] == pytest.approx(1.0)
    assert frame.loc["chair", "tpr"] == pytest.approx(0.0)
    assert np.isnan(frame.loc["chair", "mean_lead_time_s"])
    assert frame.loc["glass", "fpr"] == frame.loc["all", "fpr"]


def test_consecutive_alarm_rule_drops_isolated_alarms() -> None:
    table = episode_detections(steps(ALARMS), OUTCOMES, min_consecutive=2).set_index("episode_id")
    assert bool(table.loc["f1", "detected"])  # alarms at 6 and 7: counts at 7, lead 1 s
    assert table.loc["f1", "lead_time_s"] == pytest.approx(1.0)
    assert not bool(table.loc["f2", "detected"])
    assert not bool(table.loc["s1", "detected"])


def test_a_failure_without_a_time_names_the_episode() -> None:
    outcomes = OUTCOMES.assign(failure_time=OUTCOMES["failure_time"].where(OUTCOMES["episode_id"] != "f3"))
    with pytest.raises(ValueError, match="episode 'f3': failed but has no failure_time"):
        monitor_metrics(steps(ALARMS), outcomes)


def test_missing_columns_are_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"steps is missing column\(s\) \['alarm'\]"):
        monitor_metrics(steps(ALARMS).drop(columns="alarm"), OUTCOMES)
