"""CallCache: keys, round trips, portability and concurrent writers (threads and processes)."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import threading

from fmviz.providers import GeminiProvider, Image, LLMRequest, LLMResponse, OpenAIProvider
from fmviz.providers.cache import CallCache, cache_key, default_cache_path

IDENTITY = {"provider": "openai", "model": "gpt-4o-mini", "base_url": None}


def _response(text: str = "answer") -> LLMResponse:
    return LLMResponse(
        text=text, input_tokens=12, output_tokens=3, model="gpt-4o-mini", finish_reason="stop", raw={"h": "x"}
    )


def test_round_trip_marks_answers_cached(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    key = cache_key(IDENTITY, LLMRequest("q"))
    assert cache.get(key) is None
    cache.put(key, _response(), "openai:gpt-4o-mini", "reasons")
    hit = cache.get(key)
    assert hit is not None
    assert hit.cached
    assert (hit.text, hit.input_tokens, hit.output_tokens, hit.model, hit.finish_reason) == (
        "answer",
        12,
        3,
        "gpt-4o-mini",
        "stop",
    )
    assert key in cache
    assert len(cache) == 1
    assert (cache.hits, cache.misses) == (1, 1)


def test_key_depends_on_answer_inputs_not_bookkeeping():
    base = LLMRequest("q", images=(Image(b"frame"),), stage="reasons", episode_id="a")
    same = LLMRequest("q", images=(Image(b"frame"),), stage="assign", episode_id="b")
    assert cache_key(IDENTITY, base) == cache_key(IDENTITY, same)
    variants = [
        LLMRequest("q", images=(Image(b"other frame"),)),
        LLMRequest("q", images=(Image(b"frame", "image/png"),)),
        LLMRequest("q2", images=(Image(b"frame"),)),
        LLMRequest("q", images=(Image(b"frame"),), temperature=0.5),
        LLMRequest("q", images=(Image(b"frame"),), extra=(("seed", 1),)),
        LLMRequest("q", images=(Image(b"frame"),), history=(("user", "x"),)),
    ]
    keys = {cache_key(IDENTITY, v) for v in variants} | {cache_key(IDENTITY, base)}
    assert len(keys) == len(variants) + 1
    assert cache_key({**IDENTITY, "model": "gpt-4o"}, base) != cache_key(IDENTITY, base)


def test_provider_key_includes_endpoint_and_excludes_secret():
    request = LLMRequest("q")
    a = OpenAIProvider("m", base_url="http://localhost:1/v1", api_key="key-one-aaaaaaaa")
    b = OpenAIProvider("m", base_url="http://localhost:1/v1", api_key="key-two-bbbbbbbb")
    c = OpenAIProvider("m", base_url="http://localhost:2/v1", api_key="key-one-aaaaaaaa")
    g = GeminiProvider("m", base_url="http://localhost:1", api_key="key-one-aaaaaaaa")
    assert CallCache.key(a, request) == CallCache.key(b, request)
    assert len({CallCache.key(p, request) for p in (a, c, g)}) == 3


def test_stored_columns_hold_no_headers_or_raw_payloads(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = CallCache(path)
    cache.put("k", _response(), "openai:gpt-4o-mini", "reasons")
    cache.close()
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(calls)")]
    assert columns == [
        "key",
        "provider",
        "model",
        "stage",
        "text",
        "input_tokens",
        "output_tokens",
        "finish_reason",
        "created",
        "status",
    ]
    with sqlite3.connect(path) as connection:
        claims = [row[1] for row in connection.execute("PRAGMA table_info(claims)")]
    assert claims == ["key", "owner", "host", "pid", "expires"]


def test_cache_file_is_portable(tmp_path):
    cache = CallCache(tmp_path / "a" / "calls.sqlite")
    cache.put("k", _response("portable"), "openai:gpt-4o-mini", "reasons")
    cache.close()
    shutil.copy(tmp_path / "a" / "calls.sqlite", tmp_path / "copy.sqlite")
    copied = CallCache(tmp_path / "copy.sqlite")
    hit = copied.get("k")
    assert hit is not None
    assert hit.text == "portable"


def test_stats_groups_entries(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    for i in range(3):
        cache.put(f"r{i}", _response(), "openai:gpt-4o-mini", "reasons")
    cache.put("c0", _response(), "openai:gpt-4o-mini", "clusters")
    stats = cache.stats().set_index("stage")
    assert stats.loc["reasons", "entries"] == 3
    assert stats.loc["clusters", "input_tokens"] == 12
    cache.delete("c0")
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0
    assert cache  # empty but truthy


def test_default_path_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("FMVIZ_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "fmviz" / "calls.sqlite"
    monkeypatch.setenv("FMVIZ_CACHE", str(tmp_path / "mine.sqlite"))
    assert default_cache_path() == tmp_path / "mine.sqlite"


def test_concurrent_threads_lose_nothing(tmp_path):
    path = tmp_path / "c.sqlite"
    shared = CallCache(path)

    def write(worker: int) -> None:
        own = CallCache(path)  # a second connection per thread, as a second notebook would have
        for i in range(50):
            target = shared if i % 2 else own
            target.put(f"{worker}-{i}", _response(f"{worker}-{i}"), "openai:gpt-4o-mini", "s")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(shared) == 400
    hit = shared.get("7-49")
    assert hit is not None
    assert hit.text == "7-49"


def _process_writer(path: str, worker: int) -> None:
    cache = CallCache(path)
    for i in range(100):
        cache.put(f"p{worker}-{i}", _response(f"p{worker}-{i}"), "gemini:gemini-2.5-pro", "s")


def test_concurrent_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "c.sqlite")
    CallCache(path).put("parent", _response(), "openai:gpt-4o-mini", "s")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_process_writer, args=(path, w)) for w in range(2)]
    for process in processes:
        process.start()
    _process_writer(path, 99)  # the parent writes at the same time
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert len(CallCache(path)) == 1 + 3 * 100


def test_opening_a_new_cache_retries_a_locked_wal_switch(tmp_path, monkeypatch):
    real_connect = sqlite3.connect
    refusals = {"left": 3}

    class Racing(sqlite3.Connection):
        """A connection whose WAL switch loses the race to another process a few times."""

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode") and refusals["left"] > 0:
                refusals["left"] -= 1
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real_connect(*a, factory=Racing, **k))
    cache = CallCache(tmp_path / "new.sqlite")
    cache.put("k", _response("after the race"), "openai:gpt-4o-mini", "reasons")
    assert refusals["left"] == 0
    assert cache.get("k").text == "after the race"


def test_answers_marked_failed_are_hidden_unless_asked_for(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    cache.put("bad", _response("{not json"), "openai:gpt-4o-mini", "reasons")
    assert cache.mark_failed(["bad", "missing"]) == 1
    assert cache.get("bad") is None
    assert cache.get("bad", failed=True).text == "{not json"
    cache.put("bad", _response("{}"), "openai:gpt-4o-mini", "reasons")  # a new answer is ok again
    assert cache.get("bad").text == "{}"


def test_a_cache_written_before_status_existed_still_opens_and_replays(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE calls (key TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL, "
            "stage TEXT, text TEXT NOT NULL, input_tokens INTEGER NOT NULL DEFAULT 0, "
            "output_tokens INTEGER NOT NULL DEFAULT 0, finish_reason TEXT, created REAL NOT NULL)"
        )
        connection.execute(
            "INSERT INTO calls VALUES ('k', 'openai', 'm', 'reasons', 'old answer', 1, 2, 'stop', 0)"
        )
    assert CallCache(path).get("k").text == "old answer"


def test_claims_belong_to_one_owner_at_a_time(tmp_path):
    first, second = CallCache(tmp_path / "c.sqlite"), CallCache(tmp_path / "c.sqlite")
    assert first.claim("k", lease=30)
    assert first.claim("k", lease=30)  # the owner may renew by claiming again
    assert not second.claim("k", lease=30)
    first.release("k")
    assert second.claim("k", lease=30)
