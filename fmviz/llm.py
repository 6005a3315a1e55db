"""Everything around a model call, written once: cache, retries, rate limit, budget, repair.

A :class:`~fmviz.providers.base.Provider` makes exactly one attempt. :class:`LLM` wraps it
with what a long, paid, flaky batch job needs:

* a persistent answer cache (:class:`fmviz.cache.CallCache`), so reruns and resumed runs
  never pay twice;
* retries with exponential backoff and full jitter on 5xx, timeouts and 429s, honouring
  ``Retry-After``; credentials, quota and bad-request errors fail at once;
* a requests-per-minute limit and a cap on concurrent calls;
* a cost ledger and a budget cap checked *before* each call;
* structured answers validated by pydantic, with malformed or truncated JSON repaired by
  re-asking with the error quoted;
* :meth:`LLM.map`, a bounded thread pool with a progress bar that collects per-item
  errors and, on a fatal error, stops cleanly while keeping (and caching) finished work.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import pandas as pd
import pydantic

from fmviz.cache import CallCache, default_cache_path
from fmviz.episodes import EpisodeError
from fmviz.ledger import Ledger, PriceTable, estimate_input_tokens, estimate_requests
from fmviz.providers.base import (
    AuthError,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderError,
    QuotaError,
    RateLimitError,
    TransientError,
)

__all__ = ["LLM", "BudgetExceeded", "MalformedOutputError", "MapResult", "RunStopped", "parse_json_answer"]

M = TypeVar("M", bound=pydantic.BaseModel)
T = TypeVar("T")
R = TypeVar("R")

#: Finish reasons that mean "the answer was cut off at the output token limit".
_TRUNCATED = {"length", "max_tokens", "truncated"}
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class MalformedOutputError(ValueError):
    """The model's answer stayed unparseable or invalid after every repair attempt."""

    def __init__(self, message: str, *, episode_id: str | None = None, last_text: str = "") -> None:
        self.episode_id = episode_id
        self.last_text = last_text
        prefix = f"episode {episode_id!r}: " if episode_id is not None else ""
        super().__init__(prefix + message)


class BudgetExceeded(RuntimeError):
    """The next call would take spending past ``budget_usd``; nothing was sent."""

    def __init__(self, spent: float, estimate: float, budget: float) -> None:
        self.spent, self.estimate, self.budget = spent, estimate, budget
        super().__init__(
            f"budget cap reached: spent ${spent:.4f} (+${estimate:.4f} in flight or next) of "
            f"${budget:.4f}; raise budget_usd to continue (cached answers are kept and replay for free)"
        )


@dataclass
class MapResult(Generic[R]):
    """What :meth:`LLM.map` produced: results and errors, both keyed by item key, in input order."""

    results: dict[Hashable, R] = field(default_factory=dict)
    errors: dict[Hashable, str] = field(default_factory=dict)
    #: The exceptions behind ``errors``, for callers that want the type.
    exceptions: dict[Hashable, BaseException] = field(default_factory=dict)
    #: Keys never started because the run stopped.
    skipped: list[Hashable] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.skipped

    def errors_frame(self) -> pd.DataFrame:
        """One row per failed item: key, error type, message."""
        rows = [(k, type(self.exceptions.get(k)).__name__, m) for k, m in self.errors.items()]
        return pd.DataFrame(rows, columns=["key", "error", "message"])

    def __len__(self) -> int:
        return len(self.results)


class RunStopped(RuntimeError):
    """A fatal error (credentials, quota, budget, a bug) stopped :meth:`LLM.map`.

    ``partial`` holds every result finished before the stop; those answers are in the
    cache too, so rerunning after fixing the cause only pays for the missing ones.
    """

    def __init__(self, message: str, partial: MapResult[Any]) -> None:
        super().__init__(message)
        self.partial = partial


