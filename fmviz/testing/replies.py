"""What the loopback server answers: the recorded request, the reply, ready-made responders.

A responder maps each :class:`RecordedRequest` to a :class:`Reply`. :func:`scripted` plays a
fixed list; :func:`faulty` wraps any responder and injects the faults real servers produce
(429 with ``Retry-After``, 500, a reset connection, a reply slower than the client's
timeout, garbage and truncated JSON) at a given rate, reproducibly from a seed.
"""

from __future__ import annotations

import collections
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULTS", "RecordedRequest", "Reply", "Responder", "echo", "faulty", "scripted"]


@dataclass
class RecordedRequest:
    """One request as the fake server saw it (what tests assert on)."""

    #: ``"openai"`` or ``"gemini"``.
    api: str
    model: str
    path: str
    #: The parsed JSON body.
    body: dict[str, Any]
    #: Text of the last user turn.
    prompt: str
    #: System instruction text, if any.
    system: str | None
    #: Decoded inline images of all turns, in order.
    images: list[bytes]
    #: All text of all turns joined by newlines (handy for ``"error" in request.text``).
    text: str
    #: Request headers with lower-case names.
    headers: dict[str, str]

    @property
    def n_images(self) -> int:
        return len(self.images)


@dataclass
class Reply:
    """What the fake server answers to one request.

    Parameters
    ----------
    text:
        The model's answer text.
    status:
        HTTP status; anything but 200 is rendered as the provider's error JSON.
    headers:
        Extra response headers (e.g. ``{"retry-after": "2"}``).
    delay:
        Seconds to wait before answering (client timeouts, latency benchmarks).
    body:
        A raw body (dict or str) sent instead of the generated one.
    finish_reason:
        ``"stop"`` or ``"length"`` (mapped to ``STOP`` / ``MAX_TOKENS`` for Gemini).
    input_tokens, output_tokens:
        Usage to report; by default about one token per four characters.
    retry_after:
        Adds a ``Retry-After`` header (seconds); for Gemini also a ``RetryInfo`` detail.
    quota:
        With ``status=429``: a billing-quota error (OpenAI ``insufficient_quota``, Gemini
        per-day ``RESOURCE_EXHAUSTED``) instead of a transient rate limit.
    message:
        Error message override.
    reset:
        Drop the connection with a TCP reset instead of answering.
    """

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: dict[str, Any] | str | None = None
    finish_reason: str = "stop"
    input_tokens: int | None = None
    output_tokens: int | None = None
    retry_after: float | None = None
    quota: bool = False
    message: str | None = None
    reset: bool = False


#: A responder maps a request to a reply (a plain string means a 200 text answer).
Responder = Callable[[RecordedRequest], "Reply | str"]


def echo(request: RecordedRequest) -> Reply:
    """Default responder: answers with the prompt it was given."""
    return Reply(text=f"echo: {request.prompt}")


def scripted(replies: Iterable[Reply | str], then: Responder | Reply | str | None = None) -> Responder:
    """A thread-safe responder that plays ``replies`` in order, then ``then``.

    ``then`` may be a responder, a fixed reply, or ``None`` (repeat the last reply).
    """
    queue = collections.deque(replies)
    lock = threading.Lock()
    last: list[Reply | str] = []

    def responder(request: RecordedRequest) -> Reply | str:
        with lock:
            if queue:
                reply = queue.popleft()
                last[:] = [reply]
                return reply
        if callable(then):
            return then(request)
        if then is not None:
            return then
        if last:
            return last[0]
        return echo(request)

    return responder


#: The faults :func:`faulty` injects, in the order of its ``kinds`` default.
FAULTS = ("429", "500", "reset", "hang", "garbage", "truncated")


def faulty(
    responder: Responder,
    *,
    rate: float = 0.3,
    kinds: Sequence[str] = FAULTS,
    hang_s: float = 5.0,
    retry_after: float = 0.2,
    seed: int = 0,
) -> Responder:
    """``responder`` with faults injected into ``rate`` of the requests (seeded, thread-safe).

    Parameters
    ----------
    responder:
        Answers the requests that are not faulted.
    rate:
        Share of requests that get a fault, drawn independently per request.
    kinds:
        Faults to draw from, uniformly: ``"429"`` (with ``Retry-After``), ``"500"``,
        ``"reset"`` (TCP reset), ``"hang"`` (answers after ``hang_s``: set the client's
        timeout below it), ``"garbage"`` (a 200 whose text is not JSON) and ``"truncated"``
        (a 200 with the real answer cut in half, ``finish_reason="length"``).
    hang_s, retry_after:
        Seconds of a hang, and the ``Retry-After`` of a 429.
    seed:
        Makes the sequence of faults reproducible.

    The returned responder counts what it injected in ``responder.injected`` (a Counter).

    Examples
    --------
    >>> flaky = faulty(lambda request: "ok", rate=1.0, kinds=["500"])
    >>> flaky(None).status, flaky.injected["500"]
    (500, 1)
    """
    unknown = set(kinds) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; use some of {FAULTS}")
    draw = random.Random(seed)
    lock = threading.Lock()
    injected: collections.Counter[str] = collections.Counter()

    def inject(request: RecordedRequest) -> Reply | str:
        with lock:
            kind = draw.choice(list(kinds)) if draw.random() < rate else None
            if kind is not None:
                injected[kind] += 1
        if kind == "429":
            return Reply(status=429, retry_after=retry_after)
        if kind == "500":
            return Reply(status=500)
        if kind == "reset":
            return Reply(reset=True)
        if kind == "hang":
            return Reply(text="too late", delay=hang_s)
        if kind == "garbage":
            return Reply(text="<html><body>502 Bad Gateway</body></html> {not json")
        answer = responder(request)
        if kind == "truncated":
            text = answer if isinstance(answer, str) else answer.text
            return Reply(text=text[: max(1, len(text) // 2)], finish_reason="length")
        return answer

    inject.injected = injected  # type: ignore[attr-defined]
    return inject
