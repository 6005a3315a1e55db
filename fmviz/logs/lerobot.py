"""LeRobot datasets (layouts v2.x and v3.0) read with pandas / pyarrow, without ``lerobot``.

A LeRobot folder holds ``meta/info.json`` (fps, features, path templates), an episode table
(``meta/episodes.jsonl`` in v2, ``meta/episodes/*/*.parquet`` in v3), per-frame parquet
tables under ``data/`` and one mp4 per camera key under ``videos/``. In v2 each episode has
its own mp4; in v3 many episodes share one file and the episode table gives each one's
``from_timestamp`` / ``to_timestamp``, so its tail is decoded by seeking into that segment
and never reaches into the episode before it.

Success: an episode column ``success``, else any true ``next.success`` / ``success`` in its
frames. Where the dataset marks success, only failed episodes are loaded (fmviz explains
failures); where it does not, every episode is. Episode-table columns named like episode
fields (``narrative``, ``label``, ``notes``, ...) fill them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.episodes import Dataset, Episode, EpisodeError
from fmviz.logs._base import LogError
from fmviz.logs.window import TEXT_FIELDS
from fmviz.video.clip import TOLERANCE, Clip, TailSpec, build_clip, targets

__all__ = ["SEGMENT_END", "SEGMENT_START", "camera_keys", "is_lerobot", "load_lerobot", "segment_tail"]

#: Metadata keys: where an episode's frames start and end (seconds) in a shared video file.
SEGMENT_START, SEGMENT_END = "video_segment_start", "video_segment_end"
_SUCCESS_COLUMNS = ("next.success", "success")


def is_lerobot(path: Path) -> bool:
    return path.is_dir() and (path / "meta" / "info.json").is_file()


def _info(root: Path) -> dict[str, Any]:
    try:
        info = json.loads((root / "meta" / "info.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise LogError(f"cannot read LeRobot {root / 'meta' / 'info.json'}: {error}") from error
    if not isinstance(info, dict) or "fps" not in info or "features" not in info:
        raise LogError(f"{root / 'meta' / 'info.json'} is not a LeRobot info file (no fps / features)")
    return info


def camera_keys(info: dict[str, Any]) -> list[str]:
    """Feature keys stored as video (``observation.images.top``, ...)."""
    return [
        key
        for key, spec in info["features"].items()
        if isinstance(spec, dict) and spec.get("dtype") == "video"
    ]


def _episodes(root: Path, v3: bool) -> pd.DataFrame:
    try:
        if v3:
            files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
            if not files:
                raise LogError(f"LeRobot v3 dataset {root} has no meta/episodes/*/*.parquet")
            table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        else:
            table = pd.read_json(root / "meta" / "episodes.jsonl", lines=True)
    except (OSError, ValueError) as error:
        raise LogError(f"cannot read the episode table of LeRobot dataset {root}: {error}") from error
    if "episode_index" not in table.columns or table.empty:
        raise LogError(f"LeRobot dataset {root} lists no episodes (no episode_index)")
    return table.sort_values("episode_index").reset_index(drop=True)


def _frame_success(root: Path, info: dict[str, Any], table: pd.DataFrame) -> dict[int, bool]:
    """Per-episode success from the frame tables' ``next.success`` / ``success`` column."""
    column = next((c for c in _SUCCESS_COLUMNS if c in info["features"]), None)
    if column is None:
        return {}
    files = sorted((root / "data").glob("*/*.parquet"))
    try:
        frames = pd.concat([pd.read_parquet(f, columns=["episode_index", column]) for f in files])
    except (OSError, ValueError, KeyError) as error:
        raise LogError(f"cannot read {column!r} from the data tables of {root}: {error}") from error
    flags = frames[column].map(lambda v: bool(v[0] if hasattr(v, "__len__") else v))
    return {int(k): bool(v) for k, v in flags.groupby(frames["episode_index"]).any().items()}


