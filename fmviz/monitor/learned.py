"""The environment-specific baseline: a small learned frame classifier (no key, CPU, seconds).

The paper's navigation baseline (ENet-BC) is a binary collision classifier trained on labelled
frames from the same environment; it is strong in distribution and does not transfer to a new
building. fmviz's version keeps that character at CPU cost: each frame becomes a coarse colour
thumbnail plus its change from the previous frame (looming obstacles grow between frames), and a
standardised logistic regression separates "within ``horizon`` seconds of a failure" from the rest.
It is also the monitor that runs with no key, and the synthetic navigation policy
(:mod:`fmviz.synth.policy`) uses the same features and model to decide when to brake.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image as PILImage
from threadpoolctl import threadpool_limits

from fmviz.monitor.verdicts import Verdict, VerdictSource, Window

__all__ = ["FrameClassifier", "LearnedSource", "frame_features", "label_frames"]

#: Thumbnail size of the features (width, height): 16x12 keeps chair legs and door posts
#: visible in a 128x96 frame while a fit on ~10k frames takes about a second.
THUMB = (16, 12)


def _thumb(frame: np.ndarray) -> np.ndarray:
    image = PILImage.fromarray(np.asarray(frame, dtype=np.uint8)).resize(THUMB, PILImage.BILINEAR)
    return np.asarray(image, dtype=np.float32) / 255.0


def frame_features(frame: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Features of one frame: colour thumbnail, grey-level change from ``previous``, brightness.

    Examples
    --------
    >>> frame_features(np.zeros((96, 128, 3), np.uint8)).shape
    (770,)
    """
    now = _thumb(frame)
    grey = now.mean(axis=2)
    before = _thumb(previous).mean(axis=2) if previous is not None else grey
    stats = np.array([grey.mean(), grey.std()], dtype=np.float32)
    return np.concatenate([now.ravel(), (grey - before).ravel(), stats])


def label_frames(times: np.ndarray, failure_time: float | None, horizon: float) -> np.ndarray:
    """1 for frames within ``horizon`` seconds before the failure (and after it), else 0.

    Examples
    --------
    >>> label_frames(np.array([0.0, 1.0, 2.0, 3.0]), 3.0, 1.5).tolist()
    [0, 0, 1, 1]
    """
    times = np.asarray(times, dtype=float)
    if failure_time is None or not np.isfinite(failure_time):
        return np.zeros(len(times), dtype=int)
    return (times >= float(failure_time) - horizon).astype(int)


class FrameClassifier:
    """Logistic regression on :func:`frame_features`, trained on labelled frame sequences.

    Parameters
    ----------
    C:
        Inverse regularisation strength of the logistic regression.
    seed:
        Seed of the solver.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> dark = [rng.integers(0, 40, (12, 16, 3), dtype=np.uint8) for _ in range(20)]
    >>> light = [rng.integers(200, 255, (12, 16, 3), dtype=np.uint8) for _ in range(20)]
    >>> model = FrameClassifier().fit([np.stack(dark), np.stack(light)], [np.ones(20), np.zeros(20)])
    >>> bool(model.predict_proba(np.stack(dark[:1]))[0] > 0.5)
    True
    """

    def __init__(self, *, C: float = 0.5, seed: int = 0) -> None:
        self.C = C
        self.seed = seed
        self.model = None

    @staticmethod
    def sequence_features(frames: np.ndarray) -> np.ndarray:
        """Features of every frame of one sequence (each against the frame before it)."""
        return np.stack([frame_features(f, frames[i - 1] if i else None) for i, f in enumerate(frames)])

    def fit(self, sequences: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> FrameClassifier:
        """Fit on frame sequences (``(K, H, W, 3)`` each) and their per-frame 0/1 labels."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if len(sequences) != len(labels) or not len(sequences):
            raise ValueError("give one label array per frame sequence, and at least one sequence")
        x = np.concatenate([self.sequence_features(np.asarray(s)) for s in sequences])
        y = np.concatenate([np.asarray(lab, dtype=int) for lab in labels])
        if len(x) != len(y):
            raise ValueError(f"{len(x)} frames but {len(y)} labels")
        if len(set(y.tolist())) < 2:
            raise ValueError("training frames need both classes (some unsafe and some safe frames)")
        self.model = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        )
        # One BLAS thread: on a shared machine the default pool fights other processes and a
        # 0.3 s fit took 17 s (measured on 2 busy cores).
        with threadpool_limits(1):
            self.model.fit(x, y)
        return self

    def predict_proba(self, frames: np.ndarray) -> np.ndarray:
        """Probability of "unsafe" for each frame of one sequence."""
        if self.model is None:
            raise ValueError("the frame classifier is not trained yet: call fit() first")
        with threadpool_limits(1):
            return self.model.predict_proba(self.sequence_features(np.asarray(frames)))[:, 1]

    def proba_pair(self, frame: np.ndarray, previous: np.ndarray | None) -> float:
        """Probability of "unsafe" for one frame given the frame before it."""
        if self.model is None:
            raise ValueError("the frame classifier is not trained yet: call fit() first")
        with threadpool_limits(1):
            return float(self.model.predict_proba(frame_features(frame, previous)[None, :])[0, 1])


class LearnedSource(VerdictSource):
    """Verdicts from a trained :class:`FrameClassifier` (unsafe when its probability >= ``threshold``)."""

    name = "learned"

    def __init__(self, classifier: FrameClassifier, *, threshold: float = 0.5) -> None:
        self.classifier = classifier
        self.threshold = threshold

    def judge(self, window: Window) -> Verdict:
        previous = window.frames[-2] if len(window.frames) > 1 else None
        p = self.classifier.proba_pair(window.frames[-1], previous)
        return Verdict(unsafe=p >= self.threshold, rationale=f"classifier p(unsafe) = {p:.2f}", score=p)
