"""MCAP recordings (ROS 2 and Foxglove, and ROS 1 messages in MCAP) through the ``mcap`` reader.

The file's summary (channels, schemas, statistics, chunk indexes) is read from the end of the
file; a time-bounded read then decompresses only the chunks whose time range meets the
window. ROS 2 CDR messages are decoded by ``mcap-ros2-support``; ROS 1 messages by the
``rosbags`` type system, built from the schema text stored in the file.
"""

from __future__ import annotations

import inspect
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fmviz.logs._base import CountingFile, LogError, ReadStats, TopicInfo, missing_extra, normalize_type

__all__ = ["McapLog"]


class McapLog:
    """One open MCAP file (see :class:`fmviz.logs._base.LogReader`)."""

    format = "mcap"

    def __init__(self, path: str | Path) -> None:
        try:
            from mcap.exceptions import McapError
            from mcap.reader import SeekingReader
        except ImportError as error:
            raise missing_extra(error) from error
        self.path = Path(path)
        self.stats = ReadStats()
        if self.path.stat().st_size == 0:
            raise LogError(f"MCAP file is empty: {self.path}")
        self._file = CountingFile(self.path.open("rb"), self.stats)
        try:
            self._reader = SeekingReader(self._file)
            summary = self._reader.get_summary()
        except (McapError, struct.error, EOFError, OSError, ValueError, KeyError) as error:
            self.close()
            raise LogError(f"cannot read MCAP {self.path}: {error or type(error).__name__}") from error
        if summary is None or not summary.chunk_indexes:
            self.close()
            raise LogError(
                f"MCAP {self.path} has no chunk index (an unfinished recording?); "
                "rebuild it with `mcap recover` to read its tail without a full scan"
            )
        self._summary = summary
        counts = summary.statistics.channel_message_counts if summary.statistics else {}
        self.topics: dict[str, TopicInfo] = {}
        for channel in summary.channels.values():
            schema = summary.schemas.get(channel.schema_id)
            kind = normalize_type(schema.name) if schema is not None else channel.message_encoding
            previous = self.topics.get(channel.topic)
            count = counts.get(channel.id, 0) + (previous.count if previous else 0)
            self.topics[channel.topic] = TopicInfo(channel.topic, kind, count)
        if summary.statistics is not None and summary.statistics.message_count:
            self.start_ns = summary.statistics.message_start_time
            self.end_ns = summary.statistics.message_end_time
        else:
            self.start_ns = min(c.message_start_time for c in summary.chunk_indexes)
            self.end_ns = max(c.message_end_time for c in summary.chunk_indexes)
        self._decoders: dict[int, Any] = {}
        self._bounds = _bound_names()

    def messages(self, topics: list[str], start_ns: int, end_ns: int) -> Iterator[tuple[int, Any]]:
        from mcap.exceptions import McapError

        bounds = dict(zip(self._bounds, (start_ns, end_ns), strict=True))
        try:
            for schema, channel, message in self._reader.iter_messages(topics=topics, **bounds):
                self.stats.messages_read += 1
                yield message.log_time, (schema, channel, message)
        except (McapError, struct.error, EOFError, ValueError) as error:
            raise LogError(f"corrupt MCAP {self.path}: {error or type(error).__name__}") from error

    def decode(self, topic: str, raw: Any) -> Any:
        schema, channel, message = raw
        decoder = self._decoders.get(channel.id)
        if decoder is None:
            decoder = self._decoders[channel.id] = self._decoder_for(schema, channel)
        try:
            return decoder(message.data)
        except Exception as error:  # a decoder raises whatever its parser hits on bad bytes
            raise LogError(f"cannot decode a message on {topic} in {self.path}: {error}") from error

    def _decoder_for(self, schema: Any, channel: Any) -> Any:
        encoding = channel.message_encoding
        if schema is None:
            raise LogError(f"topic {channel.topic} in {self.path} has no schema to decode it with")
        if encoding == "cdr":
            from mcap_ros2.decoder import DecoderFactory

            decoder = DecoderFactory().decoder_for(encoding, schema)
            if decoder is not None:
                return decoder
        if encoding == "ros1":
            from rosbags.typesys import Stores, get_typestore
            from rosbags.typesys.msg import get_types_from_msg

            store = get_typestore(Stores.EMPTY)
            name = normalize_type(schema.name)
            store.register(get_types_from_msg(schema.data.decode(), name))
            return lambda data: store.deserialize_ros1(data, name)
        raise LogError(
            f"topic {channel.topic} in {self.path} is {encoding!r}-encoded; fmviz reads cdr (ROS 2) and ros1"
        )

    def metadata(self) -> dict[str, str]:
        """Key/values of the file's metadata records (e.g. task, label of the run)."""
        values: dict[str, str] = {}
        for record in self._reader.iter_metadata():
            values.update(record.metadata)
        return values

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> McapLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bound_names() -> tuple[str, str]:
    """Keyword names of the time bounds in this ``mcap`` version (renamed in 1.4)."""
    from mcap.reader import SeekingReader

    parameters = inspect.signature(SeekingReader.iter_messages).parameters
    return ("starting_at", "ending_before") if "starting_at" in parameters else ("start_time", "end_time")