def load_lerobot(
    path: str | Path,
    *,
    camera: str | None = None,
    name: str | None = None,
    domain: str | None = None,
    description: str | None = None,
) -> Dataset:
    """The failed episodes of a LeRobot dataset, each with the chosen camera's video as source."""
    root = Path(path)
    info = _info(root)
    cameras = camera_keys(info)
    if camera is None:
        if len(cameras) != 1:
            listed = ", ".join(cameras) or "none"
            raise LogError(
                f"LeRobot dataset {root} has {len(cameras)} video cameras ({listed}); pick one with --camera"
            )
        camera = cameras[0]
    elif camera not in cameras:
        raise LogError(
            f"LeRobot dataset {root} has no video camera {camera!r} (cameras: {', '.join(cameras) or 'none'})"
        )
    major = str(info.get("codebase_version", "v2")).lstrip("v").split(".")[0]
    v3 = major.isdigit() and int(major) >= 3
    table = _episodes(root, v3)
    from_frames = _frame_success(root, info, table)
    fps = float(info["fps"])
    chunk = int(info.get("chunks_size", 1000))
    episodes = []
    for row in table.to_dict(orient="records"):
        index = int(row["episode_index"])
        success = row.get("success")
        success = bool(success) if success is not None and not pd.isna(success) else from_frames.get(index)
        if success:
            continue
        metadata: dict[str, Any] = {
            "lerobot_camera": camera,
            "episode_index": index,
            "length": row.get("length"),
        }
        if success is not None:
            metadata["success"] = False
        if v3:
            video = info["video_path"].format(
                video_key=camera,
                chunk_index=int(row[f"videos/{camera}/chunk_index"]),
                file_index=int(row[f"videos/{camera}/file_index"]),
            )
            metadata[SEGMENT_START] = float(row[f"videos/{camera}/from_timestamp"])
            metadata[SEGMENT_END] = float(row[f"videos/{camera}/to_timestamp"])
        else:
            video = info["video_path"].format(
                video_key=camera, episode_chunk=index // chunk, episode_index=index
            )
        tasks = row.get("tasks")
        fields = {k: row[k] for k in TEXT_FIELDS if isinstance(row.get(k), str) and row[k]}
        if tasks is not None and len(tasks) and "task" not in fields:
            fields["task"] = "; ".join(str(t) for t in tasks)
        episodes.append(
            Episode(f"episode_{index:06d}", source=str(root / video), fps=fps, metadata=metadata, **fields)
        )
    marked = (
        "success marks" if from_frames or "success" in table.columns else "no success marks (all episodes)"
    )
    text = (
        description
        if description is not None
        else f"LeRobot dataset {root.name}: failed episodes ({marked})."
    )
    return Dataset(episodes, name=name or root.name, root=root, domain=domain or "generic", description=text)


def segment_tail(episode: Episode, spec: TailSpec) -> Clip:
    """The tail of an episode stored as ``[start, end)`` seconds of a shared video file."""
    import av

    from fmviz.video.decode import decode_until, open_video, rgb_frames, stream_fps, stream_origin

    path = Path(str(episode.source))
    if not path.exists():
        raise EpisodeError(episode.id, f"source not found: {path}")
    start = float(episode.metadata[SEGMENT_START])
    end = float(episode.metadata[SEGMENT_END])
    container, stream = open_video(episode.id, path)
    try:
        fps = stream_fps(stream) or (float(episode.fps) if episode.fps else None)
        if not fps or stream.time_base is None:
            raise EpisodeError(episode.id, f"{path} has no frame timing to find the episode's segment")
        period, origin = 1.0 / fps, stream_origin(container, stream)
        tolerance = TOLERANCE * period
        last = end - start - period
        if episode.failure_frame is not None:
            fail, label = episode.failure_frame * period, f"failure_frame {episode.failure_frame}"
        elif episode.failure_time is not None:
            fail, label = float(episode.failure_time), f"failure_time {episode.failure_time}s"
        else:
            fail, label = last, "end of episode"
        if fail < 0 or fail > last + tolerance:
            raise EpisodeError(
                episode.id, f"{label} is outside the episode's {end - start:.3f}s segment of {path}"
            )
        points = targets(fail, spec, fps) + start
        window = max(start, float(points[0]))
        back, decoded = 0.0, 0
        for _attempt in range(4):
            seek = max(0.0, window - back)
            container.seek(
                origin + int(seek / stream.time_base), stream=stream, backward=True, any_frame=False
            )
            chosen, count, first, _ = decode_until(container, stream, origin, points, tolerance)
            decoded += count
            if seek == 0.0 or (first is not None and first <= window + tolerance):
                break
            back = max(2 * back, 2.0)
        unique: list[tuple[float, Any]] = []
        for choice in chosen:  # frames before the segment belong to the previous episode
            if (
                choice is not None
                and choice[0] >= start - tolerance
                and (not unique or choice[0] > unique[-1][0])
            ):
                unique.append(choice)
        if not unique:
            raise EpisodeError(episode.id, f"no decodable frame in the episode's segment of {path}")
        frames = rgb_frames([frame for _, frame in unique], spec)
    except av.error.FFmpegError as error:
        raise EpisodeError(episode.id, f"cannot decode video {path}: {error}") from error
    finally:
        container.close()
    times = [t - start for t, _ in unique]
    indices = [round(t * fps) for t in times]
    return build_clip(
        episode, frames, indices, fps, fps, decoded, len(unique) < spec.frames, spec, source_times=times
    )
