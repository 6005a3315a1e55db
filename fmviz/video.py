"""Observation downsampling: the few frames of each failure that a multimodal model sees.

The paper represents a failure sequence ``o_1..o_K`` by its tail: the final ``T`` frames,
sampled at a reduced frame rate from the window that ends at the failure frame ``o_K``.
This module turns any episode source (a video file, a folder of images, an in-memory
array) into such a :class:`Clip`, resized to a maximum side, and encodes it for a model.

Videos are long and the tail is short, so a video is never decoded whole: we seek to the
keyframe before the window and decode forward only until the failure time. Every problem
(missing file, corrupt stream, failure beyond the end) becomes an
:class:`~fmviz.episodes.EpisodeError` that names the episode and the file.

Selection rule (all sources): with ``f = min(spec.fps, source fps)`` the targets are the
times ``t_fail - i / f`` for ``i = T-1 .. 0``; each target takes the latest source frame
shown at that time (timestamp ``<=`` target, within a quarter frame). Targets before the
first frame are dropped and the clip is marked ``short``; a source with no frame at or
before the failure point raises.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from fmviz.episodes import Episode, EpisodeError
from fmviz.providers.base import Image

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "Clip",
    "TailSpec",
    "data_uri",
    "encode_frames",
    "fit",
    "image_files",
    "natural_key",
    "probe",
    "select_tail",
    "thumbnails",
    "write_video",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")

#: Fraction of a source frame period by which a timestamp may exceed a target and still count.
_TOLERANCE = 0.25
#: How many times a seek that lands after the window is retried further back.
_SEEK_RETRIES = 4


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


# ----------------------------------------------------------------------------- selection


def select_tail(episode: Episode, spec: TailSpec | None = None) -> Clip:
    """Downsample the tail of an episode's frames ending at its failure frame.

    Parameters
    ----------
    episode:
        The episode; its ``source`` is a video path, an image folder, a single image, or a
        ``(K, H, W, 3)`` / ``(K, H, W)`` uint8 array. ``failure_frame`` / ``failure_time``
        mark the failure (both ``None`` -> last frame); ``fps`` is the frame rate of image
        folders and arrays (without it, their frames are taken as already sampled at
        ``spec.fps``), and a fallback for videos without timing.
    spec:
        Frames, rate and size of the result (default ``TailSpec()``).

    Returns
    -------
    Clip
        ``spec.frames`` frames or, when the source is shorter, all that exist
        (``short=True``).

    Raises
    ------
    EpisodeError
        Missing or unreadable source, no frames, failure point beyond the end.
    """
    spec = spec or TailSpec()
    source = episode.source
    if source is None:
        raise EpisodeError(episode.id, "has no frames to select (source is None: a text-only episode)")
    if isinstance(source, np.ndarray):
        return _from_array(episode, source, spec)
    path = Path(source)
    if not path.exists():
        raise EpisodeError(episode.id, f"source not found: {path}")
    if path.is_dir():
        return _from_image_files(episode, image_files(path), spec, where=path)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return _from_image_files(episode, [path], spec, where=path)
    return _from_video(episode, path, spec)


def _effective_fps(spec: TailSpec, source_fps: float | None) -> float:
    return min(spec.fps, source_fps) if source_fps else spec.fps


def _targets(fail_t: float, spec: TailSpec, source_fps: float | None) -> np.ndarray:
    """Sample times ending at the failure, oldest first (may include negative times)."""
    step = 1.0 / _effective_fps(spec, source_fps)
    return fail_t - step * np.arange(spec.frames - 1, -1, -1, dtype=float)


def _resolve_failure_index(episode: Episode, count: int, fps: float | None, where: Path | str) -> int:
    """The 0-based failure frame of an indexed source, validated against its length."""
    if episode.failure_frame is not None:
        index = int(episode.failure_frame)
        label = f"failure_frame {index}"
    elif episode.failure_time is not None:
        if not fps:
            raise EpisodeError(
                episode.id, f"failure_time is set but the frame rate of {where} is unknown; set episode.fps"
            )
        index = math.floor(float(episode.failure_time) * fps + _TOLERANCE)
        label = f"failure_time {episode.failure_time}s (frame {index})"
    else:
        return count - 1
    if index < 0:
        raise EpisodeError(episode.id, f"{label} is negative in {where}")
    if index >= count:
        raise EpisodeError(episode.id, f"{label} is beyond the end of {where} ({count} frames)")
    return index


def _pick_indices(fail_index: int, spec: TailSpec, source_fps: float | None) -> tuple[list[int], bool]:
    """Indices of an evenly timed sequence for the selection rule; ``short`` flag."""
    fps = source_fps or spec.fps
    targets = _targets(fail_index / fps, spec, fps)
    picked: list[int] = []
    for target in targets:
        index = math.floor(target * fps + _TOLERANCE)
        if index < 0:
            continue
        if not picked or index > picked[-1]:
            picked.append(min(index, fail_index))
    return picked, len(picked) < spec.frames


def _from_array(episode: Episode, array: np.ndarray, spec: TailSpec) -> Clip:
    where = f"the in-memory array {tuple(array.shape)}"
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise EpisodeError(episode.id, f"expected a (K, H, W, 3) or (K, H, W) array, got {where}")
    if array.dtype != np.uint8:
        raise EpisodeError(episode.id, f"expected uint8 frames, got {array.dtype} in {where}")
    if array.shape[0] == 0:
        raise EpisodeError(episode.id, f"{where} has no frames")
    fps = float(episode.fps) if episode.fps else None
    fail_index = _resolve_failure_index(episode, array.shape[0], fps, where)
    picked, short = _pick_indices(fail_index, spec, fps)
    images = [_to_rgb_image(array[i]) for i in picked]
    return _build_clip(episode, images, picked, fps or spec.fps, fps, len(picked), short, spec)


def _from_image_files(episode: Episode, files: Sequence[Path], spec: TailSpec, where: Path) -> Clip:
    if not files:
        raise EpisodeError(episode.id, f"no images ({', '.join(IMAGE_EXTENSIONS)}) in folder {where}")
    fps = float(episode.fps) if episode.fps else None
    fail_index = _resolve_failure_index(episode, len(files), fps, where)
    picked, short = _pick_indices(fail_index, spec, fps)
    images = []
    for index in picked:
        try:
            with PILImage.open(files[index]) as image:
                images.append(_to_rgb_image(image))
        except (OSError, UnidentifiedImageError, ValueError) as error:
            raise EpisodeError(episode.id, f"cannot read image {files[index]}: {error}") from error
    return _build_clip(episode, images, picked, fps or spec.fps, fps, len(picked), short, spec)


def _to_rgb_image(frame: np.ndarray | PILImage.Image) -> PILImage.Image:
    if isinstance(frame, PILImage.Image):
        image = frame
    else:
        image = PILImage.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.load()
    return image


def _build_clip(
    episode: Episode,
    images: list[PILImage.Image],
    indices: list[int],
    timing_fps: float,
    source_fps: float | None,
    decoded: int,
    short: bool,
    spec: TailSpec,
    source_times: list[float] | None = None,
) -> Clip:
    """Resize (all frames to the failure frame's size) and stack."""
    fitted = fit(images[-1], spec.max_side)
    frames = []
    for image in images:
        resized = fitted if image is images[-1] else image
        if resized.size != fitted.size:
            resized = resized.resize(fitted.size, PILImage.Resampling.LANCZOS)
        frames.append(np.asarray(resized, dtype=np.uint8))
    if source_times is None:
        source_times = [i / timing_fps for i in indices]
    absolute = np.asarray(source_times, dtype=float)
    return Clip(
        frames=np.stack(frames),
        times=absolute - absolute[0],
        indices=np.asarray(indices, dtype=int),
        failure_index=len(frames) - 1,
        episode_id=episode.id,
        source_times=absolute,
        source_fps=source_fps,
        decoded_frames=decoded,
        short=short,
    )


def fit(image: PILImage.Image, max_side: int | None) -> PILImage.Image:
    """Shrink an image so its longest side is at most ``max_side`` (aspect kept, never enlarged)."""
    width, height = image.size
    if not max_side or max(width, height) <= max_side:
        return image
    scale = max_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, PILImage.Resampling.LANCZOS)


