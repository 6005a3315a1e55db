"""Where robot logs meet the rest of fmviz: what counts as a log, loading, tails, checks.

:func:`fmviz.load_dataset` hands a ``.mcap`` / ``.bag`` file, a ROS 2 bag folder, a LeRobot
folder or a folder of logs to :func:`load_log_dataset`; :func:`fmviz.video.select_tail` asks
:func:`read_log_tail` first, so log episodes flow through stage 1, the offline engine and
the scrubber like any other. Format modules (and their optional libraries) load on use.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from fmviz.episodes import Dataset, Episode, EpisodeError
from fmviz.errors import InputWarning
from fmviz.logs._base import LogError, LogReader
from fmviz.logs.lerobot import SEGMENT_START, is_lerobot, load_lerobot
from fmviz.logs.window import LogOptions, log_episode
from fmviz.video.clip import Clip, TailSpec

__all__ = ["LOG_SUFFIXES", "is_log_dataset", "is_log_path", "load_log_dataset", "open_log", "read_log_tail"]

LOG_SUFFIXES = (".mcap", ".bag")
_MANIFESTS = ("manifest.csv", "manifest.jsonl", "manifest.parquet")  # as fmviz.loaders.MANIFEST_NAMES
_OPTION_NAMES = ("topic", "camera", "failure_topic", "text_topics", "text_window")


def is_log_path(path: Path) -> bool:
    """A recording: an ``.mcap`` or ``.bag`` file, or a ROS 2 bag folder (``metadata.yaml``)."""
    return path.suffix.lower() in LOG_SUFFIXES or (path.is_dir() and (path / "metadata.yaml").is_file())


def is_log_dataset(path: Path) -> bool:
    """A path :func:`load_log_dataset` reads: a recording, a LeRobot folder, a folder of recordings."""
    if is_log_path(path) or is_lerobot(path):
        return True
    if not path.is_dir() or any((path / name).is_file() for name in _MANIFESTS):
        return False
    return any(is_log_path(entry) for entry in path.iterdir() if not entry.name.startswith("."))


def open_log(path: str | Path) -> LogReader:
    """Open a recording with the reader of its format."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"log not found: {path}")
    if path.suffix.lower() == ".mcap":
        from fmviz.logs.mcap_log import McapLog

        return McapLog(path)
    from fmviz.logs.rosbag_log import BagLog

    return BagLog(path)


def load_log_dataset(
    path: str | Path,
    *,
    name: str | None = None,
    domain: str | None = None,
    description: str | None = None,
    **options: Any,
) -> Dataset:
    """A dataset from a recording (one episode), a folder of recordings, or a LeRobot folder.

    ``options``: ``topic``, ``failure_topic``, ``text_topics``, ``text_window`` for
    recordings (see :class:`~fmviz.logs.window.LogOptions`); ``camera`` for LeRobot.
    A folder's ``dataset.json`` (name, domain, description) is read as for any dataset.
    """
    path = Path(path).expanduser()
    unknown = set(options) - set(_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown log option(s): {', '.join(sorted(unknown))}")
    camera = options.pop("camera", None)
    if is_lerobot(path):
        if options.get("topic"):
            raise LogError(f"{path} is a LeRobot dataset: pick its camera with --camera, not --topic")
        return load_lerobot(path, camera=camera, name=name, domain=domain, description=description)
    if camera is not None:
        raise LogError(
            f"{path} is not a LeRobot dataset (no meta/info.json): --camera applies to LeRobot only"
        )
    if options.get("text_topics") is not None:
        options["text_topics"] = tuple(options["text_topics"])
    settings = LogOptions(**options)
    folder = path.is_dir() and not is_log_path(path)
    info = _read_info(path / "dataset.json") if folder else {}
    logs = sorted(p for p in path.iterdir() if is_log_path(p)) if folder else [path]
    episodes, problems = [], []
    for log_path in tqdm(logs, desc="reading logs", disable=len(logs) < 10):
        try:
            with open_log(log_path) as log:
                episodes.append(log_episode(log, settings, log_path.stem))
        except LogError as error:
            if not folder:
                raise
            problems.append(str(error))
    if problems:
        warnings.warn(
            f"{len(problems)} of {len(logs)} logs in {path} skipped: " + "; ".join(problems[:3]),
            InputWarning,
            stacklevel=3,
        )
    if not episodes:
        raise LogError(f"no readable logs in {path}")
    kinds = sorted({e.metadata.get("log_format", "") for e in episodes})
    return Dataset(
        episodes,
        name=name or info.get("name") or (path.name if folder else path.stem),
        root=path if folder else path.parent,
        domain=domain or info.get("domain") or "generic",
        description=description
        if description is not None
        else info.get("description", f"robot logs ({', '.join(kinds)})"),
    )


def _read_info(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError) as error:
        raise LogError(f"cannot read {path}: {error}") from error
    return info if isinstance(info, dict) else {}


def read_log_tail(episode: Episode, spec: TailSpec) -> Clip | None:
    """The tail of a log or LeRobot-segment episode; ``None`` for every other source."""
    source = episode.source
    if episode.metadata.get(SEGMENT_START) is not None and isinstance(source, (str, Path)):
        from fmviz.logs.lerobot import segment_tail

        return segment_tail(episode, spec)
    if not isinstance(source, (str, Path)) or not is_log_path(Path(source)):
        return None
    from fmviz.logs.window import read_tail

    try:
        with open_log(source) as log:
            return read_tail(log, episode, spec)
    except (LogError, FileNotFoundError) as error:
        raise EpisodeError(episode.id, str(error)) from error


def check_log_source(episode: Episode) -> str | None:
    """Why an episode's log cannot be read (summary and topics only), or ``None``."""
    from fmviz.logs.window import image_topic

    try:
        with open_log(str(episode.source)) as log:
            image_topic(log, episode.metadata.get("log_topic"))
    except (LogError, FileNotFoundError) as error:
        return str(error)
    return None
