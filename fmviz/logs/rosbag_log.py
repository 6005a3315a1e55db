"""ROS 1 bags (and ROS 2 bag folders) through ``rosbags``, a pure-Python reader.

A ROS 1 bag keeps, per connection, an index of (time, chunk, offset) entries; ``rosbags``
reads those indexes when it opens the bag and, for a time-bounded read, decompresses only
the chunks that hold the window's messages. Messages are decoded with the type definitions
stored in the bag itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fmviz.logs._base import CountingFile, LogError, ReadStats, TopicInfo, missing_extra, normalize_type

__all__ = ["BagLog"]


class BagLog:
    """One open ROS 1 bag file or ROS 2 bag folder (see :class:`fmviz.logs._base.LogReader`)."""

    format = "rosbag"

    def __init__(self, path: str | Path) -> None:
        try:
            from rosbags.highlevel import AnyReader, AnyReaderError
            from rosbags.rosbag1 import ReaderError as Bag1Error
            from rosbags.rosbag2 import ReaderError as Bag2Error
            from rosbags.typesys import Stores, get_typestore
        except ImportError as error:
            raise missing_extra(error) from error
        self.path = Path(path)
        self.stats = ReadStats()
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise LogError(f"bag file is empty: {self.path}")
        store = get_typestore(Stores.ROS1_NOETIC if self.path.suffix == ".bag" else Stores.ROS2_HUMBLE)
        self._errors = (AnyReaderError, Bag1Error, Bag2Error, struct.error, EOFError, ValueError, KeyError)
        try:
            self._reader = AnyReader([self.path], default_typestore=store)
            self._reader.open()
        except (*self._errors, OSError) as error:
            raise LogError(f"cannot read bag {self.path}: {error or type(error).__name__}") from error
        for sub in self._reader.readers:  # count the bytes a tail read takes (index read at open)
            handle = getattr(sub, "bio", None)
            if handle is not None:
                sub.bio = CountingFile(handle, self.stats)
        self.topics: dict[str, TopicInfo] = {
            name: TopicInfo(name, normalize_type(info.msgtype or ""), int(info.msgcount))
            for name, info in self._reader.topics.items()
        }
        count = self._reader.message_count
        self.start_ns = int(self._reader.start_time) if count else 0
        self.end_ns = int(self._reader.end_time) if count else 0

    def messages(self, topics: list[str], start_ns: int, end_ns: int) -> Iterator[tuple[int, Any]]:
        connections = [c for c in self._reader.connections if c.topic in topics]
        if not connections:
            return
        try:
            for connection, stamp, raw in self._reader.messages(connections, start=start_ns, stop=end_ns):
                self.stats.messages_read += 1
                yield stamp, (connection, raw)
        except self._errors as error:
            raise LogError(f"corrupt bag {self.path}: {error or type(error).__name__}") from error

    def decode(self, topic: str, raw: Any) -> Any:
        connection, data = raw
        try:
            return self._reader.deserialize(data, connection.msgtype)
        except self._errors as error:
            raise LogError(f"cannot decode a message on {topic} in {self.path}: {error}") from error

    def metadata(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> BagLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
