"""The navigation case study written as a LeRobot dataset (layout v3.0, or v2.1 on request).

Collisions and safe runs become LeRobot episodes of one task each: per-frame rows (pose as
``observation.state``, body velocity as ``action``, ``next.success`` true on the last frame
of a safe run) in parquet, the front camera as ``observation.images.front`` mp4, and the
episode table with ``success``. In v3 all episodes share one mp4 and one data file, each
episode a ``[from_timestamp, to_timestamp)`` segment; in v2 each has its own files and only
the frames mark success. The episode table also holds fmviz's ``narrative`` and ``label``
columns (LeRobot has no field for a log narrative). SYNTHETIC, labelled so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmviz.episodes import Dataset
from fmviz.synth.export_logs import navigation_episodes
from fmviz.synth.navigation import DESCRIPTION, NavEpisode

__all__ = ["CAMERA_KEY", "export_navigation_lerobot"]

CAMERA_KEY = "observation.images.front"
_V3_DATA = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
_V3_VIDEO = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
_V2_DATA = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
_V2_VIDEO = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def _features(height: int, width: int, fps: float) -> dict[str, Any]:
    scalar = {"shape": [1], "names": None}
    return {
        CAMERA_KEY: {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": {"video.fps": fps, "video.height": height, "video.width": width, "video.codec": "h264"},
        },
        "observation.state": {"dtype": "float32", "shape": [3], "names": ["x", "y", "heading"]},
        "action": {"dtype": "float32", "shape": [2], "names": ["linear_velocity", "angular_velocity"]},
        "timestamp": {"dtype": "float32", **scalar},
        "frame_index": {"dtype": "int64", **scalar},
        "episode_index": {"dtype": "int64", **scalar},
        "index": {"dtype": "int64", **scalar},
        "task_index": {"dtype": "int64", **scalar},
        "next.success": {"dtype": "bool", **scalar},
    }


def _frame_rows(episode: NavEpisode, index: int, first: int, task_index: int, fps: float) -> pd.DataFrame:
    poses = np.asarray(episode.poses, dtype=np.float32)
    steps = np.diff(poses, axis=0, prepend=poses[:1]) * fps
    speed = np.hypot(steps[:, 0], steps[:, 1])
    count = len(poses)
    success = np.zeros(count, dtype=bool)
    success[-1] = not episode.collided
    return pd.DataFrame(
        {
            "observation.state": list(poses),
            "action": list(np.stack([speed, steps[:, 2]], axis=1).astype(np.float32)),
            "timestamp": (np.arange(count) / fps).astype(np.float32),
            "frame_index": np.arange(count),
            "episode_index": index,
            "index": first + np.arange(count),
            "task_index": task_index,
            "next.success": success,
        }
    )


def export_navigation_lerobot(
    out_dir: str | Path,
    n_per_cause: int = 2,
    n_safe: int = 4,
    seed: int = 0,
    *,
    version: str = "v3.0",
    progress: bool = True,
    **episodes: Any,
) -> Dataset:
    """Write a LeRobot-layout folder and return its failed episodes, loaded as fmviz reads them.

    ``episodes``: ``size``, ``fps``, ``frames``, ``causes`` as in :func:`generate_navigation`.
    """
    from fmviz.video import write_video

    if version not in ("v3.0", "v2.1"):
        raise ValueError(f"version must be v3.0 or v2.1, got {version!r}")
    v3 = version == "v3.0"
    out = Path(out_dir)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    fps = float(episodes.get("fps", 10.0))
    runs = list(navigation_episodes(n_per_cause, n_safe, seed, progress=progress, **episodes))
    tasks = list(dict.fromkeys(run.task for run in runs))
    frames_tables, table, clip, offset = [], [], [], 0
    for index, run in enumerate(runs):
        rows = _frame_rows(run, index, offset, tasks.index(run.task), fps)
        length = len(rows)
        record: dict[str, Any] = {"episode_index": index, "tasks": [run.task], "length": length}
        if v3:
            start = len(clip) / fps
            clip.extend(run.frames)
            record.update(
                {
                    "data/chunk_index": 0,
                    "data/file_index": 0,
                    "dataset_from_index": offset,
                    "dataset_to_index": offset + length,
                    f"videos/{CAMERA_KEY}/chunk_index": 0,
                    f"videos/{CAMERA_KEY}/file_index": 0,
                    f"videos/{CAMERA_KEY}/from_timestamp": start,
                    f"videos/{CAMERA_KEY}/to_timestamp": start + length / fps,
                    "success": not run.collided,
                }
            )
            frames_tables.append(rows)
        else:
            data = out / _V2_DATA.format(episode_chunk=0, episode_index=index)
            data.parent.mkdir(parents=True, exist_ok=True)
            rows.to_parquet(data, index=False)
            video = _V2_VIDEO.format(episode_chunk=0, video_key=CAMERA_KEY, episode_index=index)
            write_video(run.frames, out / video, fps, crf=20)
        record.update(
            {"narrative": run.narrative, "label": run.label, "success_condition": run.success_condition}
        )
        table.append(record)
        offset += length
    if v3:
        data = out / _V3_DATA.format(chunk_index=0, file_index=0)
        data.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(frames_tables, ignore_index=True).to_parquet(data, index=False)
        write_video(
            np.stack(clip),
            out / _V3_VIDEO.format(video_key=CAMERA_KEY, chunk_index=0, file_index=0),
            fps,
            crf=20,
        )
        episodes_file = out / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
        episodes_file.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(table).to_parquet(episodes_file, index=False)
        pd.DataFrame({"task_index": range(len(tasks))}, index=pd.Index(tasks, name="task")).to_parquet(
            out / "meta" / "tasks.parquet"
        )
    else:
        pd.DataFrame(table).to_json(out / "meta" / "episodes.jsonl", orient="records", lines=True)
        pd.DataFrame({"task_index": range(len(tasks)), "task": tasks}).to_json(
            out / "meta" / "tasks.jsonl", orient="records", lines=True
        )
    height, width = runs[0].frames.shape[1:3]
    info = {
        "codebase_version": version,
        "robot_type": "fmviz_synthetic_indoor_robot",
        "total_episodes": len(runs),
        "total_frames": offset,
        "total_tasks": len(tasks),
        "chunks_size": 1000,
        "fps": fps,
        "splits": {"train": f"0:{len(runs)}"},
        "data_path": _V3_DATA if v3 else _V2_DATA,
        "video_path": _V3_VIDEO if v3 else _V2_VIDEO,
        "features": _features(int(height), int(width), fps),
        "description": DESCRIPTION,
    }
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    from fmviz.logs import load_lerobot

    return load_lerobot(out, domain="navigation")
