"""What a runtime monitor sees and says at one step, and the one interface every verdict source implements.

The paper compares four ways of deciding whether a running robot is about to fail: an MLLM
given the discovered failure modes, the same MLLM without them (NoContext), an LLM anomaly
detector primed with a few nominal and anomalous examples (LLM-AD) and an environment-specific
learned frame classifier. They differ only in how one :class:`Window` of recent frames becomes
one :class:`Verdict`, so they sit behind one small class (:class:`VerdictSource`) and the
streaming monitor, the evaluation and the command line never know which one runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

__all__ = ["Verdict", "VerdictSource", "Window"]


@dataclass(frozen=True)
class Window:
    """The recent history a source judges: frames oldest first, the last one is "now".

    Attributes
    ----------
    frames:
        ``(H, W, 3)`` uint8 RGB frames, oldest first.
    times:
        Seconds of each frame from the start of the episode.
    episode_id, step:
        Which episode and which monitor step this is (bookkeeping, never sent to a model).
    task:
        What the robot is doing, in words (the LLM sources put it in their prompt).
    """

    frames: tuple[np.ndarray, ...]
    times: tuple[float, ...]
    episode_id: str = ""
    step: int = 0
    task: str = ""

    def __post_init__(self) -> None:
        if not self.frames:
            raise ValueError("a monitor window needs at least one frame")
        if len(self.frames) != len(self.times):
            raise ValueError(f"a window has {len(self.frames)} frames but {len(self.times)} times")

    @property
    def now(self) -> float:
        """Time of the newest frame (s)."""
        return float(self.times[-1])


@dataclass(frozen=True)
class Verdict:
    """One step's answer: safe or unsafe, which failure mode it matches and why.

    Attributes
    ----------
    unsafe:
        The source predicts a failure is under way or imminent.
    failure_mode:
        The matching failure mode's name (LLM source with modes), else ``None``.
    rationale:
        A short explanation (the model's words, or the classifier's probability).
    score:
        Probability of unsafe where the source has one (learned classifier).
    """

    unsafe: bool
    failure_mode: str | None = None
    rationale: str = ""
    score: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


class VerdictSource(ABC):
    """Turns a :class:`Window` into a :class:`Verdict`; subclasses implement :meth:`judge`.

    Examples
    --------
    >>> class Always(VerdictSource):
    ...     name = "always"
    ...     def judge(self, window):
    ...         return Verdict(unsafe=True, rationale="always unsafe")
    >>> Always().judge(Window((np.zeros((2, 2, 3), np.uint8),), (0.0,))).unsafe
    True
    """

    #: Short name used in tables (``learned``, ``llm``, ``nocontext``, ``llm-ad``).
    name: str = "source"

    @abstractmethod
    def judge(self, window: Window) -> Verdict:
        """The verdict for the newest frame of ``window``."""

    def judge_many(self, windows: Sequence[Window], *, progress: bool = True) -> list[Verdict]:
        """Verdicts for many windows (LLM sources override this to run them concurrently)."""
        return [self.judge(w) for w in tqdm(windows, desc=f"monitor: {self.name}", disable=not progress)]

    def unavailable(self, windows: Sequence[Window]) -> str | None:
        """Why this source cannot judge ``windows`` now (no key and not cached), else ``None``."""
        return None
