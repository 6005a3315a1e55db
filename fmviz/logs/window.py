"""Format-free logic over an open recording: topics, the failure point, the tail, text context.

Time zero of an episode read from a log is the recording's first message, so
``failure_time`` is seconds from there (a manifest column may give it). The failure point is
the first message on a failure topic, that column, or, with neither, the last image of the
image topic. The tail follows the rule of :mod:`fmviz.video.clip`: targets ``t_fail - i / f``
each take the latest image at or before it (a quarter period of slack); only the messages of
the window ``[first target - one period, failure]`` are read, through the file's index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fmviz.episodes import Episode, EpisodeError
from fmviz.logs._base import (
    IMAGE_TYPES,
    NS,
    TEXT_TYPES,
    LogError,
    LogReader,
    image_from_message,
    text_from_message,
)
from fmviz.video.clip import TOLERANCE, Clip, TailSpec, build_clip, targets

__all__ = ["LogOptions", "first_time", "image_topic", "last_time", "log_episode", "read_tail", "read_text"]

#: A failure topic used when none is named and the recording has it.
DEFAULT_FAILURE_TOPIC = "/failure"
#: Metadata keys of a log episode (kept through manifests, so a saved dataset loads back).
TOPIC_KEY, FORMAT_KEY = "log_topic", "log_format"
#: Episode fields an MCAP metadata record (or a LeRobot episode column) may fill.
TEXT_FIELDS = ("task", "success_condition", "action_plan", "notes", "narrative", "expert_reason", "label")
_MAX_TEXT_MESSAGES = 50


@dataclass(frozen=True)
class LogOptions:
    """What to read from a recording (``None``: picked from what the recording holds).

    Parameters
    ----------
    topic:
        Image topic (sensor_msgs/Image or CompressedImage); default: the only one there is.
    failure_topic:
        Topic whose first message marks the failure; default ``/failure`` when present,
        else the end of the recording.
    text_topics:
        Text topics (std_msgs/String: operator notes, planner state) read as the episode's
        narrative; default: every String topic except the failure topic.
    text_window:
        Seconds of text read on each side of the failure.
    """

    topic: str | None = None
    failure_topic: str | None = None
    text_topics: tuple[str, ...] | None = None
    text_window: float = 30.0


def image_topic(log: LogReader, topic: str | None) -> str:
    """The image topic to read: the one asked for (checked), or the only one there is."""
    images = sorted(name for name, info in log.topics.items() if info.type in IMAGE_TYPES)
    if topic is not None:
        if topic not in log.topics:
            listed = ", ".join(images) or "none"
            raise LogError(f"{log.path}: no topic {topic!r} (image topics: {listed})")
        if log.topics[topic].type not in IMAGE_TYPES:
            raise LogError(
                f"{log.path}: topic {topic!r} is {log.topics[topic].type}, not an image "
                "(sensor_msgs/Image or CompressedImage)"
            )
        return topic
    if not images:
        listed = ", ".join(f"{n} ({i.type})" for n, i in sorted(log.topics.items())) or "none"
        raise LogError(f"{log.path}: no image topic (sensor_msgs/Image or CompressedImage); topics: {listed}")
    if len(images) > 1:
        raise LogError(
            f"{log.path} has {len(images)} image topics ({', '.join(images)}); pick one with --topic"
        )
    return images[0]


def topic_rate(log: LogReader, topic: str) -> float | None:
    """Messages per second of a topic over the recording (``None`` with fewer than two)."""
    count = log.topics[topic].count
    span = (log.end_ns - log.start_ns) / NS
    return round((count - 1) / span, 6) if count > 1 and span > 0 else None


def first_time(log: LogReader, topic: str) -> tuple[int, Any] | None:
    """The first message on ``topic`` (the index skips chunks without it)."""
    for stamp, raw in log.messages([topic], log.start_ns, log.end_ns + 1):
        return stamp, raw
    return None


def last_time(log: LogReader, topic: str, span_s: float = 2.0) -> int | None:
    """Log time of the last message on ``topic``: windows growing back from the end."""
    end = log.end_ns + 1
    span = int(span_s * NS)
    while True:
        start = max(log.start_ns, end - span)
        latest = None
        for stamp, _raw in log.messages([topic], start, end):
            latest = stamp
        if latest is not None or start == log.start_ns:
            return latest
        end, span = start, span * 4


def read_tail(log: LogReader, episode: Episode, spec: TailSpec) -> Clip:
    """The episode's tail from the image topic, reading only the window's messages."""
    topic = image_topic(log, episode.metadata.get(TOPIC_KEY))
    compressed = IMAGE_TYPES[log.topics[topic].type]
    where = f"{topic} in {log.path}"
    fps = topic_rate(log, topic) or (float(episode.fps) if episode.fps else None)
    if episode.failure_frame is not None:
        raise EpisodeError(
            episode.id,
            f"failure_frame is not supported for robot logs ({log.path}); give failure_time in seconds",
        )
    if episode.failure_time is not None:
        fail_s = float(episode.failure_time)
        label = f"failure_time {fail_s:.3f}s"
        if fail_s < 0:
            raise EpisodeError(episode.id, f"{label} is negative in {log.path}")
    else:
        last = last_time(log, topic)
        if last is None:
            raise EpisodeError(episode.id, f"no messages on {where}")
        fail_s = (last - log.start_ns) / NS
        label = f"end of recording ({fail_s:.3f}s)"
    period = 1.0 / fps if fps else 1.0 / spec.fps
    tolerance = TOLERANCE * period
    points = targets(fail_s, spec, fps)
    low = log.start_ns + max(0, math.floor((float(points[0]) - period - tolerance) * NS))
    high = log.start_ns + math.ceil((fail_s + tolerance) * NS) + 1
    chosen: list[tuple[float, Any] | None] = [None] * len(points)
    read, latest = 0, None
    for stamp, raw in log.messages([topic], low, high):
        t = (stamp - log.start_ns) / NS
        read, latest = read + 1, t
        for j, point in enumerate(points):
            if t <= point + tolerance:
                chosen[j] = (t, raw)
    if latest is None or fail_s > latest + period + tolerance:
        end = (log.end_ns - log.start_ns) / NS
        raise EpisodeError(
            episode.id, f"{label} has no image at or before it on {where} (recording is {end:.3f}s)"
        )
    unique: list[tuple[float, Any]] = []
    for choice in chosen:
        if choice is not None and (not unique or choice[0] > unique[-1][0]):
            unique.append(choice)
    try:
        images = [
            image_from_message(log.decode(topic, raw), compressed, where, spec.max_side) for _, raw in unique
        ]
    except LogError as error:
        raise EpisodeError(episode.id, str(error)) from error
    times = [t for t, _ in unique]
    rate = fps or spec.fps
    indices = [round(t * rate) for t in times]
    short = len(unique) < spec.frames
    return build_clip(episode, images, indices, rate, fps, read, short, spec, source_times=times)


def read_text(log: LogReader, topics: list[str], fail_ns: int, window_s: float) -> str | None:
    """Text messages around the failure, oldest first, repeats of the same line dropped."""
    if not topics:
        return None
    window = int(window_s * NS)
    lines: list[tuple[int, str]] = []
    previous: dict[str, str] = {}
    for topic in topics:
        for stamp, raw in log.messages([topic], max(log.start_ns, fail_ns - window), fail_ns + window + 1):
            text = " ".join(text_from_message(log.decode(topic, raw), topic, str(log.path)).split())
            if text and previous.get(topic) != text:
                previous[topic] = text
                lines.append((stamp, f"{topic}: {text}" if len(topics) > 1 else text))
    lines.sort(key=lambda item: item[0])
    return "\n".join(text for _, text in lines[-_MAX_TEXT_MESSAGES:]) or None


def log_episode(log: LogReader, options: LogOptions, episode_id: str) -> Episode:
    """One failure episode from a recording: image topic, failure point, text, metadata."""
    if not log.topics or all(info.count == 0 for info in log.topics.values()):
        raise LogError(f"{log.path} holds no messages")
    topic = image_topic(log, options.topic)
    failure_topic = options.failure_topic
    if failure_topic is None and DEFAULT_FAILURE_TOPIC in log.topics:
        failure_topic = DEFAULT_FAILURE_TOPIC
    metadata: dict[str, Any] = {TOPIC_KEY: topic, FORMAT_KEY: log.format}
    failure_time = None
    if failure_topic is not None:
        if failure_topic not in log.topics:
            raise LogError(
                f"{log.path}: no failure topic {failure_topic!r} (topics: {', '.join(sorted(log.topics))})"
            )
        first = first_time(log, failure_topic)
        if first is None:
            raise LogError(f"{log.path}: failure topic {failure_topic!r} has no messages")
        fail_ns, raw = first
        failure_time = round((fail_ns - log.start_ns) / NS, 9)
        metadata["failure_from"] = f"first message on {failure_topic}"
        message = getattr(log.decode(failure_topic, raw), "data", None)
        if isinstance(message, str) and message.strip():
            metadata["failure_message"] = message.strip()
    else:
        fail_ns = last_time(log, topic) or log.end_ns
        metadata["failure_from"] = "end of recording"
    if options.text_topics is None:
        texts = sorted(n for n, i in log.topics.items() if i.type in TEXT_TYPES and n != failure_topic)
    else:
        texts = list(options.text_topics)
        missing = [t for t in texts if t not in log.topics]
        if missing:
            raise LogError(
                f"{log.path}: no text topic {missing[0]!r} (topics: {', '.join(sorted(log.topics))})"
            )
    if texts:
        metadata["log_text_topics"] = ",".join(texts)
    fields = {}
    for key, value in log.metadata().items():
        (fields if key in TEXT_FIELDS else metadata)[key] = value
    narrative = read_text(log, texts, fail_ns, options.text_window)
    if narrative is not None:
        fields["narrative"] = narrative
    return Episode(
        id=str(metadata.pop("id", None) or episode_id),
        source=str(log.path),
        fps=topic_rate(log, topic),
        failure_time=failure_time,
        metadata=metadata,
        **fields,
    )
