"""Runtime-monitor metrics from per-step verdicts and episode outcomes (the paper's Table II).

A monitor watches an episode step by step and raises an alarm when it predicts a failure. An
episode counts as *detected* when an alarm fires at or before its failure time (an alarm after
the failure frame is too late to act on); a safe episode with any alarm is a false positive.
From these per-episode outcomes come TPR, TNR, FPR, FNR and F1, and the mean *lead time*: how
many seconds before the failure the first alarm fired, over detected failures. The authors'
code computes the rates but not lead time; the paper reports both.

Per failure mode, each mode's failures are scored against the same safe episodes (so TNR and FPR
are those of the safe set, and F1 is "this mode versus safe"). The paper's temporal-consistency
rule (flag only after an alarm persists for three steps) is ``min_consecutive=3``.

Inputs are plain DataFrames, so any monitor (fmviz's or another) can be scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MONITOR_COLUMNS", "episode_detections", "monitor_metrics"]

#: Columns of :func:`monitor_metrics`.
MONITOR_COLUMNS = (
    "failure_mode",
    "n_failures",
    "n_safe",
    "tp",
    "fn",
    "fp",
    "tn",
    "tpr",
    "tnr",
    "fpr",
    "fnr",
    "f1",
    "mean_lead_time_s",
)


def _first_alarm(steps: pd.DataFrame, min_consecutive: int) -> pd.Series:
    """Time of the first step ending a run of ``min_consecutive`` alarms, per episode (NaN: none)."""
    out = {}
    for episode_id, group in steps.sort_values("time").groupby("episode_id", sort=False):
        run, first = 0, np.nan
        for time, alarm in zip(group["time"], group["alarm"], strict=True):
            run = run + 1 if bool(alarm) else 0
            if run >= min_consecutive:
                first = float(time)
                break
        out[episode_id] = first
    return pd.Series(out, dtype=float)


def episode_detections(
    steps: pd.DataFrame, outcomes: pd.DataFrame, *, min_consecutive: int = 1
) -> pd.DataFrame:
    """Per episode: first alarm time, whether it counts, and the lead time.

    Parameters
    ----------
    steps:
        One row per monitor step: ``episode_id``, ``time`` (seconds from the episode start) and
        ``alarm`` (bool).
    outcomes:
        One row per episode: ``episode_id``, ``failed`` (bool), ``failure_time`` (seconds; needed
        for failures) and optional ``failure_mode``.
    min_consecutive:
        Alarms in a row before the monitor counts as raising one (the paper uses 3 for
        navigation).

    Returns
    -------
    pandas.DataFrame
        ``outcomes`` plus ``first_alarm``, ``detected`` (alarm at or before the failure for
        failures; any alarm for safe episodes) and ``lead_time_s`` (failures detected only).

    Raises
    ------
    ValueError
        Missing columns, or a failed episode without a failure time (named).
    """
    for frame, name, needed in (
        (steps, "steps", ("episode_id", "time", "alarm")),
        (outcomes, "outcomes", ("episode_id", "failed")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing column(s) {missing}; it has {list(frame.columns)}")
    if min_consecutive < 1:
        raise ValueError("min_consecutive must be at least 1")
    table = outcomes.copy()
    table["episode_id"] = table["episode_id"].astype(str)
    table["failed"] = table["failed"].astype(bool)
    if "failure_time" not in table.columns:
        table["failure_time"] = np.nan
    if "failure_mode" not in table.columns:
        table["failure_mode"] = None
    no_time = table[table["failed"] & table["failure_time"].isna()]
    if len(no_time):
        raise ValueError(f"episode {no_time['episode_id'].iloc[0]!r}: failed but has no failure_time")
    steps = steps.assign(episode_id=steps["episode_id"].astype(str))
    first = _first_alarm(steps, min_consecutive)
    table["first_alarm"] = table["episode_id"].map(first).astype(float)
    in_time = table["first_alarm"] <= table["failure_time"]
    table["detected"] = np.where(table["failed"], in_time, table["first_alarm"].notna())
    table["lead_time_s"] = np.where(
        table["failed"] & table["detected"], table["failure_time"] - table["first_alarm"], np.nan
    )
    return table


def _rates(failures: pd.DataFrame, safe: pd.DataFrame) -> dict[str, float]:
    tp = int(failures["detected"].sum())
    fn = len(failures) - tp
    fp = int(safe["detected"].sum())
    tn = len(safe) - fp

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    lead = failures["lead_time_s"].dropna()
    return {
        "n_failures": len(failures),
        "n_safe": len(safe),
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "tn": tn,
        "tpr": ratio(tp, tp + fn),
        "tnr": ratio(tn, tn + fp),
        "fpr": ratio(fp, fp + tn),
        "fnr": ratio(fn, fn + tp),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "mean_lead_time_s": float(lead.mean()) if len(lead) else float("nan"),
    }


def monitor_metrics(steps: pd.DataFrame, outcomes: pd.DataFrame, *, min_consecutive: int = 1) -> pd.DataFrame:
    """TPR, TNR, FPR, FNR, F1 and mean lead time, overall (``failure_mode`` = ``all``) and per mode.

    Rates are fractions (multiply by 100 for the paper's percentages); NaN where a denominator
    is zero (e.g. TNR without safe episodes).

    Examples
    --------
    >>> steps = pd.DataFrame({"episode_id": ["a", "a", "b"], "time": [1.0, 2.0, 1.0],
    ...                       "alarm": [False, True, False]})
    >>> outcomes = pd.DataFrame({"episode_id": ["a", "b"], "failed": [True, False],
    ...                          "failure_time": [3.0, None]})
    >>> row = monitor_metrics(steps, outcomes).iloc[0]
    >>> float(row["tpr"]), float(row["tnr"]), float(row["mean_lead_time_s"])
    (1.0, 1.0, 1.0)
    """
    table = episode_detections(steps, outcomes, min_consecutive=min_consecutive)
    failures, safe = table[table["failed"]], table[~table["failed"]]
    rows = [{"failure_mode": "all"} | _rates(failures, safe)]
    modes = failures["failure_mode"].dropna().astype(str)
    for mode in sorted(modes.unique()):
        rows.append(
            {"failure_mode": mode} | _rates(failures[failures["failure_mode"].astype(str) == mode], safe)
        )
    return pd.DataFrame(rows, columns=list(MONITOR_COLUMNS))
