"""Benchmark: the tail of an MCAP recording through its index, against a full scan of the file.

Run with ``python benchmarks/bench_log_tail.py`` (one command; a few minutes on two cores,
most of it JPEG-encoding the recording). It writes a synthetic recording the way a robot's
ROS 2 logger does: 60 s of a 30 fps 1280x720 camera as sensor_msgs/CompressedImage JPEG on
``/camera/front`` (textured panning footage from ``bench_tail_decode``), a 10 Hz
std_msgs/String planner state, the ``/failure`` message at 45 s and operator notes; zstd
chunks of 1 MiB with message indexes, statistics and a summary, as ``mcap-ros2-support``
writes them. The tail is the paper's default at the issue's rate: 8 frames at 2 fps, 512 px.

* fmviz: :func:`fmviz.video.select_tail` on the episode :func:`fmviz.load_dataset` made of the
  file; the MCAP index gives the chunks that hold the 3.5 s window.
* Baseline in the same run: the same reader, rule and JPEG decoding over a scan of every
  message of the topic from the start, so the two differ only in what is read. Both must
  return the same frames (``same_frames``).
* ``bytes_needed`` is what the window's chunks weigh (from the chunk index), the physical
  floor of an index read; ``ceiling`` = file size / bytes_needed. Passing needs the same
  frames, an index read within that floor (plus the summary and one chunk), a warm-cache
  ``speedup`` of at least 2 (the eight JPEG decodes and resizes are a fixed cost of both
  paths), and a ``read_speedup`` (reading the messages only, no decoding) of at least half
  the ``ceiling``.
* Each repeat times both paths with the file in the OS page cache (``speedup``) and after
  evicting it (``posix_fadvise`` DONTNEED on this file only: ``speedup_cold``), the case of
  logs read from a fleet's disk or network store.

The recording is synthetic (generated here, deleted afterwards). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmviz import load_dataset
from fmviz.logs import open_log
from fmviz.logs._base import image_from_message
from fmviz.logs.window import topic_rate
from fmviz.video import TailSpec, select_tail
from fmviz.video.clip import TOLERANCE, build_clip, targets

NS = 1_000_000_000
START_NS = 1_700_000_000 * NS
TARGET_SPEEDUP = 2.0
TARGET_READ_RATIO = 0.5


def camera_frames(count: int, width: int, height: int, fps: float, seed: int = 0):
    """Synthetic textured footage: a pan over a smooth multi-scale scene, moving boxes, sensor noise.

    Tuned so a 1280x720 frame is about 120 KB as JPEG q80, like a robot's 720p camera.
    """
    rng = np.random.default_rng(seed)
    world_h, world_w = height * 2, width * 2
    world = np.zeros((world_h, world_w), np.float32)
    for scale, weight in ((64, 70.0), (16, 40.0), (6, 20.0)):
        coarse = rng.normal(0, 1, (world_h // scale + 1, world_w // scale + 1)).astype(np.float32)
        smooth = PILImage.fromarray(coarse).resize(
            (world_w + scale, world_h + scale), PILImage.Resampling.BICUBIC
        )
        world += weight * np.asarray(smooth)[:world_h, :world_w]
    world = np.clip(world + 120, 0, 255)
    world = np.stack([world, world * 0.95, world * 0.85], axis=-1).astype(np.uint8)
    noise = [rng.integers(-2, 3, (height, width, 1), dtype=np.int16) for _ in range(7)]
    boxes = [
        (rng.integers(0, width), rng.integers(height // 3, height - 80), rng.integers(-9, 10))
        for _ in range(6)
    ]
    for index in range(count):
        t = index / fps
        x0 = int(80 * t) % (world_w - width)
        y0 = int(height // 2 + 40 * np.sin(t * 0.7)) % (world_h - height)
        frame = world[y0 : y0 + height, x0 : x0 + width].astype(np.int16) + noise[index % len(noise)]
        for bx, by, speed in boxes:
            x = int(bx + speed * index) % width
            frame[by : by + 60, x : x + 120] = (200, 30 + (x % 90), 40)
        yield np.clip(frame, 0, 255).astype(np.uint8)


def drop_cached(path: Path) -> None:
    """Evict this file's pages from the OS cache (a cold read, as from a fleet's log store)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def write_recording(path: Path, seconds: float, fps: float, width: int, height: int, fail_at: float) -> int:
    """A ROS 2 MCAP recording; returns the number of camera messages."""
    from mcap_ros2.writer import Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    image_type, string_type = "sensor_msgs/msg/CompressedImage", "std_msgs/msg/String"
    count = round(seconds * fps)
    with path.open("wb") as handle:
        writer = Writer(handle)  # mcap-ros2-support's defaults: 1 MiB zstd chunks, indexed
        image = writer.register_msgdef(image_type, store.generate_msgdef(image_type, ros_version=2)[0])
        text = writer.register_msgdef(string_type, store.generate_msgdef(string_type, ros_version=2)[0])
        planner_period, next_planner = NS // 10, START_NS
        for index, frame in enumerate(camera_frames(count, width, height, fps)):
            stamp = START_NS + round(index * NS / fps)
            while next_planner <= stamp:
                state = "FOLLOW_PATH" if next_planner < START_NS + fail_at * NS else "EMERGENCY_STOP"
                writer.write_message("/planner/state", text, {"data": state}, log_time=next_planner)
                next_planner += planner_period
            buffer = io.BytesIO()
            PILImage.fromarray(frame).save(buffer, format="JPEG", quality=80)
            header = {"stamp": {"sec": stamp // NS, "nanosec": stamp % NS}, "frame_id": "camera_front"}
            message = {"header": header, "format": "jpeg", "data": buffer.getvalue()}
            writer.write_message("/camera/front", image, message, log_time=stamp, publish_time=stamp)
            if index == round(fail_at * fps):
                writer.write_message("/failure", text, {"data": "bumper contact"}, log_time=stamp)
                note = "SYNTHETIC: operator reports the robot hit a parked trolley."
                writer.write_message("/operator_notes", text, {"data": note}, log_time=stamp + NS)
        writer.finish()
    return count


def scan_tail(path: Path, episode, spec: TailSpec) -> tuple[object, dict[str, int]]:
    """The same rule and decoding over every message of the topic from the file's start."""
    with open_log(path) as log:
        topic = episode.metadata["log_topic"]
        fps = topic_rate(log, topic)
        period = 1.0 / fps
        tolerance = TOLERANCE * period
        fail_s = float(episode.failure_time)
        points = targets(fail_s, spec, fps)
        chosen = [None] * len(points)
        for stamp, raw in log.messages([topic], log.start_ns, log.end_ns + 1):
            t = (stamp - log.start_ns) / NS
            if t > fail_s + tolerance:
                continue  # a scan reads on to the end of the file
            for j, point in enumerate(points):
                if t <= point + tolerance:
                    chosen[j] = (t, raw)
        unique = []
        for choice in chosen:
            if choice is not None and (not unique or choice[0] > unique[-1][0]):
                unique.append(choice)
        images = [image_from_message(log.decode(topic, raw), True, topic, spec.max_side) for _, raw in unique]
        times = [t for t, _ in unique]
        clip = build_clip(
            episode, images, [round(t * fps) for t in times], fps, fps, len(unique), False, spec, times
        )
        return clip, {"messages_read": log.stats.messages_read, "bytes_read": log.stats.bytes_read}


def read_only(path: Path, episode, spec: TailSpec, scan: bool) -> float:
    """Seconds to read (not decode) the window's messages: through the index, or by a scan."""
    started = time.perf_counter()
    with open_log(path) as log:
        topic = episode.metadata["log_topic"]
        fps = topic_rate(log, topic)
        points = targets(float(episode.failure_time), spec, fps)
        low = log.start_ns + math.floor((points[0] - (1 + TOLERANCE) / fps) * NS)
        high = log.start_ns + math.ceil((points[-1] + TOLERANCE / fps) * NS) + 1
        kept = 0
        for stamp, _raw in log.messages([topic], *((log.start_ns, log.end_ns + 1) if scan else (low, high))):
            kept += low <= stamp < high
    assert kept > 0
    return time.perf_counter() - started


def window_bytes(path: Path, episode, spec: TailSpec) -> int:
    """Compressed size of the chunks whose time range meets the tail window (from the index)."""
    from mcap.reader import make_reader

    with path.open("rb") as handle:
        summary = make_reader(handle).get_summary()
    start = summary.statistics.message_start_time
    fps = 30.0
    points = targets(float(episode.failure_time), spec, fps)
    low = start + math.floor((points[0] - (1 + TOLERANCE) / fps) * NS)
    high = start + math.ceil((points[-1] + TOLERANCE / fps) * NS)
    return sum(
        c.chunk_length
        for c in summary.chunk_indexes
        if c.message_end_time >= low and c.message_start_time < high
    )


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fail-at", type=float, default=45.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = TailSpec(frames=8, fps=2.0, max_side=512)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recording.mcap"
        started = time.perf_counter()
        messages = write_recording(path, args.seconds, args.fps, args.width, args.height, args.fail_at)
        write_seconds = time.perf_counter() - started
        (episode,) = load_dataset(path, topic="/camera/front")
        times: dict[str, list[float]] = {
            key: [] for key in ("seek_warm", "scan_warm", "seek_cold", "scan_cold", "read_seek", "read_scan")
        }
        for _ in range(args.repeats):
            for cache in ("warm", "cold"):
                if cache == "cold":
                    drop_cached(path)
                started = time.perf_counter()
                scanned, scan_stats = scan_tail(path, episode, spec)
                times[f"scan_{cache}"].append(time.perf_counter() - started)
                if cache == "cold":
                    drop_cached(path)
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clip = select_tail(episode, spec)
                times[f"seek_{cache}"].append(time.perf_counter() - started)
                if cache == "warm":
                    times["read_scan"].append(read_only(path, episode, spec, scan=True))
                    times["read_seek"].append(read_only(path, episode, spec, scan=False))
        with open_log(path) as log:  # the same read again, to count what it costs
            from fmviz.logs import read_tail

            before = log.stats.bytes_read
            read_tail(log, episode, spec)
            seek_stats = {
                "messages_read": log.stats.messages_read,
                "bytes_read": log.stats.bytes_read - before,
            }
            summary_bytes = before
            total_messages = sum(info.count for info in log.topics.values())
        size = path.stat().st_size
        needed = window_bytes(path, episode, spec)
    same = bool(np.array_equal(clip.frames, scanned.frames)) and list(clip.indices) == list(scanned.indices)
    median = {key: statistics.median(values) for key, values in times.items()}
    speedup = median["scan_warm"] / median["seek_warm"]
    read_speedup = median["read_scan"] / median["read_seek"]
    floor = needed + summary_bytes + 2**20  # the window's chunks, the summary, one chunk of slack
    return {
        "benchmark": "log_tail",
        "recording": (
            f"{args.seconds:g}s {args.width}x{args.height} {args.fps:g}fps CompressedImage JPEG q80 + 10 Hz "
            "String, ROS 2 MCAP, zstd 1 MiB chunks (synthetic, textured)"
        ),
        "file_mb": round(size / 2**20, 1),
        "camera_messages": messages,
        "total_messages": total_messages,
        "failure_time": episode.failure_time,
        "spec": {"frames": spec.frames, "fps": spec.fps, "max_side": spec.max_side},
        "seek_seconds": round(median["seek_warm"], 4),
        "scan_seconds": round(median["scan_warm"], 4),
        "speedup": round(speedup, 2),
        "seek_seconds_cold": round(median["seek_cold"], 4),
        "scan_seconds_cold": round(median["scan_cold"], 4),
        "speedup_cold": round(median["scan_cold"] / median["seek_cold"], 2),
        "read_seconds_seek": round(median["read_seek"], 4),
        "read_seconds_scan": round(median["read_scan"], 4),
        "read_speedup": round(read_speedup, 2),
        "messages_read_seek": seek_stats["messages_read"],
        "messages_read_scan": scan_stats["messages_read"],
        "bytes_read_seek": seek_stats["bytes_read"],
        "bytes_read_scan": scan_stats["bytes_read"],
        "summary_bytes": summary_bytes,
        "bytes_needed": needed,
        "ceiling": round(size / needed, 2),
        "write_seconds": round(write_seconds, 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "same_frames": same,
        "repeats": args.repeats,
        "target_speedup": TARGET_SPEEDUP,
        "target_read_ratio_of_ceiling": TARGET_READ_RATIO,
        "read_ratio_of_ceiling": round(read_speedup / (size / needed), 3),
        "passed": same
        and seek_stats["bytes_read"] <= floor
        and speedup >= TARGET_SPEEDUP
        and read_speedup >= TARGET_READ_RATIO * size / needed,
    }


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome))
    sys.exit(0 if outcome["passed"] else 1)
