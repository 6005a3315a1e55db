"""Files on disk: which images and videos a folder holds, in order; writing and probing videos."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from fmviz.episodes import Episode, EpisodeError
from fmviz.video.decode import open_video, stream_duration, stream_fps

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "check_sources",
    "image_files",
    "natural_key",
    "probe",
    "write_video",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")


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
    container, stream = open_video(path.stem, path)
    try:
        fps = stream_fps(stream)
        duration = stream_duration(container, stream)
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


def check_sources(episodes: Iterable[Episode]) -> dict[str, str]:
    """Episodes whose frames cannot be read, with why: missing files, empty or broken videos.

    Cheap enough to run at load time: a video is opened (container header and stream list
    only), never decoded. In-memory arrays and text-only episodes are not checked.

    Returns
    -------
    dict
        Episode id -> one line naming the file and the problem.

    Examples
    --------
    >>> check_sources([Episode("e1", source="/nowhere/e1.mp4")])
    {'e1': 'source not found: /nowhere/e1.mp4'}
    """
    from fmviz.logs.dispatch import check_log_source, is_log_path  # robot logs: summary only

    problems: dict[str, str] = {}
    for episode in episodes:
        source = episode.source
        if source is None or isinstance(source, np.ndarray):
            continue
        path = Path(source)
        if is_log_path(path):
            problem = check_log_source(episode)
            if problem is not None:
                problems[episode.id] = problem
        elif not path.exists():
            problems[episode.id] = f"source not found: {path}"
        elif path.is_dir():
            if not image_files(path):
                problems[episode.id] = f"no images ({', '.join(IMAGE_EXTENSIONS)}) in folder {path}"
        elif path.suffix.lower() not in IMAGE_EXTENSIONS:
            try:
                container, _stream = open_video(episode.id, path)
            except EpisodeError as error:
                problems[episode.id] = error.reason
            else:
                container.close()
    return problems
