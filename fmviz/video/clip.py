"""The downsampled tail of a failure: the selection rule, the clip type, resizing.

The paper represents a failure sequence ``o_1..o_K`` by its tail: the final ``T`` frames,
sampled at a reduced frame rate from the window that ends at the failure frame ``o_K``.
This module holds what every source (video, image folder, array) shares: the
:class:`TailSpec` a user sets, the :class:`Clip` a source yields, and the rule that picks
the frames.

Selection rule (all sources): with ``f = min(spec.fps, source fps)`` the targets are the
times ``t_fail - i / f`` for ``i = T-1 .. 0``; each target takes the latest source frame
shown at that time (timestamp ``<=`` target, within a quarter frame). Targets before the
first frame are dropped and the clip is marked ``short``; a source with no frame at or
before the failure point raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from fmviz.episodes import Episode, EpisodeError

__all__ = ["TOLERANCE", "Clip", "TailSpec", "build_clip", "fit", "fitted_size", "pick_indices", "targets"]

#: Fraction of a source frame period by which a timestamp may exceed a target and still count.
TOLERANCE = 0.25


@dataclass(frozen=True)
class TailSpec:
    """How to downsample a failure sequence.

    Parameters
    ----------
    frames:
        ``T``, the number of frames kept (the last one is the failure frame).
    fps:
        The reduced frame rate; the window spans ``(frames - 1) / fps`` seconds.
    max_side:
        Longest image side after resizing (aspect kept); ``0`` or ``None`` keeps the size.
    """

    frames: int = 8
    fps: float = 1.0
    max_side: int | None = 512

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"TailSpec.frames must be >= 1, got {self.frames}")
        if not self.fps or self.fps <= 0:
            raise ValueError(f"TailSpec.fps must be > 0, got {self.fps}")

    @property
    def window_seconds(self) -> float:
        """Seconds between the first and the last kept frame (``frames / fps`` budget)."""
        return (self.frames - 1) / self.fps


@dataclass
class Clip:
    """The downsampled tail of one episode.

    Attributes
    ----------
    frames:
        ``(T, H, W, 3)`` uint8 RGB frames, oldest first.
    times:
        Seconds of each frame relative to the clip's first frame.
    indices:
        Source frame indices (for videos, ``round(time * source_fps)``).
    failure_index:
        Position of the failure frame in the clip (normally the last).
    episode_id:
        The episode the clip belongs to.
    source_times:
        Seconds of each frame from the start of the source.
    source_fps:
        Frame rate of the source (``None`` when unknown).
    decoded_frames:
        Frames decoded (videos) or images read (folders) to build the clip: proof that the
        tail was reached without decoding the whole source.
    short:
        ``True`` when the source had fewer frames before the failure than requested.
    """

    frames: np.ndarray
    times: np.ndarray
    indices: np.ndarray
    failure_index: int
    episode_id: str
    source_times: np.ndarray
    source_fps: float | None = None
    decoded_frames: int = 0
    short: bool = False

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    def images(self) -> list[PILImage.Image]:
        """The frames as PIL images (for display or custom encoding)."""
        return [PILImage.fromarray(frame) for frame in self.frames]


def effective_fps(spec: TailSpec, source_fps: float | None) -> float:
    return min(spec.fps, source_fps) if source_fps else spec.fps


def targets(fail_t: float, spec: TailSpec, source_fps: float | None) -> np.ndarray:
    """Sample times ending at the failure, oldest first (may include negative times)."""
    step = 1.0 / effective_fps(spec, source_fps)
    return fail_t - step * np.arange(spec.frames - 1, -1, -1, dtype=float)


def resolve_failure_index(episode: Episode, count: int, fps: float | None, where: Path | str) -> int:
    """The 0-based failure frame of an indexed source, validated against its length."""
    if episode.failure_frame is not None:
        index = int(episode.failure_frame)
        label = f"failure_frame {index}"
    elif episode.failure_time is not None:
        if not fps:
            raise EpisodeError(
                episode.id, f"failure_time is set but the frame rate of {where} is unknown; set episode.fps"
            )
        index = math.floor(float(episode.failure_time) * fps + TOLERANCE)
        label = f"failure_time {episode.failure_time}s (frame {index})"
    else:
        return count - 1
    if index < 0:
        raise EpisodeError(episode.id, f"{label} is negative in {where}")
    if index >= count:
        raise EpisodeError(episode.id, f"{label} is beyond the end of {where} ({count} frames)")
    return index


def pick_indices(fail_index: int, spec: TailSpec, source_fps: float | None) -> tuple[list[int], bool]:
    """Indices of an evenly timed sequence for the selection rule; ``short`` flag."""
    fps = source_fps or spec.fps
    points = targets(fail_index / fps, spec, fps)
    picked: list[int] = []
    for target in points:
        index = math.floor(target * fps + TOLERANCE)
        if index < 0:
            continue
        if not picked or index > picked[-1]:
            picked.append(min(index, fail_index))
    return picked, len(picked) < spec.frames


def fitted_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """``(width, height)`` shrunk so the longest side is at most ``max_side`` (never enlarged).

    Examples
    --------
    >>> fitted_size(1280, 720, 512)
    (512, 288)
    """
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit(image: PILImage.Image, max_side: int | None) -> PILImage.Image:
    """Shrink an image so its longest side is at most ``max_side`` (aspect kept, never enlarged)."""
    size = fitted_size(image.width, image.height, max_side)
    return image if size == image.size else image.resize(size, PILImage.Resampling.LANCZOS)


def build_clip(
    episode: Episode,
    frames: list[np.ndarray] | list[PILImage.Image],
    indices: list[int],
    timing_fps: float,
    source_fps: float | None,
    decoded: int,
    short: bool,
    spec: TailSpec,
    source_times: list[float] | None = None,
) -> Clip:
    """Stack the chosen frames, resized to the failure frame's fitted size when they are not yet.

    Video frames arrive already converted and resized (one ``reformat`` at decode); images
    and arrays are resized here.
    """
    last = frames[-1]
    width, height = (
        (last.width, last.height) if isinstance(last, PILImage.Image) else (last.shape[1], last.shape[0])
    )
    size = fitted_size(width, height, spec.max_side)
    stacked = []
    for frame in frames:
        if isinstance(frame, PILImage.Image):
            if frame.size != size:
                frame = frame.resize(size, PILImage.Resampling.LANCZOS)
            frame = np.asarray(frame, dtype=np.uint8)
        elif (frame.shape[1], frame.shape[0]) != size:
            frame = np.asarray(PILImage.fromarray(frame).resize(size, PILImage.Resampling.LANCZOS))
        stacked.append(frame)
    if source_times is None:
        source_times = [i / timing_fps for i in indices]
    absolute = np.asarray(source_times, dtype=float)
    return Clip(
        frames=np.stack(stacked),
        times=absolute - absolute[0],
        indices=np.asarray(indices, dtype=int),
        failure_index=len(stacked) - 1,
        episode_id=episode.id,
        source_times=absolute,
        source_fps=source_fps,
        decoded_frames=decoded,
        short=short,
    )
