"""From a dataset's recordings to monitor episodes, and the learned source trained on them.

The learned baseline is environment-specific by design: it is trained on labelled frames of the
run's own episodes (its failures, plus the safe runs a case study ships, e.g.
``sample_data/navigation/safe_runs.csv``). A frame is labelled unsafe when it lies within
``horizon`` seconds of the failure. Each recording is read whole at its own frame rate through
:func:`fmviz.video.select_tail` (the clips are short), so a video, an image folder and an
in-memory array all work.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fmviz.episodes import Dataset, Episode, EpisodeError
from fmviz.monitor.evaluate import MonitorEpisode
from fmviz.monitor.learned import FrameClassifier, LearnedSource, label_frames
from fmviz.video import TailSpec, select_tail

__all__ = ["load_safe_runs", "monitor_episodes", "train_learned_source"]

#: More frames than any monitor clip has: "the whole recording".
_ALL = 100_000


def _safe_runs_folders(dataset: Dataset) -> list[Path]:
    """Where a ``safe_runs.csv`` may be: the dataset folder, then the folders its recordings live in.

    A run folder keeps a copy of the manifest only; its videos (and the safe runs next to them)
    stay in the original data folder, e.g. ``sample_data/navigation/videos/*.mp4``.
    """
    folders = [Path(dataset.root)] if dataset.root is not None else []
    for episode in dataset:
        if isinstance(episode.source, (str, Path)):
            source = Path(episode.source)
            folders += [source.parent, source.parent.parent]
    return list(dict.fromkeys(f.resolve() for f in folders))


def load_safe_runs(dataset: Dataset) -> Dataset | None:
    """The ``safe_runs.csv`` shipped with the dataset (runs that ended without failure), if any."""
    for folder in _safe_runs_folders(dataset):
        if (folder / "safe_runs.csv").exists():
            frame = pd.read_csv(folder / "safe_runs.csv")
            return Dataset.from_frame(frame, name=f"{dataset.name}-safe", root=folder, domain=dataset.domain)
    return None


def _read(episode: Episode, fps: float) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "shorter than requested" is the point here
        clip = select_tail(episode, TailSpec(frames=_ALL, fps=fps, max_side=None))
    return clip.frames, np.asarray(clip.source_times, dtype=float)


def monitor_episodes(dataset: Dataset, *, failed: bool, default_fps: float = 10.0) -> list[MonitorEpisode]:
    """Every episode of ``dataset`` with frames, read whole; ``failed`` says how they all ended.

    Raises
    ------
    EpisodeError
        An episode whose recording cannot be read (named).
    """
    out = []
    for episode in dataset:
        if not episode.has_frames:
            continue
        fps = float(episode.fps or default_fps)
        frames, times = _read(episode, fps)
        if not len(frames):
            raise EpisodeError(episode.id, "no frames could be read for the monitor")
        failure_time = None
        if failed:
            failure_time = (
                float(episode.failure_time) if episode.failure_time is not None else float(times[-1])
            )
        out.append(
            MonitorEpisode(
                id=episode.id,
                frames=frames,
                times=times,
                failed=failed,
                failure_time=failure_time,
                failure_mode=episode.label if failed else None,
                task=episode.task or "",
            )
        )
    return out


def train_learned_source(
    episodes: Sequence[MonitorEpisode], *, horizon: float = 1.0, every: int = 1, threshold: float = 0.5
) -> LearnedSource:
    """Fit the frame classifier on ``episodes`` (every ``every``-th frame, as the monitor will see them).

    Examples
    --------
    >>> source = train_learned_source(monitor_episodes(run.dataset, failed=True) + safe)  # doctest: +SKIP
    """
    if not any(e.failed for e in episodes) or all(e.failed for e in episodes):
        raise ValueError("the learned monitor needs failed and safe episodes to train on")
    sequences = [e.frames[::every] for e in episodes]
    labels = [label_frames(e.times[::every], e.failure_time, horizon) for e in episodes]
    return LearnedSource(FrameClassifier().fit(sequences, labels), threshold=threshold)
