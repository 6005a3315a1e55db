"""Load failure datasets from the layouts people already have on disk.

Failure logs arrive as a manifest table (CSV, JSONL, Parquet) listing episodes and their
context, as a folder holding such a manifest plus a ``dataset.json`` description, or as a
bare folder of videos or image-sequence folders. :func:`load_dataset` accepts all of them
and returns a :class:`~fmviz.episodes.Dataset`; :func:`save_manifest` writes a manifest
that loads back to the same dataset, with ``source`` paths relative to the manifest.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.episodes import EPISODE_COLUMNS, Dataset, Episode
from fmviz.errors import InputWarning, format_episode_errors
from fmviz.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, check_sources, natural_key

__all__ = ["MANIFEST_NAMES", "DatasetError", "load_dataset", "save_manifest"]

#: Manifest file names looked for in a dataset folder, in this order.
MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl", "manifest.parquet")
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
#: Text columns read as strings from CSV, so an id such as ``007`` keeps its zeros.
_TEXT_COLUMNS = (
    "id",
    "source",
    "task",
    "success_condition",
    "action_plan",
    "notes",
    "narrative",
    "expert_reason",
    "label",
)


class DatasetError(ValueError):
    """A dataset (manifest or folder) that cannot be loaded as it is; says which file and why."""


def load_dataset(
    path: str | Path,
    *,
    name: str | None = None,
    domain: str | None = None,
    fps: float | None = None,
    description: str | None = None,
    check: bool = True,
    **log_options: Any,
) -> Dataset:
    """Load a dataset from a manifest file, a folder, or a robot log.

    Parameters
    ----------
    path:
        A manifest (``.csv``, ``.jsonl``, ``.parquet``); a folder with ``manifest.csv`` /
        ``manifest.jsonl`` / ``manifest.parquet`` (first found) and optional
        ``dataset.json`` (``name``, ``domain``, ``description``, ``group_column``: the
        metadata column naming who wrote each log, see
        :attr:`~fmviz.episodes.Dataset.group_column`); or a folder of videos
        (id = file stem) and/or image-sequence folders (id = folder name); or a robot log:
        an ``.mcap`` / ``.bag`` file, a folder of them, or a LeRobot folder (``meta/info.json``),
        read by :func:`fmviz.logs.load_log_dataset`.
    name, domain, description:
        Override what ``dataset.json`` says (defaults: folder name, ``"generic"``, ``""``).
    fps:
        Frame rate for folder datasets (image sequences need it for time-based sampling);
        in manifests, fills rows whose ``fps`` is empty.
    check:
        Open every episode's source (headers only, nothing decoded) and warn, with one
        :class:`~fmviz.errors.InputWarning` naming them, about missing files and empty or
        broken videos: the offline engine reads only their text, and an LLM stage 1 would
        list them as errors.
    log_options:
        For robot logs only: ``topic``, ``failure_topic``, ``text_topics``, ``text_window``
        (recordings), ``camera`` (LeRobot); see :class:`fmviz.logs.LogOptions`.

    Returns
    -------
    Dataset
        Episodes in manifest order (folders: natural name order); relative ``source``
        paths are resolved against the manifest's folder; unknown columns become metadata.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DatasetError
        Unknown format, unreadable manifest, no ``id`` column, empty or duplicate ids, or a
        folder with nothing to load.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    from fmviz.logs.dispatch import is_log_dataset, load_log_dataset

    log_options = {key: value for key, value in log_options.items() if value is not None}
    if is_log_dataset(path):
        return load_log_dataset(path, name=name, domain=domain, description=description, **log_options)
    if log_options:
        flags = ", ".join("--" + key.replace("_", "-") for key in sorted(log_options))
        raise DatasetError(f"{flags}: only for robot logs (.mcap, .bag, LeRobot folders); {path} is not one")
    info: dict[str, Any] = {}
    if path.is_dir():
        info = _read_info(path / "dataset.json")
        manifest = next((path / n for n in MANIFEST_NAMES if (path / n).is_file()), None)
        frame = read_manifest(manifest) if manifest is not None else _scan_folder(path)
        root, default_name = path, path.name
    else:
        info = _read_info(path.parent / "dataset.json")
        frame = read_manifest(path)
        root = path.parent
        default_name = path.parent.name if path.stem == "manifest" else path.stem
    if fps is not None:
        frame["fps"] = frame["fps"].fillna(float(fps)) if "fps" in frame.columns else float(fps)
    where = path
    _check_ids(frame, where)
    group_column = info.get("group_column") or None
    if group_column is not None and group_column not in frame.columns:
        raise DatasetError(
            f"dataset.json names group_column {group_column!r}, but {where} has no such column "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise DatasetError(f"{where} lists no episodes (only a header?)")
    try:
        dataset = Dataset.from_frame(
            frame,
            name=name or info.get("name") or default_name,
            root=root,
            domain=domain or info.get("domain") or "generic",
            description=description if description is not None else info.get("description", ""),
            group_column=group_column,
        )
    except (TypeError, ValueError) as error:
        raise DatasetError(f"cannot build episodes from {where}: {error}") from error
    if check:
        _warn_unreadable(dataset, where)
    return dataset


def _warn_unreadable(dataset: Dataset, where: Path) -> None:
    """One warning naming the episodes whose frames cannot be read (first few, then a count)."""
    problems = check_sources(dataset.episodes)
    if problems:
        warnings.warn(
            f"{len(problems)} of {len(dataset)} episodes in {where} have frames that cannot be read "
            "(the offline engine uses only their text; an LLM stage 1 lists them as errors): "
            + format_episode_errors(problems, limit=3, separator="; "),
            InputWarning,
            stacklevel=3,
        )


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read a manifest table as a DataFrame (no path resolution, no validation)."""
    path = Path(path)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DatasetError(
            f"unknown manifest format {path.suffix!r} for {path}; use .csv, .jsonl or .parquet, "
            "or pass a folder of videos / image folders"
        )
    try:
        if kind == "csv":
            header = pd.read_csv(path, nrows=0).columns
            dtypes = {column: str for column in _TEXT_COLUMNS if column in header}
            return pd.read_csv(path, dtype=dtypes, keep_default_na=True, na_values=[""])
        if kind == "parquet":
            return pd.read_parquet(path)
        return _read_jsonl(path)
    except DatasetError:
        raise
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DatasetError(f"cannot read manifest {path}: {error}") from error


def _read_jsonl(path: Path) -> pd.DataFrame:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"malformed JSON on line {number} of {path}: {error.msg}") from error
            if not isinstance(row, dict):
                raise DatasetError(f"line {number} of {path} is not a JSON object")
            rows.append(row)
    frame = pd.DataFrame(rows)
    if "id" in frame.columns:
        frame["id"] = frame["id"].map(lambda v: v if v is None else str(v))
    return frame


def _read_info(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error
    if not isinstance(info, dict):
        raise DatasetError(f"{path} must hold a JSON object with name, domain, description")
    return info


def _scan_folder(folder: Path) -> pd.DataFrame:
    """One row per video file or image-sequence subfolder, in natural name order."""
    rows = []
    for entry in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in VIDEO_EXTENSIONS:
            rows.append({"id": entry.stem, "source": entry.name})
        elif entry.is_dir() and any(
            p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in entry.iterdir()
        ):
            rows.append({"id": entry.name, "source": entry.name})
    if not rows:
        raise DatasetError(
            f"nothing to load in {folder}: no {' / '.join(MANIFEST_NAMES)}, no videos "
            f"({', '.join(VIDEO_EXTENSIONS)}) and no image-sequence folders"
        )
    return pd.DataFrame(rows)


def _check_ids(frame: pd.DataFrame, where: Path) -> None:
    if "id" not in frame.columns:
        raise DatasetError(f"{where} has no 'id' column (columns: {', '.join(map(str, frame.columns))})")
    ids = frame["id"]
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        rows = ", ".join(str(i + 1) for i in missing[missing].index[:5])
        raise DatasetError(f"{where} has rows without an id (rows {rows})")
    duplicated = ids.astype(str)[ids.astype(str).duplicated()].unique()
    if len(duplicated):
        raise DatasetError(f"{where} has duplicate ids: {', '.join(map(repr, duplicated[:5]))}")


def save_manifest(dataset: Dataset, path: str | Path) -> Path:
    """Write a dataset as a manifest that :func:`load_dataset` reads back.

    Parameters
    ----------
    dataset:
        The dataset; in-memory array sources cannot be written and are left empty (with a
        warning).
    path:
        ``.csv``, ``.jsonl`` or ``.parquet`` file; or a folder, which receives
        ``manifest.csv`` and ``dataset.json`` (name, domain, description, group column).

    Returns
    -------
    Path
        The manifest written. ``source`` paths are relative to its folder.
    """
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        if path.suffix:
            raise DatasetError(
                f"unknown manifest format {path.suffix!r} for {path}; use .csv, .jsonl, .parquet"
            )
        path.mkdir(parents=True, exist_ok=True)
        info = {"name": dataset.name, "domain": dataset.domain, "description": dataset.description}
        if dataset.group_column:
            info["group_column"] = dataset.group_column
        (path / "dataset.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        path = path / "manifest.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = _manifest_frame(dataset, path.parent.resolve())
    kind = _FORMATS[path.suffix.lower()]
    if kind == "csv":
        frame = frame.copy()
        frame["action_plan"] = frame["action_plan"].map(lambda plan: json.dumps(plan) if plan else None)
        frame.to_csv(path, index=False)
    elif kind == "jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for record in frame.to_dict(orient="records"):
                clean = {k: v for k, v in record.items() if v is not None and not _is_nan(v)}
                handle.write(json.dumps(clean, ensure_ascii=False, default=str) + "\n")
    else:
        frame.to_parquet(path, index=False)
    return path


def _manifest_frame(dataset: Dataset, base: Path) -> pd.DataFrame:
    rows = []
    arrays = []
    for episode in dataset:
        record = episode.to_record()
        record["source"] = _relative_source(episode, base)
        if episode.source is not None and record["source"] is None:
            arrays.append(episode.id)
        rows.append(record)
    if arrays:
        warnings.warn(
            f"in-memory frames of {len(arrays)} episode(s) (e.g. {arrays[0]!r}) are not written to the "
            "manifest; save them as videos or image folders first",
            stacklevel=3,
        )
    frame = pd.DataFrame(rows)
    for column in EPISODE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame[list(EPISODE_COLUMNS) + [c for c in frame.columns if c not in EPISODE_COLUMNS]]


def _relative_source(episode: Episode, base: Path) -> str | None:
    source = episode.source
    if source is None or not isinstance(source, (str, Path)):
        return None
    target = Path(source).expanduser().resolve()
    try:
        return Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive on Windows
        return str(target)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value