# ----------------------------------------------------------------------------- videos


def _open_video(episode_id: str, path: Path) -> tuple[Any, Any]:
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
    stream.thread_type = "AUTO"
    return container, stream


def _stream_fps(stream: Any) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return None


def _stream_origin(container: Any, stream: Any) -> int:
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


def _from_video(episode: Episode, path: Path, spec: TailSpec) -> Clip:
    import av

    container, stream = _open_video(episode.id, path)
    try:
        try:
            return _select_video_tail(episode, path, spec, container, stream)
        except _NotSeekable:
            container.close()
            container, stream = _open_video(episode.id, path)
            fps = float(episode.fps) if episode.fps else _stream_fps(stream)
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
    fps = _stream_fps(stream) or (float(episode.fps) if episode.fps else None)
    time_base = stream.time_base
    if time_base is None or fps is None:
        raise _NotSeekable("no stream timing")
    period = 1.0 / fps
    origin = _stream_origin(container, stream)
    duration = _duration(container, stream)

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

    targets = _targets(fail_t, spec, fps)
    tolerance = _TOLERANCE * period
    window_start = max(0.0, float(targets[0]))
    back, total = 0.0, 0
    for _attempt in range(_SEEK_RETRIES + 1):
        seek_t = max(0.0, window_start - back)
        _seek(container, stream, origin + int(seek_t / time_base))
        chosen, decoded, first_t, last_t = _decode_until(container, stream, origin, targets, tolerance)
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


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _decode_until(
    container: Any, stream: Any, origin: int, targets: np.ndarray, tolerance: float
) -> tuple[list[tuple[float, Any] | None], int, float | None, float | None]:
    """Decode forward from the current position until past the last target.

    Each target keeps the latest frame whose time is ``<= target + tolerance``; only those
    frames are held, so memory stays at ``T`` frames however long the window.
    """
    time_base = float(stream.time_base)
    chosen: list[tuple[float, Any] | None] = [None] * len(targets)
    limit = float(targets[-1]) + tolerance
    decoded = 0
    first_t: float | None = None
    last_t: float | None = None
    for frame in container.decode(stream):
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
    images = [frame.to_image() for _, frame in unique]
    times = [t for t, _ in unique]
    indices = [round(t * fps) for t in times]
    return _build_clip(
        episode, images, indices, fps, fps, decoded, len(unique) < spec.frames, spec, source_times=times
    )


