"""Submitted batch jobs, kept in the call cache's SQLite file so a rerun resumes them by id.

A job is written the moment the provider accepts it (before the first poll), with the cache
key, stage and episode of every request in it, in submission order. A rerun that would send
any of those requests again attaches to the job instead of creating another, and a job is
marked finished only after its answers are in the cache, so a run killed at any point loses
neither a paid answer nor a job id.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["JobStore", "StoredJob"]

_JOBS = """
CREATE TABLE IF NOT EXISTS batch_jobs (
    job_id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    requests TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class StoredJob:
    """One submitted job: its id and ``key -> (stage, episode_id)`` in submission order."""

    job_id: str
    endpoint: str
    status: str
    requests: dict[str, tuple[str, str | None]]

    @property
    def keys(self) -> list[str]:
        return list(self.requests)


class JobStore:
    """The ``batch_jobs`` table of a call cache file (safe for concurrent processes)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            str(self.path), timeout=timeout, check_same_thread=False, isolation_level=None
        )
        self._connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._connection.execute(_JOBS)

    def add(self, job_id: str, endpoint: str, requests: dict[str, tuple[str, str | None]]) -> None:
        """Remember a job the provider accepted."""
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO batch_jobs VALUES (?, ?, 'submitted', ?, NULL, ?)",
                (job_id, endpoint, time.time(), json.dumps([[k, *v] for k, v in requests.items()])),
            )

    def open_jobs(self, endpoint: str) -> list[StoredJob]:
        """Jobs of ``endpoint`` submitted and not yet collected, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT job_id, endpoint, status, requests FROM batch_jobs "
                "WHERE endpoint = ? AND status = 'submitted' ORDER BY created",
                (endpoint,),
            ).fetchall()
        return [_job(row) for row in rows]

    def finish(self, job_id: str, status: str) -> None:
        """Mark a job collected (its answers are cached) with its final provider status."""
        with self._lock:
            self._connection.execute(
                "UPDATE batch_jobs SET status = ?, finished = ? WHERE job_id = ?",
                (status, time.time(), job_id),
            )

    def to_frame(self) -> pd.DataFrame:
        """Every job: id, endpoint, status, requests, created, finished."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT job_id, endpoint, status, requests, created, finished FROM batch_jobs "
                "ORDER BY created"
            ).fetchall()
        frame = pd.DataFrame(
            [(r[0], r[1], r[2], len(json.loads(r[3])), r[4], r[5]) for r in rows],
            columns=["job_id", "endpoint", "status", "requests", "created", "finished"],
        )
        for column in ("created", "finished"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _job(row: tuple[str, str, str, str]) -> StoredJob:
    entries = json.loads(row[3])
    return StoredJob(row[0], row[1], row[2], {str(k): (str(s), e) for k, s, e in entries})
