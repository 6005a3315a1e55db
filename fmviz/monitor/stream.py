"""The streaming runtime monitor: frames in one at a time, a verdict and an alarm state out.

A robot cannot wait for the end of an episode, so the monitor keeps a short window of recent
frames, asks its :class:`~fmviz.monitor.verdicts.VerdictSource` about every new one, and raises
an alarm only after ``k`` unsafe verdicts in a row: the paper's temporal consistency rule
(Sec. V-B.2b, ``k = 3``), which stops a single misread background element from stopping the
robot. When the alarm engages, ``on_alarm`` is called once, so a safeguard controller can
take over (paper Fig. 8).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from fmviz.monitor.verdicts import Verdict, VerdictSource, Window

__all__ = ["StepResult", "StreamingMonitor"]


@dataclass(frozen=True)
class StepResult:
    """What the monitor reports after one frame."""

    step: int
    time: float
    unsafe: bool
    failure_mode: str | None
    rationale: str
    score: float | None
    #: Unsafe verdicts in a row, ending at this step.
    consecutive: int
    #: The k-consecutive rule holds at this step.
    alarm: bool
    #: This step is the one where the alarm engaged (the callback fired).
    onset: bool


class StreamingMonitor:
    """Feed frames with :meth:`step`; read verdicts, the alarm state and :meth:`history`.

    Parameters
    ----------
    source:
        Decides each step's verdict (learned classifier, MLLM with or without failure modes, LLM-AD).
    k:
        Unsafe verdicts in a row before the alarm engages (the paper uses 3; 1 alarms at once).
    window:
        Frames of recent history the source sees (the newest last).
    on_alarm:
        Called with the :class:`StepResult` of the step where the alarm engages (once per
        alarm; it re-arms after a safe verdict).
    task:
        The robot's task, handed to sources that put it in a prompt.

    Examples
    --------
    >>> from fmviz.monitor.verdicts import Verdict, VerdictSource
    >>> class Dark(VerdictSource):
    ...     name = "dark"
    ...     def judge(self, window):
    ...         return Verdict(unsafe=bool(window.frames[-1].mean() < 50))
    >>> alarms = []
    >>> monitor = StreamingMonitor(Dark(), k=2, on_alarm=alarms.append)
    >>> for level in (200, 10, 10, 10):
    ...     result = monitor.step(np.full((4, 4, 3), level, np.uint8))
    >>> result.alarm, [a.step for a in alarms]
    (True, [2])
    """

    def __init__(
        self,
        source: VerdictSource,
        *,
        k: int = 3,
        window: int = 4,
        on_alarm: Callable[[StepResult], None] | None = None,
        task: str = "",
        episode_id: str = "",
    ) -> None:
        if k < 1:
            raise ValueError(f"k (unsafe verdicts in a row before an alarm) must be at least 1, got {k}")
        if window < 1:
            raise ValueError(f"window must hold at least one frame, got {window}")
        self.source = source
        self.k = int(k)
        self.window = int(window)
        self.on_alarm = on_alarm
        self.task = task
        self.episode_id = episode_id
        self.reset()

    def reset(self) -> None:
        """Forget the history (a new episode)."""
        self._frames: deque[np.ndarray] = deque(maxlen=self.window)
        self._times: deque[float] = deque(maxlen=self.window)
        self._results: list[StepResult] = []
        self._run = 0

    @property
    def alarm(self) -> bool:
        """Whether the alarm holds after the last step."""
        return bool(self._results and self._results[-1].alarm)

    def current_window(self, frame: np.ndarray, time: float | None = None) -> Window:
        """The window the source would see if ``frame`` came next (nothing is recorded)."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"a monitor frame must be (H, W, 3) RGB, got shape {frame.shape}")
        now = float(len(self._results) if time is None else time)
        frames = (*list(self._frames)[-(self.window - 1) :], frame) if self.window > 1 else (frame,)
        times = (*list(self._times)[-(self.window - 1) :], now) if self.window > 1 else (now,)
        return Window(tuple(frames), tuple(times), self.episode_id, len(self._results), self.task)

    def step(self, frame: np.ndarray, time: float | None = None) -> StepResult:
        """Judge one new frame (``time`` in seconds; the step number when omitted)."""
        window = self.current_window(frame, time)
        return self.record(window, self.source.judge(window))

    def record(self, window: Window, verdict: Verdict) -> StepResult:
        """Advance with a verdict already computed for ``window`` (batch evaluation)."""
        self._frames.append(window.frames[-1])
        self._times.append(window.now)
        self._run = self._run + 1 if verdict.unsafe else 0
        alarm = self._run >= self.k
        onset = alarm and not self.alarm
        result = StepResult(
            step=len(self._results),
            time=window.now,
            unsafe=bool(verdict.unsafe),
            failure_mode=verdict.failure_mode,
            rationale=verdict.rationale,
            score=verdict.score,
            consecutive=self._run,
            alarm=alarm,
            onset=onset,
        )
        self._results.append(result)
        if onset and self.on_alarm is not None:
            self.on_alarm(result)
        return result

    def history(self) -> pd.DataFrame:
        """One row per step so far."""
        columns = list(StepResult.__dataclass_fields__)
        return pd.DataFrame([asdict(r) for r in self._results], columns=columns)