def _video_tail_by_count(
    episode: Episode, path: Path, spec: TailSpec, container: Any, stream: Any, fps: float | None
) -> Clip:
    """Fallback for streams without timing: decode from the start, keep a bounded ring."""
    if episode.failure_time is not None and not fps:
        raise EpisodeError(episode.id, f"failure_time is set but the frame rate of {path} is unknown")
    rate = fps or spec.fps
    stop = episode.failure_frame
    if stop is None and episode.failure_time is not None:
        stop = math.floor(float(episode.failure_time) * rate + _TOLERANCE)
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
    picked, short = _pick_indices(fail_index, spec, fps)
    offset = count - len(ring)
    picked = [i for i in picked if i >= offset]
    images = [ring[i - offset].to_image() for i in picked]
    return _build_clip(episode, images, picked, rate, fps, count, short, spec)


# ----------------------------------------------------------------------------- encoding


def encode_frames(clip: Clip, format: str = "jpeg", quality: int = 85) -> tuple[Image, ...]:
    """Encode a clip's frames as inline images for a multimodal model.

    Parameters
    ----------
    clip:
        The clip to encode.
    format:
        ``"jpeg"`` (small, default) or ``"png"`` (lossless).
    quality:
        JPEG quality, 1-95.
    """
    fmt = format.lower()
    if fmt in ("jpg", "jpeg"):
        pil_format, mime = "JPEG", "image/jpeg"
    elif fmt == "png":
        pil_format, mime = "PNG", "image/png"
    else:
        raise ValueError(f"unsupported image format {format!r}; use 'jpeg' or 'png'")
    images = []
    for frame in clip.frames:
        buffer = io.BytesIO()
        kwargs: dict[str, Any] = {"quality": int(quality)} if pil_format == "JPEG" else {}
        PILImage.fromarray(frame).save(buffer, format=pil_format, **kwargs)
        images.append(Image(buffer.getvalue(), mime))
    return tuple(images)


