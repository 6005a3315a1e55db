"""A persistent cache of model answers, so no paid call is ever made twice.

Every answer is stored under a hash of everything that determines it: the provider's
identity (provider, model, endpoint) and the request's :meth:`~fmviz.providers.base.LLMRequest.cache_fields`
(prompt, system, image hashes, schema, temperature, history, extras). A rerun of a
notebook, a resumed run after a crash, or a colleague with a copy of the cache file replays
the answers offline, for free.

The store is one SQLite file in WAL mode with a busy timeout, so several threads and
several processes can write to it at once. It holds answer text, token counts, the model
name and timestamps; never API keys or HTTP headers.

Two more tables make sharing safe. ``claims`` holds one row per request in flight (owner
host, pid and a lease), so two processes sharing a cache send an identical request once:
the second waits for the first's answer, and takes the claim over when the owner died
(SIGKILL) or its lease ran out. Answers that failed validation are kept with
``status = 'failed'``: a rerun asks again instead of replaying them forever, and
``get(..., failed=True)`` replays them offline when that is what the user wants.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fmviz.providers.base import LLMRequest, LLMResponse

if TYPE_CHECKING:
    from fmviz.providers.base import Provider

__all__ = ["CallCache", "cache_key", "default_cache_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    stage TEXT,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    finish_reason TEXT,
    created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok'
)
"""

_CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires REAL NOT NULL
)
"""

_TAILS = """
CREATE TABLE IF NOT EXISTS tails (
    fingerprint TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    created REAL NOT NULL
)
"""

_HOST = socket.gethostname()
_COLUMNS = "key, provider, model, stage, text, input_tokens, output_tokens, finish_reason, created, status"


def default_cache_path() -> Path:
    """``$FMVIZ_CACHE``, else ``$XDG_CACHE_HOME/fmviz/calls.sqlite`` (``~/.cache`` by default)."""
    explicit = os.environ.get("FMVIZ_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "fmviz" / "calls.sqlite"


def cache_key(identity: dict[str, Any], request: LLMRequest) -> str:
    """SHA-256 of the canonical JSON of provider identity + request fields."""
    payload = {"provider": identity, "request": request.cache_fields()}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CallCache:
    """Model answers keyed by request, in one SQLite file safe for concurrent writers.

    Parameters
    ----------
    path:
        The SQLite file (created with its folder if missing). Copy it next to a notebook to
        replay a run offline.
    timeout:
        Seconds a writer waits for another process's lock before failing.

    Examples
    --------
    >>> cache = CallCache("calls.sqlite")                          # doctest: +SKIP
    >>> key = cache.key(provider, request)                         # doctest: +SKIP
    >>> cache.get(key) or cache.put(key, provider.complete(request), provider.spec, "reasons")
    ... # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout = float(timeout)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = -1
        #: This process's name in the ``claims`` table (host:pid:random), set on connect.
        self.owner = ""
        with self._lock:
            self._connect()

    def _connect(self) -> sqlite3.Connection:
        """The process's connection (reopened after a fork); call with the lock held."""
        if self._connection is None or self._pid != os.getpid():
            connection = sqlite3.connect(
                str(self.path), timeout=self.timeout, check_same_thread=False, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            # Switching a new file to WAL takes an exclusive lock that the busy handler does not
            # wait for: two processes opening one new cache raced ("database is locked", about
            # 1 in 200). Retry the set-up with jittered sleeps until ``timeout``.
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    connection.execute("PRAGMA journal_mode = WAL")
                    connection.execute("PRAGMA synchronous = NORMAL")
                    connection.execute(_SCHEMA)
                    connection.execute(_CLAIMS)
                    connection.execute(_TAILS)
                    _add_status_column(connection)
                    break
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) and "busy" not in str(error):
                        raise
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(random.uniform(0.005, 0.05))
            self._connection, self._pid = connection, os.getpid()
            self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return self._connection

    @staticmethod
    def key(provider: Provider, request: LLMRequest) -> str:
        """The cache key of ``request`` sent to ``provider``."""
        return cache_key(provider.identity(), request)

    def get(self, key: str, *, failed: bool = False) -> LLMResponse | None:
        """The stored answer (``cached=True``), or None.

        Answers marked failed (:meth:`mark_failed`) count as missing unless ``failed``.
        """
        with self._lock:
            row = (
                self._connect()
                .execute(
                    "SELECT text, input_tokens, output_tokens, model, finish_reason FROM calls "
                    "WHERE key = ? AND (status = 'ok' OR ?)",
                    (key, bool(failed)),
                )
                .fetchone()
            )
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        text, input_tokens, output_tokens, model, finish_reason = row
        return LLMResponse(
            text=text,
            input_tokens=int(input_tokens),
            output_tokens=int(output_tokens),
            model=model,
            cached=True,
            finish_reason=finish_reason,
        )

    def put(self, key: str, response: LLMResponse, provider_spec: str, stage: str | None = None) -> None:
        """Store an answer (text, tokens, model; nothing else of the response)."""
        provider = provider_spec.split(":", 1)[0]
        row = (
            key,
            provider,
            response.model or provider_spec.split(":", 1)[-1],
            stage,
            response.text,
            int(response.input_tokens),
            int(response.output_tokens),
            response.finish_reason,
            time.time(),
            "ok",
        )
        with self._lock:
            self._connect().execute(
                f"INSERT OR REPLACE INTO calls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            )

    def mark_failed(self, keys: list[str]) -> int:
        """Mark answers that failed validation, so a rerun asks again; returns how many."""
        with self._lock:
            cursor = self._connect().executemany(
                "UPDATE calls SET status = 'failed' WHERE key = ?", [(k,) for k in keys]
            )
        return max(0, cursor.rowcount)

    # -- remembered inputs ----------------------------------------------------------------

    def get_tail(self, fingerprint: str) -> dict[str, Any] | None:
        """What a clip's tail encoded to last time (image digests, times), or None."""
        with self._lock:
            row = (
                self._connect()
                .execute("SELECT record FROM tails WHERE fingerprint = ?", (fingerprint,))
                .fetchone()
            )
        return json.loads(row[0]) if row is not None else None

    def put_tail(self, fingerprint: str, record: dict[str, Any]) -> None:
        """Remember what a clip's tail encoded to (digests of the images, never the images)."""
        with self._lock:
            self._connect().execute(
                "INSERT OR REPLACE INTO tails VALUES (?, ?, ?)",
                (fingerprint, json.dumps(record), time.time()),
            )

    # -- single-flight across processes -------------------------------------------------

    def claim(self, key: str, lease: float) -> bool:
        """Take the claim on ``key`` for ``lease`` seconds; False while another live owner holds it.

        A claim is free when nobody holds it, its lease ran out, or its owner was a process
        on this host that no longer exists (killed mid-call).
        """
        now = time.time()
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute(
                    "SELECT owner, host, pid, expires FROM claims WHERE key = ?", (key,)
                ).fetchone()
                if row is not None and row[0] != self.owner and row[3] > now and _alive(row[1], row[2]):
                    connection.execute("COMMIT")
                    return False
                connection.execute(
                    "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                    (key, self.owner, _HOST, os.getpid(), now + lease),
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return True

    def renew(self, key: str, lease: float) -> None:
        """Extend this process's claim on ``key`` (called before each retry)."""
        with self._lock:
            self._connect().execute(
                "UPDATE claims SET expires = ? WHERE key = ? AND owner = ?",
                (time.time() + lease, key, self.owner),
            )

    def release(self, key: str) -> None:
        """Drop this process's claim on ``key`` (answered or given up)."""
        with self._lock:
            self._connect().execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))

    def __contains__(self, key: object) -> bool:
        with self._lock:
            found = self._connect().execute("SELECT 1 FROM calls WHERE key = ?", (key,)).fetchone()
        return found is not None

    def __bool__(self) -> bool:
        """A cache is truthy even when empty (``cache or default`` must not replace it)."""
        return True

    def __len__(self) -> int:
        with self._lock:
            return int(self._connect().execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def delete(self, key: str) -> bool:
        """Forget one answer (e.g. to re-ask a model); True if it was stored."""
        with self._lock:
            cursor = self._connect().execute("DELETE FROM calls WHERE key = ?", (key,))
        return cursor.rowcount > 0

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._connect().execute("DELETE FROM calls")

    def stats(self) -> pd.DataFrame:
        """Stored answers per provider, model and stage, with their token totals."""
        with self._lock:
            rows = (
                self._connect()
                .execute(
                    "SELECT provider, model, stage, COUNT(*), SUM(input_tokens), SUM(output_tokens), "
                    "MIN(created), MAX(created) FROM calls GROUP BY provider, model, stage "
                    "ORDER BY provider, model, stage"
                )
                .fetchall()
            )
        frame = pd.DataFrame(
            rows,
            columns=[
                "provider",
                "model",
                "stage",
                "entries",
                "input_tokens",
                "output_tokens",
                "first",
                "last",
            ],
        )
        for column in ("first", "last"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def close(self) -> None:
        """Close this process's connection (the file stays)."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def __enter__(self) -> CallCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CallCache({str(self.path)!r})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickle as a path (multiprocessing workers reopen the file)."""
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], timeout=state["timeout"])  # type: ignore[misc]


def _add_status_column(connection: sqlite3.Connection) -> None:
    """Caches written before ``status`` existed get the column (every old answer is 'ok')."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(calls)")}
    if "status" in columns:
        return
    try:
        connection.execute("ALTER TABLE calls ADD COLUMN status TEXT NOT NULL DEFAULT 'ok'")
    except sqlite3.OperationalError as error:
        if "duplicate column" not in str(error):  # another process added it first
            raise


def _alive(host: str, pid: int) -> bool:
    """False only when the owner is known dead: a process of this host that has exited."""
    if host != _HOST:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
