"""The runtime failure monitor (paper Sec. IV-B, V-B): verdict sources, the streaming monitor, Table II.

A :class:`StreamingMonitor` takes frames one at a time and asks a :class:`VerdictSource` about
each; the sources are the MLLM with the discovered failure modes (:class:`LLMSource` ``"llm"``),
its NoContext ablation (``"nocontext"``), the LLM-AD baseline (``"llm-ad"``) and a learned frame
classifier (:class:`LearnedSource`, no key). :func:`score_source` replays held-out episodes through
the monitor and :func:`monitor_table` lays the metrics out like the paper's Table II.
"""

from __future__ import annotations

from fmviz.monitor.evaluate import (
    HALVES,
    MonitorEpisode,
    monitor_table,
    run_monitor,
    score_source,
    table_markdown,
)
from fmviz.monitor.learned import FrameClassifier, LearnedSource, frame_features, label_frames
from fmviz.monitor.llm import LLM_SOURCES, LLMSource, MonitorAnswer, describe_modes
from fmviz.monitor.stream import StepResult, StreamingMonitor
from fmviz.monitor.training import load_safe_runs, monitor_episodes, train_learned_source
from fmviz.monitor.verdicts import Verdict, VerdictSource, Window

__all__ = [
    "HALVES",
    "LLM_SOURCES",
    "FrameClassifier",
    "LLMSource",
    "LearnedSource",
    "MonitorAnswer",
    "MonitorEpisode",
    "StepResult",
    "StreamingMonitor",
    "Verdict",
    "VerdictSource",
    "Window",
    "describe_modes",
    "frame_features",
    "label_frames",
    "load_safe_runs",
    "monitor_episodes",
    "monitor_table",
    "run_monitor",
    "score_source",
    "table_markdown",
    "train_learned_source",
]