def parse_json_answer(text: str, schema: type[M]) -> M:
    """Parse a model's answer tolerantly: strip code fences, take the outermost JSON object.

    Raises ``ValueError`` (not JSON) or ``pydantic.ValidationError`` (wrong shape).
    """
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    last_error: Exception | None = None
    for candidate in candidates:
        start = candidate.find("{")
        if start < 0:
            continue
        end = candidate.rfind("}")
        decoder = json.JSONDecoder()
        try:
            value, _ = decoder.raw_decode(candidate[start:])
        except json.JSONDecodeError as exc:
            last_error = exc
            if end <= start:
                continue
            try:
                value = json.loads(candidate[start : end + 1])
            except json.JSONDecodeError as exc2:
                last_error = exc2
                continue
        return schema.model_validate(value)
    if last_error is not None:
        raise ValueError(f"the answer is not valid JSON ({last_error})")
    raise ValueError("the answer contains no JSON object")


def _describe(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        lines = [
            f"- {'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
        ]
        return "the JSON does not match the schema:\n" + "\n".join(lines[:20])
    return str(exc)


class _RateLimiter:
    """Evenly spaced request slots for a requests-per-minute limit (thread-safe)."""

    def __init__(self, requests_per_minute: float | None) -> None:
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """After a 429 with Retry-After, hold every worker, not just the one that got it."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            if self.interval:
                self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class LLM:
    """One provider plus caching, retries, rate limits, a ledger, a budget and JSON repair.

    Parameters
    ----------
    provider:
        The model (:class:`~fmviz.providers.OpenAIProvider`, :class:`~fmviz.providers.GeminiProvider`,
        a local one, ...).
    cache:
        A :class:`~fmviz.cache.CallCache` or its path; ``None`` uses
        :func:`~fmviz.cache.default_cache_path`; ``False`` disables caching.
    ledger:
        Where calls are recorded; a new one by default. Share one across LLMs to see (and
        cap) a whole run.
    concurrency:
        Worker threads in :meth:`map`, and the most provider calls in flight at once.
    requests_per_minute:
        Spaces calls evenly to stay under a provider's limit (None: no limit).
    max_retries:
        Retries after the first attempt on timeouts, 5xx and 429.
    backoff_base, backoff_max:
        Exponential backoff with full jitter: attempt ``n`` waits ``uniform(0, min(max,
        base * 2**n))`` seconds; a server's ``Retry-After`` is used instead (capped at max).
    budget_usd:
        Stop before a call that would take the ledger's total past this (estimated from
        the prompt length and the largest answer seen so far).
    max_repairs:
        Re-asks when a structured answer is malformed, truncated or rejected by a check.
    prices:
        Price table for the budget estimate (default: the ledger's).
    """

    def __init__(
        self,
        provider: Provider,
        *,
        cache: CallCache | str | Path | Literal[False] | None = None,
        ledger: Ledger | None = None,
        concurrency: int = 16,
        requests_per_minute: float | None = None,
        max_retries: int = 6,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        budget_usd: float | None = None,
        max_repairs: int = 2,
        prices: PriceTable | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.provider = provider
        if cache is False:
            self.cache: CallCache | None = None
        elif isinstance(cache, CallCache):
            self.cache = cache
        else:
            self.cache = CallCache(default_cache_path() if cache is None else cache)
        self.prices = prices or (ledger.prices if ledger is not None else PriceTable())
        self.ledger = ledger if ledger is not None else Ledger(self.prices)
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.budget_usd = budget_usd
        self.max_repairs = int(max_repairs)
        self.calls_made = 0
        self._limiter = _RateLimiter(requests_per_minute)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._reserved = 0.0
        self._max_output_seen = 0

    @property
    def spec(self) -> str:
        """``provider:model``, e.g. ``gemini:gemini-2.5-pro``."""
        return self.provider.spec

    def __repr__(self) -> str:
        return f"LLM({self.spec!r}, cache={self.cache!r}, ledger={self.ledger!r})"

    def cache_key(self, request: LLMRequest) -> str:
        """The key ``request`` is cached under for this provider."""
        return CallCache.key(self.provider, request)

    # -- one request -----------------------------------------------------------------------

    def generate(self, request: LLMRequest) -> LLMResponse:
        """Answer one request: from the cache, else from the provider with retries.

        Raises
        ------
        BudgetExceeded
            The call would exceed ``budget_usd`` (nothing is sent).
        AuthError, QuotaError
            At once, without retrying.
        ProviderError
            A rejected request, or a transient error that outlasted ``max_retries``.
        """
        key = self.cache_key(request) if self.cache is not None else None
        if self.cache is not None and key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.ledger.record(
                    request.stage,
                    self.provider.name,
                    hit.model or self.provider.model,
                    hit.input_tokens,
                    hit.output_tokens,
                    True,
                    0.0,
                    request.episode_id,
                )
                return hit
        estimate = self._reserve(request)
        started = time.monotonic()
        try:
            response = self._call_with_retries(request)
        finally:
            with self._lock:
                self._reserved -= estimate
        seconds = time.monotonic() - started
        with self._lock:
            self._max_output_seen = max(self._max_output_seen, response.output_tokens)
        self.ledger.record(
            request.stage,
            self.provider.name,
            response.model or self.provider.model,
            response.input_tokens,
            response.output_tokens,
            False,
            seconds,
            request.episode_id,
        )
        if self.cache is not None and key is not None:
            self.cache.put(key, response, self.spec, request.stage)
        return response

    def _reserve(self, request: LLMRequest) -> float:
        """Check the budget for this call and hold its estimate while it is in flight."""
        if self.budget_usd is None:
            return 0.0
        output = request.max_output_tokens or max(512, self._max_output_seen)
        estimate = self.prices.cost(
            self.provider.model, estimate_input_tokens(request, self.provider), output
        )
        with self._lock:
            spent = self.ledger.total_cost
            if spent + self._reserved + estimate > self.budget_usd:
                raise BudgetExceeded(spent, self._reserved + estimate, self.budget_usd)
            self._reserved += estimate
        return estimate

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * 2.0**attempt))

    def _call_with_retries(self, request: LLMRequest) -> LLMResponse:
        where = f"episode {request.episode_id!r}: " if request.episode_id is not None else ""
        for attempt in range(self.max_retries + 1):
            self._limiter.wait()
            with self._slots:
                with self._lock:
                    self.calls_made += 1
                try:
                    return self.provider.complete(request)
                except TransientError as exc:
                    error = exc
            if attempt == self.max_retries:
                raise type(error)(
                    f"{where}{self.spec}: gave up after {attempt + 1} attempts: {error}"
                ) from error
            delay = self._backoff(attempt)
            if isinstance(error, RateLimitError) and error.retry_after is not None:
                delay = min(self.backoff_max, error.retry_after)
                self._limiter.pause(delay)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- structured answers ------------------------------------------------------------------

    def generate_json(
        self,
        request: LLMRequest,
        schema: type[M],
        *,
        check: Callable[[M], str | None] | None = None,
    ) -> tuple[M, LLMResponse]:
        """Ask for a JSON answer matching ``schema``; repair malformed answers by re-asking.

        Parameters
        ----------
        request:
            The question; its ``json_schema`` defaults to ``schema``'s JSON schema.
        schema:
            The pydantic model the answer must validate against.
        check:
            Extra validation on the parsed answer: return an error message to trigger a
            repair, or None to accept.

        Returns
        -------
        (answer, response)
            The validated model instance and the response that produced it.

        Raises
        ------
        MalformedOutputError
            Still malformed after ``max_repairs`` re-asks (names the episode).
        """
        if request.json_schema is None:
            request = replace(request, json_schema=schema.model_json_schema(), schema_name=schema.__name__)
        current = request
        history = tuple(request.history)
        problems: list[str] = []
        response = None
        for _ in range(self.max_repairs + 1):
            response = self.generate(current)
            problem = None
            try:
                answer = parse_json_answer(response.text, schema)
                problem = check(answer) if check is not None else None
            except (ValueError, pydantic.ValidationError) as exc:
                problem = _describe(exc)
            if problem is None:
                return answer, response
            truncated = (response.finish_reason or "").lower() in _TRUNCATED
            if truncated:
                problem = "your answer was cut off at the output token limit; " + problem
            problems.append(problem)
            history = (*history, ("user", current.prompt), ("assistant", response.text))
            current = replace(
                request,
                history=history,
                prompt=_repair_prompt(problem, truncated),
                max_output_tokens=(
                    current.max_output_tokens * 2
                    if truncated and current.max_output_tokens
                    else current.max_output_tokens
                ),
            )
        raise MalformedOutputError(
            f"{self.spec} gave no valid {schema.__name__} answer in {len(problems)} attempts; "
            f"last problem: {problems[-1]}",
            episode_id=request.episode_id,
            last_text=response.text if response is not None else "",
        )

    # -- many requests -------------------------------------------------------------------------

    def map(
        self,
        items: Iterable[T],
        fn: Callable[[T], R],
        *,
        desc: str | None = None,
        key: Callable[[T], Hashable] | None = None,
    ) -> MapResult[R]:
        """Run ``fn`` over ``items`` on ``concurrency`` threads with a progress bar.

        Per-item failures (:class:`~fmviz.episodes.EpisodeError`, :class:`MalformedOutputError`,
        a :class:`~fmviz.providers.base.ProviderError` that outlasted its retries) land in
        ``errors``; the rest go on. A fatal error (credentials, quota, budget, or an
        unexpected exception) stops new items from starting, lets running ones finish, and
        raises :class:`RunStopped` with the partial result.

        Parameters
        ----------
        items:
            Work items (episodes, batches, ...).
        fn:
            Called once per item, from a worker thread.
        desc:
            Progress bar label.
        key:
            Item -> key for ``results``/``errors``; defaults to ``item.id`` if present,
            else the item's index.
        """
        from tqdm.auto import tqdm

        items = list(items)
        keys = [key(item) if key else getattr(item, "id", index) for index, item in enumerate(items)]
        if len(set(keys)) != len(keys):
            raise ValueError("map keys must be unique")
        results: dict[Hashable, Any] = {}
        errors: dict[Hashable, str] = {}
        exceptions: dict[Hashable, BaseException] = {}
        fatal: BaseException | None = None
        started = 0
        running: dict[Future[R], Hashable] = {}
        bar = tqdm(total=len(items), desc=desc, leave=False, dynamic_ncols=True)
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="fmviz-llm") as pool:
                while running or (fatal is None and started < len(items)):
                    while fatal is None and started < len(items) and len(running) < self.concurrency:
                        running[pool.submit(fn, items[started])] = keys[started]
                        started += 1
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in done:
                        item_key = running.pop(future)
                        exc = future.exception()
                        if exc is None:
                            results[item_key] = future.result()
                        elif _is_item_error(exc):
                            errors[item_key] = str(exc)
                            exceptions[item_key] = exc
                        else:
                            exceptions[item_key] = exc
                            errors[item_key] = str(exc)
                            fatal = fatal or exc
                        bar.update(1)
                    bar.set_postfix(cost=f"${self.ledger.total_cost:.3f}", errors=len(errors), refresh=False)
        finally:
            bar.close()
        order = {k: i for i, k in enumerate(keys)}
        outcome: MapResult[R] = MapResult(
            results=dict(sorted(results.items(), key=lambda kv: order[kv[0]])),
            errors=dict(sorted(errors.items(), key=lambda kv: order[kv[0]])),
            exceptions=exceptions,
            skipped=keys[started:],
        )
        if fatal is not None:
            what = type(fatal).__name__
            raise RunStopped(
                f"run stopped by {what}: {fatal} ({len(results)} of {len(items)} items finished and kept; "
                f"{len(keys) - started} not started)",
                outcome,
            ) from fatal
        return outcome

    # -- estimates and lifecycle -------------------------------------------------------------

    def estimate(
        self, requests: Iterable[LLMRequest], expected_output_tokens: int | dict[str, int] = 1000
    ) -> pd.DataFrame:
        """Dry run: calls, cached calls, tokens, cost per stage (:func:`fmviz.ledger.estimate_requests`)."""
        return estimate_requests(requests, self.provider, self.prices, expected_output_tokens, self.cache)

    def close(self) -> None:
        """Release the provider's connections and the cache file."""
        self.provider.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_item_error(exc: BaseException) -> bool:
    """Errors that concern one item only; everything else stops the run."""
    if isinstance(exc, (AuthError, QuotaError, BudgetExceeded)):
        return False
    return isinstance(exc, (EpisodeError, MalformedOutputError, ProviderError))


def _repair_prompt(problem: str, truncated: bool) -> str:
    shorter = " Keep it shorter so it fits." if truncated else ""
    return (
        "Your previous answer could not be used: "
        f"{problem}\n\nAnswer again with only one JSON object that follows the schema exactly, "
        f"with no text before or after it.{shorter}"
    )
