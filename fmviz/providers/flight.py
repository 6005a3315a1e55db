"""Single-flight: identical requests in flight are sent once, and everyone shares the answer.

Two episodes with the same narrative, or two runs over the same dataset sharing one cache,
ask the very same question at the very same time; a cache alone does not help, because
neither answer is stored yet. Within a process, :class:`SingleFlight` lets the first caller
of a key make the call while later callers wait for its answer (or its exception). Across
processes, :func:`claimed_call` takes the cache's claim row for the key first; a process
that finds the key claimed waits for the answer to appear in the cache, and takes the call
over if the claim is released, expires, or belonged to a process that died.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import Future

from fmviz.providers.base import LLMResponse
from fmviz.providers.cache import CallCache

__all__ = ["SingleFlight", "claimed_call"]

#: First and longest pause between looks for another process's answer.
_POLL_S = (0.02, 0.5)


class SingleFlight:
    """Calls keyed by request; one runs per key at a time, the others share its outcome.

    Examples
    --------
    >>> response, shared = SingleFlight().run("k", lambda: LLMResponse("answer"))
    >>> response.text, shared
    ('answer', False)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, Future[LLMResponse]] = {}

    def run(self, key: str, call: Callable[[], LLMResponse]) -> tuple[LLMResponse, bool]:
        """``(response, shared)``: ``shared`` is True when another caller's call answered."""
        with self._lock:
            future = self._calls.get(key)
            leader = future is None
            if future is None:
                future = self._calls[key] = Future()
        if not leader:
            return future.result(), True  # the leader's answer, or its exception
        try:
            response = call()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(response)
            return response, False
        finally:
            with self._lock:
                self._calls.pop(key, None)


def claimed_call(
    cache: CallCache,
    key: str,
    call: Callable[[], LLMResponse],
    replay: Callable[[], LLMResponse | None],
    *,
    lease: float,
    sleep: Callable[[float], None],
) -> LLMResponse:
    """Make ``call`` under the cache's claim on ``key``, or return the answer another process made.

    Parameters
    ----------
    cache:
        The shared cache (its ``claims`` table).
    key:
        The request's cache key.
    call:
        Sends the request and stores the answer in the cache.
    replay:
        The cached answer if there is one now (recorded as a cache hit), else None.
    lease:
        Seconds the claim holds without renewal.
    sleep:
        Waits between looks (e.g. a circuit breaker's wait, which stops at once when the
        endpoint is down).
    """
    poll = _POLL_S[0]
    while not cache.claim(key, lease):
        sleep(random.uniform(0.5, 1.0) * poll)
        poll = min(_POLL_S[1], poll * 1.5)
        hit = replay()
        if hit is not None:
            return hit
    try:
        hit = replay()  # answered between our look-up and our claim
        return hit if hit is not None else call()
    finally:
        cache.release(key)
