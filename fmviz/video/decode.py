"""Seek-only decoding of a video's tail, converted and resized in one step per frame.

Videos are long and the tail is short, so a video is never decoded whole: we seek to the
keyframe before the window and decode forward only until the failure time, holding at
most ``T`` frames. Pictures that no other frame refers to (half of them in footage with
B-frames) are not decoded at all unless they are kept (:mod:`fmviz.video.nal`). The
chosen frames are converted to RGB *and* resized by one
``frame.reformat(width, height, "rgb24")`` call each (swscale does both in one pass,
about 20x cheaper than a full-size RGB image resized afterwards). Streams without timing
fall back to a bounded ring buffer from the start.

Codec threads: a lone decode lets FFmpeg pick its threads, but a pool that already runs
one decode per core asks for one codec thread each (:func:`decoder_threads`): frame
threads on top of a full pool only oversubscribe the cores, and on light streams their
hand-offs cost more CPU than the decoding itself (about 2.5x per frame measured on 720p).

Every problem (empty file, corrupt stream, failure beyond the end) becomes an
:class:`~fmviz.episodes.EpisodeError` naming the episode and the file.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fmviz.episodes import Episode, EpisodeError
from fmviz.video.clip import TOLERANCE, Clip, TailSpec, build_clip, fitted_size, pick_indices, targets
from fmviz.video.nal import disposable_checker

__all__ = [
    "decode_until",
    "decoder_threads",
    "from_video",
    "open_video",
    "rgb_frames",
    "stream_duration",
    "stream_fps",
    "stream_origin",
]

#: How many times a seek that lands after the window is retried further back.
_SEEK_RETRIES = 4
#: swscale filter for the one-step downscale: area averaging is the right filter to shrink.
_INTERPOLATION = "AREA"
#: Most packet bytes held to plan which pictures to skip (a longer window is decoded whole).
_PLAN_BYTES = 64 << 20
#: Per-thread codec thread count set by :func:`decoder_threads` (absent: FFmpeg's choice).
_LOCAL = threading.local()


@contextmanager
def decoder_threads(count: int | None) -> Iterator[None]:
    """Decode with ``count`` codec threads in this thread (``None``: FFmpeg's choice).

    A pool sized to the cores uses ``decoder_threads(1)`` around each item so pool
    threads times codec threads never exceed the cores.
    """
    previous = getattr(_LOCAL, "count", None)
    _LOCAL.count = count
    try:
        yield
    finally:
        _LOCAL.count = previous


def open_video(episode_id: str, path: Path) -> tuple[Any, Any]:
    import av

    if path.stat().st_size == 0:
        raise EpisodeError(episode_id, f"video file is empty: {path}")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise EpisodeError(episode_id, f"cannot open video {path}: {error}") from error
    if not container.streams.video:
        container.close()
        raise EpisodeError(episode_id, f"no video stream in {path}")
    stream = container.streams.video[0]
    count = getattr(_LOCAL, "count", None)
    if count is None:
        stream.thread_type = "AUTO"
    else:
        stream.thread_count = max(1, int(count))
    return container, stream


def stream_fps(stream: Any) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return None


def stream_origin(container: Any, stream: Any) -> int:
    """The pts of the stream's first frame (time zero of ``failure_time``)."""
    if stream.start_time is not None:
        return int(stream.start_time)
    if container.start_time is not None and stream.time_base:
        return int(container.start_time / 1_000_000 / stream.time_base)
    return 0


def _last_frame_time(container: Any, stream: Any, origin: int, hint: float | None) -> float:
    """Time of the last frame from packet timestamps (demux only, no decoding)."""
    time_base = float(stream.time_base)
    latest: int | None = None
    for start in (max(0.0, (hint or 0.0) - 10.0), 0.0):
        _seek(container, stream, origin + int(start / time_base))
        for packet in container.demux(stream):
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is not None and packet.size and (latest is None or pts > latest):
                latest = pts
        if latest is not None or start == 0.0:
            break
    if latest is None:
        raise _NotSeekable("no packet timestamps")
    return (latest - origin) * time_base


def from_video(episode: Episode, path: Path, spec: TailSpec) -> Clip:
    import av

    container, stream = open_video(episode.id, path)
    try:
        try:
            return _select_video_tail(episode, path, spec, container, stream)
        except _NotSeekable:
            container.close()
            container, stream = open_video(episode.id, path)
            fps = float(episode.fps) if episode.fps else stream_fps(stream)
            return _video_tail_by_count(episode, path, spec, container, stream, fps)
    except av.error.FFmpegError as error:
        raise EpisodeError(episode.id, f"cannot decode video {path}: {error}") from error
    finally:
        container.close()


class _NotSeekable(Exception):
    """The stream has no timing or refuses to seek (e.g. a raw .h264 elementary stream)."""


def _seek(container: Any, stream: Any, pts: int) -> None:
    import av

    try:
        container.seek(pts, stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError as error:
        raise _NotSeekable(str(error)) from error


def _select_video_tail(episode: Episode, path: Path, spec: TailSpec, container: Any, stream: Any) -> Clip:
    fps = stream_fps(stream) or (float(episode.fps) if episode.fps else None)
    time_base = stream.time_base
    if time_base is None or fps is None:
        raise _NotSeekable("no stream timing")
    period = 1.0 / fps
    origin = stream_origin(container, stream)
    duration = stream_duration(container, stream)

    if episode.failure_frame is not None:
        if episode.failure_frame < 0:
            raise EpisodeError(episode.id, f"failure_frame {episode.failure_frame} is negative in {path}")
        if stream.frames and episode.failure_frame >= stream.frames:
            raise EpisodeError(
                episode.id,
                f"failure_frame {episode.failure_frame} is beyond the end of {path} ({stream.frames} frames)",
            )
        fail_t = episode.failure_frame * period
        label = f"failure_frame {episode.failure_frame} ({fail_t:.3f}s)"
    elif episode.failure_time is not None:
        fail_t = float(episode.failure_time)
        label = f"failure_time {fail_t:.3f}s"
        if fail_t < 0:
            raise EpisodeError(episode.id, f"failure_time {fail_t} is negative in {path}")
    else:
        fail_t = _last_frame_time(container, stream, origin, duration)
        label = f"last frame ({fail_t:.3f}s)"

    points = targets(fail_t, spec, fps)
    tolerance = TOLERANCE * period
    window_start = max(0.0, float(points[0]))
    back, total = 0.0, 0
    for _attempt in range(_SEEK_RETRIES + 1):
        seek_t = max(0.0, window_start - back)
        _seek(container, stream, origin + int(seek_t / time_base))
        chosen, decoded, first_t, last_t = decode_until(
            container, stream, origin, points, tolerance, skip_unused=True
        )
        total += decoded
        if seek_t == 0.0 or (first_t is not None and first_t <= window_start + tolerance):
            break
        back = max(2.0 * back, 2.0)  # the demuxer landed after the window (or past the end): go back
    if last_t is None:
        if duration is not None and fail_t > duration:
            raise EpisodeError(episode.id, f"{label} is beyond the end of {path} ({duration:.3f}s long)")
        raise EpisodeError(episode.id, f"video has no decodable frames: {path}")
    slack = tolerance if episode.failure_frame is not None else period + tolerance
    if fail_t > last_t + slack:
        raise EpisodeError(
            episode.id,
            f"{label} is beyond the end of {path} (last frame at {last_t:.3f}s)",
        )
    return _clip_from_choices(episode, chosen, spec, fps, total, path)


def stream_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def decode_until(
    container: Any,
    stream: Any,
    origin: int,
    targets: np.ndarray,
    tolerance: float,
    *,
    skip_unused: bool = False,
) -> tuple[list[tuple[float, Any] | None], int, float | None, float | None]:
    """Decode forward from the current position until past the last target.

    Each target keeps the latest frame whose time is ``<= target + tolerance``; only those
    frames are held, so memory stays at ``T`` frames however long the window. With
    ``skip_unused``, pictures that no other frame refers to and that no target keeps are
    never decoded (see :func:`_needed_frames`): the kept frames are the same, bit for bit.
    """
    time_base = float(stream.time_base)
    chosen: list[tuple[float, Any] | None] = [None] * len(targets)
    limit = float(targets[-1]) + tolerance
    decoded = 0
    first_t: float | None = None
    last_t: float | None = None
    frames = _needed_frames(container, stream, origin, targets, tolerance) if skip_unused else None
    for frame in frames if frames is not None else container.decode(stream):
        decoded += 1
        if frame.pts is None:
            t = (last_t + 1e-6) if last_t is not None else 0.0
        else:
            t = (frame.pts - origin) * time_base
        if first_t is None:
            first_t = t
        if t > limit:
            break
        last_t = t
        for j in range(len(targets)):
            if t <= targets[j] + tolerance:
                chosen[j] = (t, frame)
    return chosen, decoded, first_t, last_t


def _needed_frames(
    container: Any, stream: Any, origin: int, targets: np.ndarray, tolerance: float
) -> Iterator[Any]:
    """Frames from the current position to the last target, minus unreferenced ones not kept.

    Packets are read first (demuxing is cheap). No frame shown by ``limit`` can need a
    packet decoded after ``limit`` (references come first in decode order), so reading
    stops at the first packet with a later decode time. The packets' timestamps say which
    frames the selection rule will keep; an unreferenced picture (:mod:`fmviz.video.nal`)
    that is not kept is dropped before the decoder sees it. Codecs without a known rule,
    packets without timestamps, or a window too long to hold its packets in memory are
    decoded whole (from what was read so far on).
    """
    unreferenced = disposable_checker(stream)
    if unreferenced is None:
        yield from container.decode(stream)
        return
    time_base = float(stream.time_base)
    limit = float(targets[-1]) + tolerance
    packets: list[Any] = []
    held = 0
    timed = True
    for packet in container.demux(stream):
        if not packet.size:
            continue  # the demuxer's end-of-stream marker: flushed below
        packets.append(packet)
        held += packet.size
        stamp = packet.dts if packet.dts is not None else packet.pts
        if packet.pts is None or stamp is None or held > _PLAN_BYTES:
            timed = False
            break
        if (stamp - origin) * time_base > limit:
            packets.pop()
            break
    if not timed:
        for packet in packets:
            yield from stream.decode(packet)
        yield from container.decode(stream)
        return
    kept = _kept_pts([packet.pts for packet in packets], origin, time_base, targets, tolerance)
    for packet in packets:
        if packet.pts in kept or not unreferenced(bytes(packet)):
            yield from stream.decode(packet)
    yield from stream.decode(None)  # drain the frames the decoder still holds


def _kept_pts(
    stamps: list[int], origin: int, time_base: float, targets: np.ndarray, tolerance: float
) -> set[int]:
    """The pts of the frames the selection rule keeps, from packet timestamps alone."""
    times = sorted(((pts - origin) * time_base, pts) for pts in stamps)
    kept: set[int] = set()
    for target in targets:
        shown = [pts for t, pts in times if t <= target + tolerance]
        if shown:
            kept.add(shown[-1])
    return kept


def _clip_from_choices(
    episode: Episode,
    chosen: list[tuple[float, Any] | None],
    spec: TailSpec,
    fps: float,
    decoded: int,
    path: Path,
) -> Clip:
    unique: list[tuple[float, Any]] = []
    for choice in chosen:
        if choice is not None and (not unique or choice[0] > unique[-1][0]):
            unique.append(choice)
    if not unique:
        raise EpisodeError(episode.id, f"no frame at or before the failure point in {path}")
    frames = rgb_frames([frame for _, frame in unique], spec)
    times = [t for t, _ in unique]
    indices = [round(t * fps) for t in times]
    return build_clip(
        episode, frames, indices, fps, fps, decoded, len(unique) < spec.frames, spec, source_times=times
    )


def rgb_frames(frames: list[Any], spec: TailSpec) -> list[np.ndarray]:
    """Decoded frames as RGB arrays at the fitted size of the last one: one reformat each."""
    width, height = fitted_size(frames[-1].width, frames[-1].height, spec.max_side)
    return [
        frame.reformat(width=width, height=height, format="rgb24", interpolation=_INTERPOLATION).to_ndarray()
        for frame in frames
    ]


def _video_tail_by_count(
    episode: Episode, path: Path, spec: TailSpec, container: Any, stream: Any, fps: float | None
) -> Clip:
    """Fallback for streams without timing: decode from the start, keep a bounded ring."""
    if episode.failure_time is not None and not fps:
        raise EpisodeError(episode.id, f"failure_time is set but the frame rate of {path} is unknown")
    rate = fps or spec.fps
    stop = episode.failure_frame
    if stop is None and episode.failure_time is not None:
        stop = math.floor(float(episode.failure_time) * rate + TOLERANCE)
    keep = math.ceil(spec.window_seconds * rate) + 1
    ring: deque[Any] = deque(maxlen=keep)
    count = 0
    for frame in container.decode(stream):
        ring.append(frame)
        count += 1
        if stop is not None and count > stop:
            break
    if count == 0:
        raise EpisodeError(episode.id, f"video has no decodable frames: {path}")
    if stop is not None and stop >= count:
        raise EpisodeError(episode.id, f"failure frame {stop} is beyond the end of {path} ({count} frames)")
    fail_index = count - 1
    picked, short = pick_indices(fail_index, spec, fps)
    offset = count - len(ring)
    picked = [i for i in picked if i >= offset]
    frames = rgb_frames([ring[i - offset] for i in picked], spec)
    return build_clip(episode, frames, picked, rate, fps, count, short, spec)
