"""The submit / poll / collect loop that runs a stage's map through a batch API, in rounds.

A round runs the stage's per-item function exactly as online, with the runner's
``intercept`` hook set: an answer already in the call cache is returned (so validation and
repair run on it unchanged), a request of a batched stage that has no answer yet is noted
and its item is *deferred* (:class:`Deferred`). The noted requests are sent as batch jobs
as soon as they fill one and the rest after the round (or attached to jobs an interrupted
run already submitted), polled with backoff, and their answers stored in the call cache
(:mod:`~fmviz.providers.batch.session`). The deferred items then run again and
find their answers; a repair re-ask is a new request that goes into the next round's batch
(or online, as configured). Requests a job did not answer are resubmitted, up to
``max_submissions`` jobs, and then sent online, so every item ends answered or with an error
that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from fmviz.providers.base import ProviderError
from fmviz.providers.batch.backend import BatchBackend
from fmviz.providers.batch.gemini_batch import GeminiBatch
from fmviz.providers.batch.openai_batch import OpenAIBatch
from fmviz.providers.batch.session import BatchSession, BatchStillRunning, Deferred
from fmviz.providers.limits import BudgetExceeded
from fmviz.providers.pool import MapResult, RunStopped, run_pool
from fmviz.providers.runner import LLM, _is_item_error

if TYPE_CHECKING:
    from fmviz.providers.base import Provider
    from fmviz.providers.batch.options import BatchOptions

__all__ = ["BatchStillRunning", "Deferred", "backend_for", "batched_map", "run_batched"]


def backend_for(provider: Provider, options: BatchOptions) -> BatchBackend:
    """The batch API of ``provider``: OpenAI (and servers speaking its API) or Gemini."""
    if provider.name == "openai":
        return OpenAIBatch(provider, options)  # type: ignore[arg-type]
    if provider.name == "gemini":
        return GeminiBatch(provider, options)  # type: ignore[arg-type]
    raise ValueError(
        f"batch mode needs an OpenAI or Gemini provider, not {provider.spec!r}; run it without --batch"
    )


def batched_map(
    llm: LLM,
    items: Sequence[Any],
    fn: Callable[[Any], Any],
    *,
    desc: str | None = None,
    key: Callable[[Any], Hashable] | None = None,
    prepare: Callable[[Any], Any] | None = None,
) -> MapResult[Any]:
    """:meth:`LLM.map <fmviz.providers.runner.LLM.map>` with the model calls batched."""
    items = list(items)
    keys = [key(item) if key else getattr(item, "id", index) for index, item in enumerate(items)]
    if len(set(keys)) != len(keys):
        raise ValueError("map keys must be unique")
    return run_batched(llm, items, fn, keys, desc=desc, prepare=prepare, is_item_error=_is_item_error)


def run_batched(
    llm: LLM,
    items: Sequence[Any],
    fn: Callable[[Any], Any],
    keys: Sequence[Hashable],
    *,
    desc: str | None = None,
    prepare: Callable[[Any], Any] | None = None,
    is_item_error: Callable[[BaseException], bool],
) -> MapResult[Any]:
    """``fn`` over ``items`` like :func:`~fmviz.providers.pool.run_pool`, model calls batched.

    Raises :class:`~fmviz.providers.pool.RunStopped` (with everything finished) on a fatal
    error, including jobs that outlast ``max_wait`` (:class:`BatchStillRunning`).
    """
    if llm.cache is None:
        raise ValueError("batch mode needs the call cache (it holds the answers and the job ids)")
    assert llm.batch is not None
    session = BatchSession(llm, llm.batch, backend_for(llm.provider, llm.batch))
    results: dict[Hashable, Any] = {}
    errors: dict[Hashable, str] = {}
    exceptions: dict[Hashable, BaseException] = {}
    remaining = list(range(len(items)))
    round_number = 0

    def finished(skipped: list[Hashable]) -> MapResult[Any]:
        order = {k: i for i, k in enumerate(keys)}
        return MapResult(
            results=dict(sorted(results.items(), key=lambda kv: order[kv[0]])),
            errors=dict(sorted(errors.items(), key=lambda kv: order[kv[0]])),
            exceptions=exceptions,
            skipped=skipped,
        )

    llm.intercept = session.answer
    try:
        while remaining:
            round_number += 1
            label = f"{desc or 'batch'} (round {round_number})" if round_number > 1 else desc
            try:
                outcome = run_pool(
                    [items[i] for i in remaining],
                    fn,
                    [keys[i] for i in remaining],
                    concurrency=llm.concurrency,
                    is_item_error=lambda exc: isinstance(exc, Deferred) or is_item_error(exc),
                    prepare=prepare,
                    desc=label,
                )
            except RunStopped as stopped:
                _merge(stopped.partial, results, errors, exceptions)
                raise RunStopped(
                    str(stopped), finished(_unfinished(keys, results, errors))
                ) from stopped.__cause__
            deferred = _merge(outcome, results, errors, exceptions)
            remaining = [i for i in remaining if keys[i] in deferred]
            if remaining:
                try:
                    session.flush()
                except (BudgetExceeded, ProviderError) as exc:
                    skipped = _unfinished(keys, results, errors)
                    raise RunStopped(
                        f"run stopped by {type(exc).__name__}: {exc} ({len(results)} of {len(items)} "
                        f"items finished and kept; {len(skipped)} waiting for a batch)",
                        finished(skipped),
                    ) from exc
    finally:
        llm.intercept = None
        session.close()
    return finished([])


def _merge(
    outcome: MapResult[Any],
    results: dict[Hashable, Any],
    errors: dict[Hashable, str],
    exceptions: dict[Hashable, BaseException],
) -> set[Hashable]:
    """Fold one round into the totals; returns the keys of deferred items."""
    results.update(outcome.results)
    deferred = set()
    for key, message in outcome.errors.items():
        exc = outcome.exceptions.get(key)
        if isinstance(exc, Deferred):
            deferred.add(key)
        else:
            errors[key] = message
            if exc is not None:
                exceptions[key] = exc
    return deferred


def _unfinished(
    keys: Sequence[Hashable], results: dict[Hashable, Any], errors: dict[Hashable, str]
) -> list[Hashable]:
    return [k for k in keys if k not in results and k not in errors]
