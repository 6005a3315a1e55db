"""Failure episodes and datasets: the data that enters the pipeline.

An :class:`Episode` is one failure recording plus everything a reasoner may use about it
(task context, known text, labels). A :class:`Dataset` is an ordered collection of
episodes that round-trips through a pandas DataFrame, so a user can filter, join and
inspect it with the tools they already know. Loaders for manifests and folders live in
:mod:`fmviz.loaders`; frame decoding lives in :mod:`fmviz.video`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Dataset", "Episode", "EpisodeError"]


class EpisodeError(ValueError):
    """An input problem tied to one episode; the message always names the episode."""

    def __init__(self, episode_id: str, message: str) -> None:
        self.episode_id = episode_id
        self.reason = message
        super().__init__(f"episode {episode_id!r}: {message}")


#: Columns of :meth:`Dataset.to_frame`, in order; anything else is metadata.
EPISODE_COLUMNS = (
    "id",
    "source",
    "fps",
    "failure_frame",
    "failure_time",
    "task",
    "success_condition",
    "action_plan",
    "notes",
    "narrative",
    "expert_reason",
    "label",
)


@dataclass
class Episode:
    """One failure episode.

    Parameters
    ----------
    id:
        Unique, stable identifier (used in cache keys, results and error messages).
    source:
        The perceptual sequence: a video file path, a folder of images, an in-memory
        ``(K, H, W, 3)`` uint8 array, or ``None`` for text-only episodes.
    fps:
        Frame rate of ``source``; needed for videos without timing and for arrays.
    failure_frame, failure_time:
        Index (0-based) or time in seconds of the failure frame ``o_K``. Both ``None``
        means the last frame.
    task, success_condition, action_plan, notes:
        Optional task context handed to the reasoner.
    narrative:
        Known free text about the failure, e.g. an operator's crash narrative or a log.
    expert_reason:
        An expert's failure reason, used for evaluation or as offline stage-1 text.
    label:
        Optional ground-truth failure-mode label for evaluation.
    metadata:
        Everything else (kept, shown in tables, never sent to a model unless a prompt
        template asks for it).
    """

    id: str
    source: str | Path | np.ndarray | None = None
    fps: float | None = None
    failure_frame: int | None = None
    failure_time: float | None = None
    task: str | None = None
    success_condition: str | None = None
    action_plan: list[str] = field(default_factory=list)
    notes: str | None = None
    narrative: str | None = None
    expert_reason: str | None = None
    label: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.id = str(self.id)
        if not self.id:
            raise ValueError("an episode needs a non-empty id")
        if isinstance(self.action_plan, str):
            self.action_plan = _parse_plan(self.action_plan)
        else:
            self.action_plan = [str(step) for step in (self.action_plan or [])]

    @property
    def has_frames(self) -> bool:
        return self.source is not None

    @property
    def known_text(self) -> str | None:
        """The text an episode already carries (narrative first, then expert reason)."""
        for text in (self.narrative, self.expert_reason):
            if text and str(text).strip():
                return str(text).strip()
        return None

    def context(self) -> dict[str, str]:
        """Task context as template variables (empty strings where unknown)."""
        plan = "; ".join(self.action_plan)
        return {
            "episode_id": self.id,
            "task": self.task or "",
            "success_condition": self.success_condition or "",
            "action_plan": plan,
            "action_sequence": plan,
            "notes": self.notes or "",
            "narrative": self.narrative or "",
        }

    def to_record(self) -> dict[str, Any]:
        """A flat dict for a DataFrame row (arrays are summarised, not copied)."""
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "metadata"}
        source = self.source
        if isinstance(source, np.ndarray):
            record["source"] = f"<array {tuple(source.shape)} {source.dtype}>"
        elif source is not None:
            record["source"] = str(source)
        record.update(self.metadata)
        return record


@dataclass
class Dataset:
    """An ordered collection of episodes with unique ids.

    Examples
    --------
    >>> ds = Dataset([Episode("a", narrative="hit a chair"), Episode("b")], name="demo")
    >>> ds["a"].narrative
    'hit a chair'
    >>> ds.to_frame().shape[0]
    2
    """

    episodes: list[Episode]
    name: str = "dataset"
    root: Path | None = None
    #: Free-form description (source, licence, what is synthetic) shown in reports.
    description: str = ""
    #: Domain hint used to pick default prompts: manipulation, driving, navigation, generic.
    domain: str = "generic"
    #: The metadata column naming who wrote each log, e.g. the reporting company; text cleaning
    #: learns boilerplate per group (see :class:`fmviz.offline.TextCleaner`). ``None``: no groups.
    group_column: str | None = None

    def __post_init__(self) -> None:
        self.episodes = list(self.episodes)
        seen: set[str] = set()
        for episode in self.episodes:
            if episode.id in seen:
                raise ValueError(f"duplicate episode id {episode.id!r} in dataset {self.name!r}")
            seen.add(episode.id)
        self._index = {episode.id: i for i, episode in enumerate(self.episodes)}

    def __len__(self) -> int:
        return len(self.episodes)

    def __iter__(self) -> Iterator[Episode]:
        return iter(self.episodes)

    def __getitem__(self, key: int | str) -> Episode:
        if isinstance(key, str):
            try:
                return self.episodes[self._index[key]]
            except KeyError:
                raise KeyError(f"no episode {key!r} in dataset {self.name!r}") from None
        return self.episodes[key]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    @property
    def ids(self) -> list[str]:
        return [episode.id for episode in self.episodes]

    def subset(self, ids: Iterable[str]) -> Dataset:
        """A dataset of the given ids, in the given order."""
        return Dataset(
            [self[i] for i in ids], self.name, self.root, self.description, self.domain, self.group_column
        )

    def head(self, n: int) -> Dataset:
        return self.subset(self.ids[:n])

    def to_frame(self) -> pd.DataFrame:
        """One row per episode; metadata keys become extra columns."""
        rows = [episode.to_record() for episode in self.episodes]
        frame = pd.DataFrame(rows)
        for column in EPISODE_COLUMNS:
            if column not in frame.columns:
                frame[column] = None
        ordered = list(EPISODE_COLUMNS) + [c for c in frame.columns if c not in EPISODE_COLUMNS]
        return frame[ordered]

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        name: str = "dataset",
        root: str | Path | None = None,
        domain: str = "generic",
        description: str = "",
        group_column: str | None = None,
    ) -> Dataset:
        """Build a dataset from a DataFrame with at least an ``id`` column.

        Relative ``source`` paths are resolved against ``root``. Columns other than the
        episode fields become metadata.
        """
        if "id" not in frame.columns:
            raise ValueError("a dataset table needs an 'id' column")
        root_path = Path(root) if root is not None else None
        known = {f.name for f in fields(Episode)} - {"metadata"}
        episodes = []
        for row in frame.to_dict(orient="records"):
            values = {k: _clean(v) for k, v in row.items()}
            kwargs = {k: v for k, v in values.items() if k in known}
            metadata = {k: v for k, v in values.items() if k not in known and v is not None}
            source = kwargs.get("source")
            if isinstance(source, str) and source.startswith("<array"):
                source = None
            if isinstance(source, str) and source and root_path is not None:
                path = Path(source)
                source = str(path if path.is_absolute() else root_path / path)
            kwargs["source"] = source or None
            for key in ("fps", "failure_time"):
                if kwargs.get(key) is not None:
                    kwargs[key] = float(kwargs[key])
            if kwargs.get("failure_frame") is not None:
                kwargs["failure_frame"] = int(kwargs["failure_frame"])
            for key in ("task", "success_condition", "notes", "narrative", "expert_reason", "label"):
                if kwargs.get(key) is not None:
                    kwargs[key] = str(kwargs[key])
            episodes.append(Episode(metadata=metadata, **kwargs))
        return cls(
            episodes,
            name=name,
            root=root_path,
            domain=domain,
            description=description,
            group_column=group_column,
        )

    def summary(self) -> dict[str, Any]:
        """Counts a user checks first: size, how many have frames, text, labels."""
        return {
            "name": self.name,
            "domain": self.domain,
            "episodes": len(self),
            "with_frames": sum(e.has_frames for e in self),
            "with_known_text": sum(e.known_text is not None for e in self),
            "with_label": sum(e.label is not None for e in self),
        }


def _parse_plan(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return [str(step) for step in json.loads(text)]
        except json.JSONDecodeError:
            pass
    separator = "\n" if "\n" in text else ";"
    return [step.strip() for step in text.split(separator) if step.strip()]


def _clean(value: Any) -> Any:
    """Turn pandas' missing markers into None and numpy scalars into Python ones."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    try:
        if pd.isna(value) is True:
            return None
    except (TypeError, ValueError):
        pass
    return value


def episode_as_dict(episode: Episode) -> dict[str, Any]:
    """A JSON-friendly dict of an episode (arrays dropped)."""
    data = asdict(episode)
    if isinstance(episode.source, np.ndarray):
        data["source"] = None
    elif episode.source is not None:
        data["source"] = str(episode.source)
    return data
