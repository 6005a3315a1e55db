"""What every robot-log reader shares: message kinds, read counters, image decoding.

A reader (MCAP, ROS bag) is a small object with the recording's time span, its topics and a
``messages(topics, start_ns, end_ns)`` that answers from the file's index, so a tail
window costs the chunks that hold it, not the whole recording. Everything else (which topic,
where the failure is, which frames the tail keeps) is format-free and lives in
:mod:`fmviz.logs.window`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from fmviz.video.clip import fitted_size

__all__ = [
    "IMAGE_TYPES",
    "NS",
    "TEXT_TYPES",
    "CountingFile",
    "LogError",
    "LogReader",
    "ReadStats",
    "TopicInfo",
    "image_from_message",
    "normalize_type",
    "text_from_message",
]

NS = 1_000_000_000
#: Image message types (normalised ``pkg/msg/Name``) and whether their data is compressed.
IMAGE_TYPES = {
    "sensor_msgs/msg/Image": False,
    "sensor_msgs/msg/CompressedImage": True,
    "foxglove_msgs/msg/RawImage": False,
    "foxglove_msgs/msg/CompressedImage": True,
}
#: Text message types read as task context when no text topic is named.
TEXT_TYPES = frozenset({"std_msgs/msg/String"})
_EXTRA = "reading robot logs needs the optional 'logs' extra: pip install 'fmviz[logs]'"


class LogError(ValueError):
    """A robot log (or LeRobot dataset) that cannot be read as asked; names the file and why."""


def missing_extra(error: ImportError) -> LogError:
    return LogError(f"{_EXTRA} ({error.name or error} is not installed)")


@dataclass
class ReadStats:
    """What reading cost: messages handed back and bytes read from disk (index included)."""

    messages_read: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class TopicInfo:
    name: str
    type: str  # normalised pkg/msg/Name
    count: int


class LogReader(Protocol):
    """One open recording; ``messages`` must use the file's index for the time bounds."""

    path: Path
    format: str
    start_ns: int
    end_ns: int
    topics: dict[str, TopicInfo]
    stats: ReadStats

    def messages(self, topics: list[str], start_ns: int, end_ns: int) -> Iterator[tuple[int, Any]]:
        """``(log_time_ns, raw)`` in time order, ``start_ns <= t < end_ns``; raw is undecoded."""
        ...

    def decode(self, topic: str, raw: Any) -> Any: ...

    def metadata(self) -> dict[str, str]: ...

    def close(self) -> None: ...


class CountingFile:
    """A read-only file that counts the bytes read through it (proof that a tail read seeks).

    Deliberately not an ``io.RawIOBase``: readers wrap those in a buffer that reads ahead
    (and closes the file when collected), which would blur the count.
    """

    def __init__(self, handle: BinaryIO, stats: ReadStats) -> None:
        self._handle = handle
        self._stats = stats

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._stats.bytes_read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = self._handle.readinto(buffer) or 0
        self._stats.bytes_read += count
        return count

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def close(self) -> None:
        self._handle.close()


def normalize_type(name: str) -> str:
    """``sensor_msgs/Image`` (ROS 1) and ``sensor_msgs/msg/Image`` (ROS 2) as one name."""
    parts = name.split("/")
    return f"{parts[0]}/msg/{parts[1]}" if len(parts) == 2 else name


def _as_bytes(data: Any) -> bytes:
    return data.tobytes() if isinstance(data, np.ndarray) else bytes(data)


def image_from_message(
    message: Any, compressed: bool, where: str, max_side: int | None = None
) -> PILImage.Image:
    """An RGB image from a decoded Image / CompressedImage message.

    With ``max_side``, a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that still
    covers the fitted size (``Image.draft``): a 720p frame bound for 512 px decodes at
    640x360, about 3x cheaper, and the final resize has less to shrink.
    """
    if compressed:
        try:
            with PILImage.open(io.BytesIO(_as_bytes(message.data))) as image:
                if max_side and image.format == "JPEG":
                    image.draft("RGB", fitted_size(image.width, image.height, max_side))
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as error:
            fmt = getattr(message, "format", "?")
            raise LogError(f"cannot decode a {fmt!r} CompressedImage in {where}: {error}") from error
    return PILImage.fromarray(_raw_pixels(message, where))


_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "8UC1": 1, "8UC3": 3, "mono16": 1}


def _raw_pixels(message: Any, where: str) -> np.ndarray:
    encoding = str(message.encoding)
    channels = _CHANNELS.get(encoding)
    if channels is None:
        raise LogError(f"unsupported raw image encoding {encoding!r} in {where} (use rgb8, bgr8, mono8, ...)")
    height, width, step = int(message.height), int(message.width), int(message.step)
    depth = 2 if encoding == "mono16" else 1
    buffer = np.frombuffer(_as_bytes(message.data), dtype=np.uint8)
    if buffer.size < height * step or step < width * channels * depth:
        raise LogError(f"raw image of {width}x{height} {encoding} has {buffer.size} bytes in {where}")
    rows = buffer[: height * step].reshape(height, step)[:, : width * channels * depth]
    if depth == 2:
        order = ">u2" if int(getattr(message, "is_bigendian", 0)) else "<u2"
        pixels = (rows.copy().view(order).reshape(height, width) >> 8).astype(np.uint8)
        return np.repeat(pixels[..., None], 3, axis=2)
    pixels = rows.reshape(height, width, channels)
    if encoding.startswith("bgr") or encoding == "8UC3":
        pixels = pixels[..., [2, 1, 0]]
    elif channels == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def text_from_message(message: Any, topic: str, where: str) -> str:
    """The text of a std_msgs/String-like message (its ``data`` field)."""
    data = getattr(message, "data", None)
    if not isinstance(data, str):
        raise LogError(f"topic {topic} in {where} is not a text topic (no string 'data' field)")
    return data
