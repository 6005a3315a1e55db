"""Scoring a verdict source on held-out episodes: per-step verdicts, then the paper's Table II.

Each held-out episode is replayed through a :class:`~fmviz.monitor.stream.StreamingMonitor`
exactly as a robot would feed it (one frame per monitor step, a short window of history, the
k-consecutive rule), and the per-step alarms go to :func:`fmviz.evaluate.monitor_metrics` with
the episodes' outcomes. Windows are built first and judged in one batch, so an LLM source runs
its calls concurrently and a cached rerun makes no calls; the alarm logic is the monitor's own.
:func:`monitor_table` lays the rows out like Table II: TPR, TNR, FPR, FNR, F1 for the
in-distribution and the out-of-distribution half, and the mean lead time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmviz.evaluate.monitor_metrics import monitor_metrics
from fmviz.monitor.stream import StreamingMonitor
from fmviz.monitor.verdicts import VerdictSource, Window

__all__ = ["HALVES", "MonitorEpisode", "monitor_table", "run_monitor", "score_source", "table_markdown"]

#: The two halves of Table II.
HALVES = ("in_distribution", "out_of_distribution")
_RATES = ("tpr", "tnr", "fpr", "fnr", "f1")


@dataclass(frozen=True)
class MonitorEpisode:
    """One held-out episode: frames with times, and how it ended."""

    id: str
    frames: np.ndarray  # (K, H, W, 3) uint8
    times: np.ndarray  # (K,) seconds
    failed: bool
    failure_time: float | None = None
    failure_mode: str | None = None
    task: str = ""


def _windows(episode: MonitorEpisode, window: int, every: int) -> list[Window]:
    idx = list(range(0, len(episode.frames), every))
    if idx and idx[-1] != len(episode.frames) - 1:
        idx.append(len(episode.frames) - 1)  # always judge the last frame
    out = []
    for step in range(len(idx)):
        picked = idx[max(0, step - window + 1) : step + 1]
        out.append(
            Window(
                tuple(episode.frames[j] for j in picked),
                tuple(float(episode.times[j]) for j in picked),
                episode.id,
                step,
                episode.task,
            )
        )
    return out


def run_monitor(
    source: VerdictSource,
    episodes: Sequence[MonitorEpisode],
    *,
    k: int = 3,
    window: int = 4,
    every: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Per-step verdicts and alarms of ``source`` over ``episodes`` (one row per monitor step).

    Parameters
    ----------
    k:
        Unsafe verdicts in a row before the alarm (the paper's rule uses 3).
    window:
        Frames of history per step.
    every:
        Judge every ``every``-th frame (the last frame is always judged).
    """
    if every < 1:
        raise ValueError("every must be at least 1")
    per_episode = [_windows(e, window, every) for e in episodes]
    flat = [w for ws in per_episode for w in ws]
    verdicts = iter(source.judge_many(flat, progress=progress))
    frames = []
    for episode, windows in zip(episodes, per_episode, strict=True):
        monitor = StreamingMonitor(source, k=k, window=window, task=episode.task, episode_id=episode.id)
        for w in windows:
            monitor.record(w, next(verdicts))
        frames.append(monitor.history().assign(episode_id=episode.id))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _outcomes(episodes: Sequence[MonitorEpisode]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "episode_id": [e.id for e in episodes],
            "failed": [e.failed for e in episodes],
            "failure_time": [e.failure_time if e.failed else np.nan for e in episodes],
            "failure_mode": [e.failure_mode for e in episodes],
        }
    )


def score_source(
    source: VerdictSource,
    sets: Mapping[str, Sequence[MonitorEpisode]],
    *,
    k: int = 3,
    window: int = 4,
    every: int = 1,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics and per-step verdicts of one source on each named held-out set.

    Returns
    -------
    (metrics, steps):
        ``metrics``: :func:`fmviz.evaluate.monitor_metrics` rows (overall and per failure mode)
        with ``method``, ``half`` and ``status`` (``ok`` or why the source did not run);
        ``steps``: every step's verdict with ``method`` and ``half``.
    """
    metric_frames, step_frames = [], []
    for half, episodes in sets.items():
        windows = [w for e in episodes for w in _windows(e, window, every)]
        reason = source.unavailable(windows)
        if reason is not None:
            metric_frames.append(
                pd.DataFrame([{"failure_mode": "all", "method": source.name, "half": half, "status": reason}])
            )
            continue
        steps = run_monitor(source, episodes, k=k, window=window, every=every, progress=progress)
        # ``alarm`` already holds the monitor's k-consecutive rule, so each first alarm counts as is.
        metrics = monitor_metrics(steps, _outcomes(episodes), min_consecutive=1)
        metric_frames.append(metrics.assign(method=source.name, half=half, status="ok"))
        step_frames.append(steps.assign(method=source.name, half=half))
    metrics = pd.concat(metric_frames, ignore_index=True)
    steps = pd.concat(step_frames, ignore_index=True) if step_frames else pd.DataFrame()
    return metrics, steps


def monitor_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Table II: one row per method; rates in percent per half; mean lead time (s) over both halves.

    Rows whose source did not run keep their ``status`` and empty numbers.
    """
    overall = metrics[metrics["failure_mode"] == "all"]
    rows = []
    for method, group in overall.groupby("method", sort=False):
        row: dict[str, object] = {"method": method}
        leads, counts, status = [], [], []
        for half in HALVES:
            part = group[group["half"] == half]
            ok = len(part) and part["status"].iloc[0] == "ok"
            for rate in _RATES:
                row[f"{half}_{rate}"] = round(100 * float(part[rate].iloc[0]), 1) if ok else np.nan
            if ok and np.isfinite(part["mean_lead_time_s"].iloc[0]):
                leads.append(float(part["mean_lead_time_s"].iloc[0]))
                counts.append(int(part["tp"].iloc[0]))
            status.append(f"{half}: {part['status'].iloc[0]}" if len(part) else f"{half}: not evaluated")
        row["lead_time_s"] = round(float(np.average(leads, weights=counts)), 2) if sum(counts) else np.nan
        reasons = {s.split(": ", 1)[1] for s in status}
        row["status"] = reasons.pop() if len(reasons) == 1 else "; ".join(status)
        rows.append(row)
    return pd.DataFrame(rows)


def table_markdown(table: pd.DataFrame) -> str:
    """Table II as Markdown (IID | OOD | lead time), with a note per source that did not run."""
    head = ["Method"] + [f"{'IID' if h == HALVES[0] else 'OOD'} {r.upper()}" for h in HALVES for r in _RATES]
    lines = ["| " + " | ".join([*head, "Lead time"]) + " |", "|" + "---|" * (len(head) + 1)]
    notes = []
    for _, row in table.iterrows():
        cells = [str(row["method"])]
        for half in HALVES:
            for rate in _RATES:
                value = row.get(f"{half}_{rate}")
                cells.append("not run" if value is None or pd.isna(value) else f"{value:.1f}")
        lead = row.get("lead_time_s")
        cells.append("-" if lead is None or pd.isna(lead) else f"{lead:.2f} s")
        lines.append("| " + " | ".join(cells) + " |")
        if row.get("status") != "ok":
            notes.append(f"- {row['method']}: {row['status']}")
    text = "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text
