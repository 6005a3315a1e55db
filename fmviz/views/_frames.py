"""Clip frames for widgets: the tail of an episode as JPEG bytes, and the payload budget.

The scrubber shows the same tails the reasoner saw (:func:`fmviz.video.select_tail`), but
smaller: a saved notebook keeps every widget's frames base64-encoded, so the scrubber has a
budget (bytes in the saved notebook) and :func:`plan_budget` decides which episodes keep
all their frames, which keep one thumbnail and which are text only.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fmviz.views._widget import jpeg_bytes

__all__ = [
    "EncodedClip",
    "encode_clip",
    "plan_budget",
    "saved_bytes",
    "tail_loader",
    "thumbnail_clip",
]

#: JSON overhead of one binary buffer in saved widget state (its path and encoding keys).
_BUFFER_OVERHEAD = 90


@dataclass
class EncodedClip:
    """One episode's frames ready for the browser: JPEG bytes, seconds, the failure frame."""

    frames: list[bytes]
    times: list[float]
    failure_index: int
    thumbnail: bytes = b""
    notes: list[str] = field(default_factory=list)

    def payload(self) -> dict[str, object]:
        return {"frames": self.frames, "times": self.times, "failure_index": self.failure_index}

    def cost(self) -> int:
        """Bytes these frames add to a saved notebook."""
        return sum(saved_bytes(f) for f in self.frames) + 40 + 12 * len(self.times)


def saved_bytes(data: bytes) -> int:
    """Bytes a binary buffer takes in a saved notebook (base64 plus its path entry)."""
    return 4 * ((len(data) + 2) // 3) + _BUFFER_OVERHEAD


def encode_clip(
    frames: Sequence[np.ndarray | bytes],
    times: Sequence[float] | None = None,
    failure_time: float | None = None,
    *,
    max_side: int = 320,
    quality: int = 75,
    thumb_side: int = 96,
) -> EncodedClip:
    """JPEG-encode frames (arrays, or bytes kept as they are) and locate the failure frame.

    Parameters
    ----------
    frames:
        ``(H, W, 3)`` uint8 arrays or already encoded JPEG/PNG bytes, oldest first.
    times:
        Seconds of each frame (default ``0, 1, 2, ...``); must increase.
    failure_time:
        Seconds of the failure on the same clock; default the last frame. The failure frame
        is the last one at or before it.

    Examples
    --------
    >>> clip = encode_clip([np.zeros((4, 4, 3), np.uint8)] * 3, [0.0, 0.5, 1.0], 0.6)
    >>> clip.failure_index, len(clip.frames)
    (1, 3)
    """
    if not len(frames):
        return EncodedClip([], [], 0)
    stamps = [float(t) for t in (times if times is not None else range(len(frames)))]
    if len(stamps) != len(frames):
        raise ValueError(f"got {len(frames)} frames but {len(stamps)} times")
    if any(b <= a for a, b in itertools.pairwise(stamps)):
        raise ValueError("frame times must increase")
    encoded = [
        bytes(f) if isinstance(f, (bytes, bytearray, memoryview)) else jpeg_bytes(f, max_side, quality)
        for f in frames
    ]
    failure_index = _failure_index(stamps, failure_time)
    thumbnail = _thumbnail(frames[failure_index], thumb_side)
    return EncodedClip(encoded, stamps, failure_index, thumbnail)


def thumbnail_clip(
    frames: Sequence[np.ndarray | bytes],
    times: Sequence[float] | None = None,
    failure_time: float | None = None,
    *,
    thumb_side: int = 96,
) -> EncodedClip:
    """Only the failure frame's thumbnail (``frames`` empty): an episode beyond the budget.

    Examples
    --------
    >>> clip = thumbnail_clip([np.zeros((4, 4, 3), np.uint8)] * 2)
    >>> clip.frames, clip.thumbnail[:2]
    ([], b'\\xff\\xd8')
    """
    if not len(frames):
        return EncodedClip([], [], 0)
    stamps = [float(t) for t in (times if times is not None else range(len(frames)))]
    return EncodedClip(
        [], [], 0, thumbnail=_thumbnail(frames[_failure_index(stamps, failure_time)], thumb_side)
    )


def _failure_index(stamps: Sequence[float], failure_time: float | None) -> int:
    """The last frame at or before the failure (the last frame when it is not given)."""
    if failure_time is None:
        return len(stamps) - 1
    before = [i for i, t in enumerate(stamps) if t <= float(failure_time) + 1e-9]
    return before[-1] if before else 0


def _thumbnail(frame: np.ndarray | bytes, side: int) -> bytes:
    if not isinstance(frame, (bytes, bytearray, memoryview)):
        return jpeg_bytes(frame, side, 70)
    import io

    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(bytes(frame))) as image:
        return jpeg_bytes(image.convert("RGB"), side, 70)


def tail_loader(
    dataset: object, spec: object = None, *, thumbnail_only: bool = False
) -> Callable[[str], EncodedClip | None]:
    """A loader that decodes an episode's tail with :func:`fmviz.video.select_tail`.

    ``thumbnail_only`` keeps only the failure frame's thumbnail (``frames`` empty).

    Returns ``None`` for episodes with no frames (text-only sources); decoding errors
    become a clip with no frames and the error in ``notes``, so one bad file never stops
    the widget.
    """
    from fmviz.episodes import EpisodeError
    from fmviz.video import TailSpec, select_tail

    tail_spec = spec if spec is not None else TailSpec(frames=8, fps=2.0, max_side=320)

    def load(episode_id: str) -> EncodedClip | None:
        episode = dataset[episode_id]  # type: ignore[index]
        if not episode.has_frames:
            return None
        try:
            with warnings.catch_warnings():
                # A short clip is normal here (the widget shows what exists); no warning per episode.
                warnings.simplefilter("ignore")
                clip = select_tail(episode, tail_spec)  # type: ignore[arg-type]
        except EpisodeError as error:
            return EncodedClip([], [], 0, notes=[str(error)])
        times = [float(t) for t in clip.source_times]
        encoded = encode_clip(list(clip.frames), times, times[clip.failure_index])
        if thumbnail_only:
            return EncodedClip([], [], 0, thumbnail=encoded.thumbnail)
        return encoded

    return load


def plan_budget(
    base_cost: int, clips: Sequence[EncodedClip | None], budget: int
) -> tuple[list[bool], list[bool]]:
    """Which episodes keep all frames and which keep a thumbnail, within ``budget`` bytes.

    Every episode's text is always kept (``base_cost``). Thumbnails come next, in order,
    so every episode beyond the budget still shows a picture; then whole clips in order,
    each replacing its thumbnail, until the next one would not fit.

    Returns
    -------
    (full, thumb)
        One flag per clip each.

    Examples
    --------
    >>> clip = EncodedClip([b"x" * 300] * 4, [0, 1, 2, 3], 3, thumbnail=b"t" * 30)
    >>> plan_budget(1000, [clip, clip, clip], 3400)
    ([True, False, False], [False, True, True])
    """
    full = [False] * len(clips)
    thumb = [False] * len(clips)
    used = base_cost
    for i, clip in enumerate(clips):
        if clip is not None and clip.thumbnail and used + saved_bytes(clip.thumbnail) <= budget:
            thumb[i] = True
            used += saved_bytes(clip.thumbnail)
    for i, clip in enumerate(clips):
        if clip is None or not clip.frames:
            continue
        extra = clip.cost() - (saved_bytes(clip.thumbnail) if thumb[i] else 0)
        if used + extra > budget:
            break
        full[i], thumb[i] = True, False
        used += extra
    return full, thumb
