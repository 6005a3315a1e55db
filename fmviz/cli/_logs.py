"""Flags for robot-log datasets (MCAP, ROS bags, LeRobot), shared by run, reasons and estimate."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_log_options", "log_options"]


def add_log_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("robot logs (MCAP, ROS bags, LeRobot)")
    group.add_argument("--topic", help="image topic of an .mcap / .bag (default: the only image topic)")
    group.add_argument(
        "--failure-topic",
        help="topic whose first message marks the failure (default: /failure if present, else the end)",
    )
    group.add_argument(
        "--text-topic",
        action="append",
        dest="text_topics",
        metavar="TOPIC",
        help="text topic read as the episode's narrative (repeatable; default: every std_msgs/String topic)",
    )
    group.add_argument(
        "--text-window", type=float, help="seconds of text read on each side of the failure (default 30)"
    )
    group.add_argument(
        "--camera", help="LeRobot camera key, e.g. observation.images.top (default: the only one)"
    )


def log_options(args: argparse.Namespace) -> dict[str, Any]:
    """The log flags that were given (``load_dataset`` rejects them for other datasets)."""
    names = ("topic", "failure_topic", "text_topics", "text_window", "camera")
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
