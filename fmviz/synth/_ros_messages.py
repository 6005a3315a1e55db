"""ROS messages of a synthetic recording, written with each format's own library.

ROS 2 MCAP: ``mcap-ros2-support``'s writer (CDR, message definitions from the ``rosbags``
type store); ROS 1 MCAP: ``mcap``'s writer with ROS 1 serialisation from ``rosbags``;
ROS 1 bag: ``rosbags``' bag writer (LZ4 chunks). Frames are CompressedImage (jpeg, png) or
raw sensor_msgs/Image (rgb8).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

__all__ = ["write_bag", "write_mcap_ros1", "write_mcap_ros2"]

NS = 1_000_000_000
_STRING = "std_msgs/msg/String"


def _image_type(compression: str) -> str:
    return "sensor_msgs/msg/Image" if compression == "raw" else "sensor_msgs/msg/CompressedImage"


def _encoded(frame: np.ndarray, compression: str) -> bytes:
    if compression == "raw":
        return np.ascontiguousarray(frame, dtype=np.uint8).tobytes()
    buffer = io.BytesIO()
    if compression == "jpeg":
        PILImage.fromarray(frame).save(buffer, format="JPEG", quality=90)
    else:
        PILImage.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_fields(frame: np.ndarray, compression: str) -> dict[str, Any]:
    data = _encoded(frame, compression)
    if compression == "raw":
        height, width = frame.shape[:2]
        return {
            "height": height,
            "width": width,
            "encoding": "rgb8",
            "is_bigendian": 0,
            "step": width * 3,
            "data": data,
        }
    return {"format": compression, "data": data}


def _store(ros_version: int) -> Any:
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS1_NOETIC if ros_version == 1 else Stores.ROS2_HUMBLE)


def _ros1_message(store: Any, kind: str, payload: Any, compression: str, stamp: int, seq: int) -> bytes:
    types = store.types
    if kind == _STRING:
        return store.serialize_ros1(types[_STRING](data=payload), _STRING)
    fields = _image_fields(payload, compression)
    fields["data"] = np.frombuffer(fields["data"], dtype=np.uint8)
    time = types["builtin_interfaces/msg/Time"](sec=stamp // NS, nanosec=stamp % NS)
    header = types["std_msgs/msg/Header"](seq=seq, stamp=time, frame_id="camera_front")
    return store.serialize_ros1(types[kind](header=header, **fields), kind)


def write_mcap_ros2(
    path: Path,
    events: list[tuple[int, str, Any]],
    compression: str,
    image_topic: str,
    metadata: dict[str, str],
    chunk_size: int,
) -> None:
    from mcap_ros2.writer import Writer

    store = _store(2)
    image_kind = _image_type(compression)
    with path.open("wb") as handle:
        writer = Writer(handle, chunk_size=chunk_size)
        schemas = {
            kind: writer.register_msgdef(kind, store.generate_msgdef(kind, ros_version=2)[0])
            for kind in (image_kind, _STRING)
        }
        for stamp, topic, payload in events:
            if topic == image_topic:
                stamp_fields = {"sec": stamp // NS, "nanosec": stamp % NS}
                message = {
                    "header": {"stamp": stamp_fields, "frame_id": "camera_front"},
                    **_image_fields(payload, compression),
                }
                writer.write_message(topic, schemas[image_kind], message, log_time=stamp, publish_time=stamp)
            else:
                writer.write_message(
                    topic, schemas[_STRING], {"data": payload}, log_time=stamp, publish_time=stamp
                )
        writer.add_metadata("episode", metadata)
        writer.finish()


def write_mcap_ros1(
    path: Path,
    events: list[tuple[int, str, Any]],
    compression: str,
    image_topic: str,
    metadata: dict[str, str],
    chunk_size: int,
) -> None:
    from mcap.writer import Writer

    store = _store(1)
    image_kind = _image_type(compression)
    with path.open("wb") as handle:
        writer = Writer(handle, chunk_size=chunk_size)
        writer.start(profile="ros1", library="fmviz")
        schema_ids = {
            kind: writer.register_schema(
                name=kind.replace("/msg/", "/"),
                encoding="ros1msg",
                data=store.generate_msgdef(kind, ros_version=1)[0].encode(),
            )
            for kind in (image_kind, _STRING)
        }
        channels: dict[str, int] = {}
        for seq, (stamp, topic, payload) in enumerate(events):
            kind = image_kind if topic == image_topic else _STRING
            if topic not in channels:
                channels[topic] = writer.register_channel(
                    topic=topic, message_encoding="ros1", schema_id=schema_ids[kind]
                )
            data = _ros1_message(store, kind, payload, compression, stamp, seq)
            writer.add_message(
                channel_id=channels[topic], log_time=stamp, data=data, publish_time=stamp, sequence=seq
            )
        writer.add_metadata("episode", metadata)
        writer.finish()


def write_bag(path: Path, events: list[tuple[int, str, Any]], compression: str, image_topic: str) -> None:
    from rosbags.rosbag1 import Writer

    store = _store(1)
    image_kind = _image_type(compression)
    path.unlink(missing_ok=True)
    writer = Writer(path)
    writer.set_compression(Writer.CompressionFormat.LZ4)
    writer.chunk_threshold = 256 * 1024
    with writer:
        connections: dict[str, Any] = {}
        for seq, (stamp, topic, payload) in enumerate(events):
            kind = image_kind if topic == image_topic else _STRING
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, kind, typestore=store)
            writer.write(
                connections[topic], stamp, _ros1_message(store, kind, payload, compression, stamp, seq)
            )
