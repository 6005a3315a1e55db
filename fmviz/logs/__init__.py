"""Robot logs in: MCAP recordings, ROS 1 bags (and ROS 2 bag folders), LeRobot datasets.

Fleet failures live in recordings, not in folders of mp4s. This package reads them into
ordinary :class:`~fmviz.episodes.Episode` objects whose ``source`` is the log (plus the image
topic in ``metadata["log_topic"]``), so :func:`fmviz.video.select_tail`, stage 1, the offline
engine and the scrubber treat them like any other episode; only the tail window's messages
are read, through the file's index.

* :mod:`~fmviz.logs.window`: topics, failure point, tail and text context (format-free);
* :mod:`~fmviz.logs.mcap_log` / :mod:`~fmviz.logs.rosbag_log`: the two recording readers;
* :mod:`~fmviz.logs.lerobot`: LeRobot v2 / v3 folders (parquet tables plus per-camera mp4);
* :mod:`~fmviz.logs.dispatch`: what :func:`fmviz.load_dataset` and ``select_tail`` call.

Examples
--------
>>> import fmviz
>>> ds = fmviz.load_dataset("run.mcap", topic="/camera/front")   # doctest: +SKIP
>>> ds = fmviz.load_dataset("so100_pick/", camera="observation.images.top")   # doctest: +SKIP
"""

from __future__ import annotations

from fmviz.logs._base import LogError, ReadStats
from fmviz.logs.dispatch import LOG_SUFFIXES, is_log_dataset, is_log_path, load_log_dataset, open_log
from fmviz.logs.lerobot import camera_keys, load_lerobot
from fmviz.logs.window import LogOptions, log_episode, read_tail

__all__ = [
    "LOG_SUFFIXES",
    "LogError",
    "LogOptions",
    "ReadStats",
    "camera_keys",
    "is_log_dataset",
    "is_log_path",
    "load_lerobot",
    "load_log_dataset",
    "log_episode",
    "open_log",
    "read_tail",
]