def thumbnails(clip: Clip, max_side: int = 160, quality: int = 80) -> tuple[Image, ...]:
    """Small JPEG thumbnails of a clip's frames for widgets and tables."""
    images = []
    for frame in clip.frames:
        buffer = io.BytesIO()
        fit(PILImage.fromarray(frame), max_side).save(buffer, format="JPEG", quality=quality)
        images.append(Image(buffer.getvalue(), "image/jpeg"))
    return tuple(images)


def data_uri(image: Image) -> str:
    """A ``data:`` URI of an encoded image, for HTML and notebook widgets."""
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"


# ----------------------------------------------------------------------------- files


def natural_key(name: str) -> list[Any]:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def image_files(folder: str | Path) -> list[Path]:
    """Image files of a folder (png, jpg, jpeg, webp, bmp) in natural name order."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: natural_key(p.name))


def write_video(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float,
    *,
    codec: str | None = None,
    gop: int | None = None,
    crf: int = 23,
) -> Path:
    """Write RGB uint8 frames to a video file with PyAV.

    Parameters
    ----------
    frames:
        ``(H, W, 3)`` uint8 frames (any iterable, so long videos need not fit in memory).
        Odd sizes are cropped by one pixel (yuv420p needs even sides).
    path:
        Output file; the suffix picks the container.
    fps:
        Frame rate.
    codec:
        Encoder name; default ``libx264`` (``ultrafast``) for mp4/mkv/mov, ``libvpx`` for
        webm, ``mpeg4`` otherwise or when libx264 is missing.
    gop:
        Keyframe interval in frames; default two seconds, so the result seeks well.
    crf:
        libx264 quality (lower is better).
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if codec is None:
        codec = (
            "libvpx" if suffix == ".webm" else "libx264" if suffix in (".mp4", ".mkv", ".mov") else "mpeg4"
        )
        if codec not in av.codecs_available:
            codec = "mpeg4"
    rate = Fraction(fps).limit_denominator(1001)
    options = {}
    if codec == "libx264":
        options = {"preset": "ultrafast", "crf": str(crf)}
    elif codec == "libvpx":
        options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = int(gop or max(1, round(2 * fps)))
        if codec != "libx264":
            stream.codec_context.bit_rate = 1_000_000 if codec == "libvpx" else 4_000_000
        started = False
        for frame in frames:
            array = np.asarray(frame)
            if array.ndim == 2:
                array = np.repeat(array[..., None], 3, axis=2)
            height, width = array.shape[0] // 2 * 2, array.shape[1] // 2 * 2
            array = np.ascontiguousarray(array[:height, :width, :3], dtype=np.uint8)
            if not started:
                stream.width, stream.height = width, height
                started = True
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        if not started:
            raise ValueError(f"write_video got no frames for {path}")
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def probe(path: str | Path) -> dict[str, Any]:
    """Frame count, rate, duration and size of a video without decoding it.

    ``frames`` comes from the container when it records it, else ``round(duration * fps)``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video not found: {path}")
    container, stream = _open_video(path.stem, path)
    try:
        fps = _stream_fps(stream)
        duration = _duration(container, stream)
        frames = int(stream.frames or 0)
        if not frames and duration is not None and fps:
            frames = round(duration * fps)
        return {
            "frames": frames,
            "fps": fps,
            "duration": duration,
            "width": int(stream.codec_context.width),
            "height": int(stream.codec_context.height),
            "codec": stream.codec_context.name,
        }
    finally:
        container.close()
