"""Everything around a model call, written once: cache, single-flight, retries, breaker, budget.

A :class:`~fmviz.providers.base.Provider` makes exactly one attempt. :class:`LLM` wraps it
with what a long, paid, flaky batch job needs: a persistent answer cache, so reruns and
resumed runs never pay twice; single-flight (:mod:`~fmviz.providers.flight`), so identical
requests in flight are sent once, within and across processes; retries with backoff and
jitter on 5xx, timeouts and 429s (honouring ``Retry-After``), while credentials, quota and
bad requests fail at once; a circuit breaker per endpoint (:mod:`~fmviz.providers.breaker`),
so a dead server stops the run within seconds; a requests-per-minute pace, a cap on calls
in flight, a cap on prompt size; and a ledger with a budget cap checked *before* each call.
JSON repair lives in :mod:`~fmviz.providers.repair`, the worker pool in
:mod:`~fmviz.providers.pool`, batch APIs in :mod:`~fmviz.providers.batch`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
import pydantic

from fmviz.episodes import EpisodeError
from fmviz.errors import PromptTooLargeError
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
from fmviz.providers.batch.options import BatchOptions, resolve_batch
from fmviz.providers.breaker import CircuitBreaker, EndpointDown
from fmviz.providers.cache import CallCache, default_cache_path
from fmviz.providers.flight import SingleFlight, claimed_call
from fmviz.providers.ledger import Ledger, PriceTable, estimate_input_tokens, estimate_requests
from fmviz.providers.limits import Budget, BudgetExceeded, RateLimiter
from fmviz.providers.pool import MapResult, RunStopped, run_pool
from fmviz.providers.repair import MalformedOutputError, generate_json, parse_json_answer

__all__ = [
    "DEFAULT_MAX_PROMPT_TOKENS",
    "LLM",
    "BudgetExceeded",
    "EndpointDown",
    "MalformedOutputError",
    "MapResult",
    "RunStopped",
    "parse_json_answer",
]

M = TypeVar("M", bound=pydantic.BaseModel)
T = TypeVar("T")
R = TypeVar("R")

#: Default cap on a prompt's text, in estimated tokens: the context window of the common
#: models (128k), and above stage 2's batching threshold (100k), so only a runaway input
#: (a 1 MB narrative) is refused.
DEFAULT_MAX_PROMPT_TOKENS = 128_000


class LLM:
    """One provider plus caching, single-flight, retries, a breaker, a ledger and a budget.

    Parameters
    ----------
    provider:
        The model (an ``OpenAIProvider``, ``GeminiProvider``, ``LocalProvider``, ...).
    cache:
        A :class:`~fmviz.providers.cache.CallCache` or its path; ``None`` uses
        :func:`~fmviz.providers.cache.default_cache_path`; ``False`` disables caching.
    ledger:
        Where calls are recorded; share one across LLMs to see (and cap) a whole run.
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
        Stop before a call that would take the ledger's total past this (estimated).
    max_repairs:
        Re-asks when a structured answer is malformed, truncated or rejected by a check.
    prices:
        Price table for the budget estimate (default: the ledger's).
    max_prompt_tokens:
        Refuse (per item, nothing sent) a prompt whose text is estimated above this.
    replay_failed:
        Replay cached answers that failed validation (offline, free) instead of asking again.
    breaker:
        The endpoint's circuit breaker; a new one by default.
    claim_lease:
        Seconds another process waits for this one's identical call before taking it over
        (renewed at every attempt; a killed owner's claim is taken at once).
    batch:
        ``True`` or :class:`~fmviz.providers.batch.BatchOptions`: stages 1 and 3 go through the
        provider's batch API (:mod:`fmviz.providers.batch`).

    Examples
    --------
    >>> llm = LLM(OpenAIProvider("o4-mini"), budget_usd=5)     # doctest: +SKIP
    >>> llm.check_ready()                                      # no key: AuthError now  # doctest: +SKIP
    >>> answer, response = llm.generate_json(request, ReasonAnswer)  # doctest: +SKIP
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
        max_prompt_tokens: int | None = DEFAULT_MAX_PROMPT_TOKENS,
        replay_failed: bool = False,
        breaker: CircuitBreaker | None = None,
        claim_lease: float = 300.0,
        batch: bool | BatchOptions | None = None,
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
        self.max_repairs = int(max_repairs)
        self.max_prompt_tokens = max_prompt_tokens
        self.replay_failed = bool(replay_failed)
        self.claim_lease = float(claim_lease)
        self.breaker = breaker or CircuitBreaker(self.endpoint)
        self.calls_made = 0
        self.batch = resolve_batch(batch)
        self.intercept: Callable[[LLMRequest], LLMResponse | None] | None = None
        self._limiter = RateLimiter(requests_per_minute)
        self._budget = Budget(self.ledger, budget_usd)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._max_output_seen = 0
        self._flights = SingleFlight()

    @property
    def budget_usd(self) -> float | None:
        """The spending cap in USD (None: no cap); may be raised to continue a stopped run."""
        return self._budget.limit

    @budget_usd.setter
    def budget_usd(self, value: float | None) -> None:
        self._budget.limit = value

    @property
    def spec(self) -> str:
        """``provider:model``, e.g. ``gemini:gemini-2.5-pro``."""
        return self.provider.spec

    @property
    def endpoint(self) -> str:
        """The provider and the server it talks to, as error messages name it."""
        base_url = self.provider.identity().get("base_url")
        return f"{self.spec} at {base_url}" if base_url else self.spec

    def __repr__(self) -> str:
        return f"LLM({self.spec!r}, cache={self.cache!r}, ledger={self.ledger!r})"

    def cache_key(self, request: LLMRequest) -> str:
        """The key ``request`` is cached under for this provider."""
        return CallCache.key(self.provider, request)

    def check_ready(self) -> None:
        """Raise :class:`~fmviz.providers.base.AuthError` now if the provider has no usable key."""
        self.provider.check_ready()

    # -- one request -----------------------------------------------------------------------

    def generate(self, request: LLMRequest) -> LLMResponse:
        """Answer one request: from the cache, from an identical call in flight, or the provider.

        Raises
        ------
        PromptTooLargeError, BudgetExceeded
            Over ``max_prompt_tokens`` or ``budget_usd``; nothing is sent.
        AuthError, QuotaError, EndpointDown
            At once, without retrying (``EndpointDown``: the breaker is open).
        ProviderError
            A rejected request, or a transient error that outlasted ``max_retries``.
        """
        self._check_size(request)
        if self.intercept is not None and (answer := self.intercept(request)) is not None:
            return answer  # a batched map's answer (see fmviz.providers.batch.core)
        cache = self.cache
        if cache is None:
            return self._fetch(request, None)
        key = self.cache_key(request)
        hit = self._replay(key, request)
        if hit is not None:
            return hit

        def fetch_and_store() -> LLMResponse:
            response = self._fetch(request, key)
            cache.put(key, response, self.spec, request.stage)
            return response

        def under_claim() -> LLMResponse:
            replay = lambda: self._replay(key, request)  # noqa: E731
            return claimed_call(
                cache, key, fetch_and_store, replay, lease=self.claim_lease, sleep=self.breaker.wait
            )

        response, shared = self._flights.run(key, under_claim)
        if shared:
            self._record(request, response, cached=True, seconds=0.0)
            return replace(response, cached=True)
        return response

    def _replay(self, key: str, request: LLMRequest) -> LLMResponse | None:
        assert self.cache is not None
        hit = self.cache.get(key, failed=self.replay_failed)
        if hit is not None:
            self._record(request, hit, cached=True, seconds=0.0)
        return hit

    def _fetch(self, request: LLMRequest, key: str | None) -> LLMResponse:
        estimate = 0.0
        if self.budget_usd is not None:  # reading image sizes for the estimate costs CPU
            output = request.max_output_tokens or max(512, self._max_output_seen)
            estimate = self.prices.cost(
                self.provider.model, estimate_input_tokens(request, self.provider), output
            )
        started = time.monotonic()
        with self._budget.hold(estimate):
            response = self._call_with_retries(request, key)
        with self._lock:
            self._max_output_seen = max(self._max_output_seen, response.output_tokens)
        self._record(request, response, cached=False, seconds=time.monotonic() - started)
        return response

    def _record(self, request: LLMRequest, response: LLMResponse, *, cached: bool, seconds: float) -> None:
        self.ledger.record(
            request.stage,
            self.provider.name,
            response.model or self.provider.model,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cached=cached,
            seconds=seconds,
            episode_id=request.episode_id,
        )

    def _check_size(self, request: LLMRequest) -> None:
        if self.max_prompt_tokens is None:
            return
        chars = len(request.prompt) + len(request.system or "") + sum(len(t) for _, t in request.history)
        if chars // 4 > self.max_prompt_tokens:
            raise PromptTooLargeError(
                request.episode_id, request.stage, chars // 4, chars, self.max_prompt_tokens
            )

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * 2.0**attempt))

    def _call_with_retries(self, request: LLMRequest, key: str | None) -> LLMResponse:
        where = f"episode {request.episode_id!r}: " if request.episode_id is not None else ""
        for attempt in range(self.max_retries + 1):
            self.breaker.check()
            self._limiter.wait()
            if key is not None and self.cache is not None and attempt:
                self.cache.renew(key, self.claim_lease)
            with self._slots:
                self.breaker.check()
                with self._lock:
                    self.calls_made += 1
                try:
                    response = self.provider.complete(request)
                except TransientError as exc:
                    error = exc
                    self.breaker.record_failure(exc)
                else:
                    self.breaker.record_success()
                    return response
            if attempt == self.max_retries:
                raise type(error)(
                    f"{where}{self.spec}: gave up after {attempt + 1} attempts: {error}"
                ) from error
            delay = self._backoff(attempt)
            if isinstance(error, RateLimitError) and error.retry_after is not None:
                delay = min(self.backoff_max, error.retry_after)
                self._limiter.pause(delay)
            self.breaker.wait(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def generate_json(
        self, request: LLMRequest, schema: type[M], *, check: Callable[[M], str | None] | None = None
    ) -> tuple[M, LLMResponse]:
        """Ask for a JSON answer matching ``schema``, repairing it by re-asking.

        See :func:`fmviz.providers.repair.generate_json`. When the answer stays malformed,
        the cached answers of the exchange are marked failed, so a rerun asks again (unless
        ``replay_failed``).

        Raises ``MalformedOutputError`` (naming the episode) after ``max_repairs`` re-asks.
        """
        try:
            return generate_json(
                self.generate, request, schema, check=check, max_repairs=self.max_repairs, spec=self.spec
            )
        except MalformedOutputError as exc:
            if self.cache is not None and not self.replay_failed:
                self.cache.mark_failed([self.cache_key(sent) for sent in exc.requests])
            raise

    def map(
        self,
        items: Iterable[T],
        fn: Callable[[Any], R],
        *,
        desc: str | None = None,
        key: Callable[[T], Hashable] | None = None,
        prepare: Callable[[T], Any] | None = None,
    ) -> MapResult[R]:
        """Run ``fn`` over ``items`` on ``concurrency`` threads with a progress bar.

        Per-item failures (a bad episode, a malformed answer, an oversized prompt, a provider
        error that outlasted its retries) land in ``errors``; a fatal one (credentials, quota,
        budget, a dead endpoint, a bug) raises :class:`RunStopped` with the partial result.
        ``key`` maps an item to its key (default ``item.id``, else its index); ``prepare`` is
        CPU-bound work run ahead of ``fn`` (see :func:`fmviz.providers.pool.run_pool`). Batch
        mode maps with :func:`fmviz.providers.batch.core.batched_map` instead.
        """
        items = list(items)
        keys = [key(item) if key else getattr(item, "id", index) for index, item in enumerate(items)]
        if len(set(keys)) != len(keys):
            raise ValueError("map keys must be unique")
        return run_pool(
            items,
            fn,
            keys,
            concurrency=self.concurrency,
            is_item_error=_is_item_error,
            prepare=prepare,
            desc=desc,
            postfix=lambda: {"cost": f"${self.ledger.total_cost:.3f}"},
        )

    def estimate(
        self, requests: Iterable[LLMRequest], expected_output_tokens: int | dict[str, int] = 1000
    ) -> pd.DataFrame:
        """Dry run: calls, cached calls, tokens, cost per stage (see ``estimate_requests``)."""
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
    if isinstance(exc, (AuthError, QuotaError, BudgetExceeded, EndpointDown)):
        return False
    return isinstance(exc, (EpisodeError, MalformedOutputError, PromptTooLargeError, ProviderError))
