"""The navigation case study written as robot logs: MCAP recordings and ROS 1 bags.

Each failure episode becomes one recording, as a robot's logger would write it: camera frames
on ``/camera/front`` (sensor_msgs/CompressedImage JPEG by default, PNG or raw
sensor_msgs/Image on request), a ``/failure`` std_msgs/String at the contact frame (the
bumper event), the episode's log narrative on ``/operator_notes`` half a second later, and
``post_roll`` seconds of the stopped robot's camera after contact, so the failure marker,
not the end of the file, is what finds the failure. MCAP files also carry the run's task,
plan and label as a metadata record. Everything is SYNTHETIC and labelled so; the episodes
are those of :func:`fmviz.synth.generate_navigation` with the same arguments, which is left
untouched (its files stay byte-identical).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fmviz.episodes import Dataset
from fmviz.synth.navigation import DESCRIPTION, NavEpisode, navigation_episodes

__all__ = ["export_navigation_bag", "export_navigation_mcap", "navigation_episodes", "write_episode_log"]

NS = 1_000_000_000
#: Log time of the first message of every synthetic recording (2023-11-14T22:13:20Z).
EPOCH_NS = 1_700_000_000 * NS
IMAGE_TOPIC, FAILURE_TOPIC, NOTES_TOPIC = "/camera/front", "/failure", "/operator_notes"
_NOTE = "SYNTHETIC episode rendered by fmviz.synth.navigation; the narrative is a generated log."


def _timeline(episode: NavEpisode, fps: float, post_roll: float, marker: bool) -> list[tuple[int, str, Any]]:
    """``(log_time_ns, topic, payload)`` of one recording, in time order."""
    frames = list(episode.frames)
    stop = len(frames) - 1
    frames += [frames[stop]] * round(post_roll * fps)  # the stopped robot keeps filming
    events: list[tuple[int, str, Any]] = [
        (EPOCH_NS + round(k * NS / fps), IMAGE_TOPIC, f) for k, f in enumerate(frames)
    ]
    contact = EPOCH_NS + round(stop * NS / fps)
    if marker and episode.collided:
        events.append((contact, FAILURE_TOPIC, "bumper contact: emergency stop"))
    events.append((contact + NS // 2, NOTES_TOPIC, episode.narrative))
    return sorted(events, key=lambda e: (e[0], e[1] != IMAGE_TOPIC))


def _run_metadata(episode: NavEpisode) -> dict[str, str]:
    return {
        "id": episode.id,
        "task": episode.task,
        "success_condition": episode.success_condition,
        "action_plan": json.dumps(episode.action_plan),
        "notes": _NOTE,
        "label": episode.label,
        "synthetic": "true",
    }


def write_episode_log(
    episode: NavEpisode,
    path: str | Path,
    fps: float,
    *,
    compression: str = "jpeg",
    encoding: str = "cdr",
    post_roll: float = 1.0,
    marker: bool = True,
    chunk_size: int = 256 * 1024,
) -> Path:
    """Write one episode as ``.mcap`` (``encoding`` cdr = ROS 2, ros1) or ``.bag`` (ROS 1).

    ``compression``: ``jpeg`` or ``png`` (CompressedImage), ``raw`` (sensor_msgs/Image rgb8).
    """
    if compression not in ("jpeg", "png", "raw"):
        raise ValueError(f"compression must be jpeg, png or raw, got {compression!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    events = _timeline(episode, fps, post_roll, marker)
    if path.suffix == ".bag":
        from fmviz.synth._ros_messages import write_bag

        write_bag(path, events, compression, IMAGE_TOPIC)
    elif encoding == "cdr":
        from fmviz.synth._ros_messages import write_mcap_ros2

        write_mcap_ros2(path, events, compression, IMAGE_TOPIC, _run_metadata(episode), chunk_size)
    elif encoding == "ros1":
        from fmviz.synth._ros_messages import write_mcap_ros1

        write_mcap_ros1(path, events, compression, IMAGE_TOPIC, _run_metadata(episode), chunk_size)
    else:
        raise ValueError(f"encoding must be cdr or ros1, got {encoding!r}")
    return path


def _export(
    out_dir: str | Path, suffix: str, progress: bool, write: dict[str, Any], **episodes: Any
) -> Dataset:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fps = float(episodes.get("fps", 10.0))
    for episode in navigation_episodes(progress=progress, **episodes):
        if episode.collided:
            write_episode_log(episode, out / f"{episode.id}{suffix}", fps, **write)
    info = {
        "name": "navigation-logs",
        "domain": "navigation",
        "description": DESCRIPTION + " Written as robot logs.",
    }
    (out / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    from fmviz.logs import load_log_dataset

    return load_log_dataset(out)


def export_navigation_mcap(
    out_dir: str | Path,
    n_per_cause: int = 2,
    seed: int = 0,
    *,
    compression: str = "jpeg",
    encoding: str = "cdr",
    progress: bool = True,
    **episodes: Any,
) -> Dataset:
    """One MCAP recording per collision (``<id>.mcap``) plus ``dataset.json``; returns them loaded.

    ``episodes``: ``size``, ``fps``, ``frames``, ``causes`` as in :func:`generate_navigation`.
    """
    write = {"compression": compression, "encoding": encoding}
    return _export(out_dir, ".mcap", progress, write, n_per_cause=n_per_cause, seed=seed, **episodes)


def export_navigation_bag(
    out_dir: str | Path,
    n_per_cause: int = 2,
    seed: int = 0,
    *,
    compression: str = "jpeg",
    progress: bool = True,
    **episodes: Any,
) -> Dataset:
    """One ROS 1 bag per collision (``<id>.bag``) plus ``dataset.json``; returns them loaded.

    Bags have no metadata records: task and label are not in the files (use a manifest).
    """
    return _export(
        out_dir,
        ".bag",
        progress,
        {"compression": compression},
        n_per_cause=n_per_cause,
        seed=seed,
        **episodes,
    )
