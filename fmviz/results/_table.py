"""Save and load for result tables, and the keyed container that reasons and assignments share.

Every result type writes a self-describing JSON file (a header with ``kind`` and
``schema_version``) or a Parquet file (the same header in its metadata), so a file says
what it holds and which fmviz wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import pandas as pd

__all__ = ["SCHEMA_VERSION", "Keyed", "KeyedTable", "Table", "read_payload"]

#: 2 added the edit log and typed state of cluster sets, and per-assignment pins.
SCHEMA_VERSION = 2


class Table:
    """Shared save/load: JSON with a header, or Parquet with the header in its metadata."""

    kind: ClassVar[str] = ""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def _header(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": self.kind}

    def _json_payload(self, *, include_rows: bool = True) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write to ``.json`` (self-describing) or ``.parquet`` (header in metadata)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame = self.to_frame()
            frame.attrs = {"fmviz": json.dumps(self._json_payload(include_rows=False), default=str)}
            frame.to_parquet(path, index=False)
        elif path.suffix == ".json":
            text = json.dumps(self._json_payload(), indent=2, default=str)
            path.write_text(text, encoding="utf-8")
        else:
            raise ValueError(f"cannot save to {path.name!r}: use a .json or .parquet file name")
        return path


def read_payload(path: str | Path, kind: str) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The JSON payload (or Parquet header) of a result file, and its rows for Parquet."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {kind} file at {path}")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        payload = json.loads(frame.attrs.get("fmviz", "{}")) if frame.attrs else {}
        rows: pd.DataFrame | None = frame
    else:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        rows = None
    found_kind = payload.get("kind", kind)
    if found_kind != kind:
        raise ValueError(f"{path} holds {found_kind!r}, not {kind!r}")
    version = payload.get("schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"{path} was written by a newer fmviz (schema {version}); this one reads up to {SCHEMA_VERSION}"
        )
    return payload, rows


class Keyed(Protocol):
    """A row that belongs to one episode."""

    episode_id: str


RowT = TypeVar("RowT", bound=Keyed)


class KeyedTable(Table, Generic[RowT]):
    """Rows keyed by episode id, plus the episodes that failed with their errors.

    The one container behind :class:`~fmviz.results.Reasons` and
    :class:`~fmviz.results.Assignments`: order is kept, lookup is by episode id.
    """

    #: Name of the rows in the JSON payload (``"reasons"``, ``"assignments"``).
    rows_key: ClassVar[str] = "rows"

    def __init__(self, rows: Iterable[RowT] = (), errors: dict[str, str] | None = None) -> None:
        self.rows: list[RowT] = list(rows)
        self.errors = dict(errors or {})
        self._index = {row.episode_id: i for i, row in enumerate(self.rows)}
        if len(self._index) != len(self.rows):
            seen: set[str] = set()
            dupes = sorted(
                {r.episode_id for r in self.rows if r.episode_id in seen or seen.add(r.episode_id)}
            )
            raise ValueError(f"duplicate episode ids in {self.kind}: {dupes[:5]}")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RowT]:
        return iter(self.rows)

    def __getitem__(self, episode_id: str) -> RowT:
        return self.rows[self._index[episode_id]]

    def __contains__(self, episode_id: object) -> bool:
        return episode_id in self._index

    def get(self, episode_id: str) -> RowT | None:
        index = self._index.get(episode_id)
        return None if index is None else self.rows[index]

    @property
    def ids(self) -> list[str]:
        return [row.episode_id for row in self.rows]

    def _row_dicts(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in self.rows]  # type: ignore[call-overload]

    def _extra_header(self) -> dict[str, Any]:
        return {}

    def _json_payload(self, *, include_rows: bool = True) -> dict[str, Any]:
        payload = self._header() | {"errors": self.errors} | self._extra_header()
        if include_rows:
            payload[self.rows_key] = self._row_dicts()
        return payload
