"""The worker pool behind every stage: many items, bounded concurrency, nothing lost.

A stage is one model call per item (episode, batch). :func:`run_pool` runs them on a
bounded thread pool with a progress bar and sorts outcomes into three piles: results,
per-item errors (a bad episode, an answer that stayed malformed) that never stop the
others, and a fatal error (credentials, quota, budget, a dead server, a bug) that stops
new items from starting, lets running ones finish, and raises :class:`RunStopped` with
everything finished so far.

Optionally a *prepare* step (decode and encode a clip's frames) runs ahead of the model
calls on its own pool sized to the CPU cores, so frames for the next items are ready
while earlier requests are in flight: the CPU work overlaps the network wait instead of
holding one of the ``concurrency`` request slots.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pandas as pd

__all__ = ["MapResult", "RunStopped", "cpu_workers", "run_pool"]

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")


@dataclass
class MapResult(Generic[R]):
    """What a pool run produced: results and errors, both keyed by item key, in input order."""

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
    """A fatal error (credentials, quota, budget, a dead server, a bug) stopped a pool run.

    ``partial`` holds every result finished before the stop; those answers are in the
    cache too, so rerunning after fixing the cause only pays for the missing ones.
    """

    def __init__(self, message: str, partial: MapResult[Any]) -> None:
        super().__init__(message)
        self.partial = partial


def cpu_workers() -> int:
    """Threads for CPU-bound preparation: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def run_pool(
    items: Sequence[T],
    fn: Callable[[Any], R],
    keys: Sequence[Hashable],
    *,
    concurrency: int,
    is_item_error: Callable[[BaseException], bool],
    prepare: Callable[[T], Any] | None = None,
    prefetch: int | None = None,
    desc: str | None = None,
    postfix: Callable[[], dict[str, Any]] | None = None,
) -> MapResult[R]:
    """Run ``fn`` over ``items`` on ``concurrency`` threads with a progress bar.

    Parameters
    ----------
    items, keys:
        Work items and their unique keys (same length).
    fn:
        Called once per item from a worker thread: ``fn(item)``, or ``fn(prepare(item))``
        when ``prepare`` is given.
    concurrency:
        Items whose ``fn`` runs at once.
    is_item_error:
        True for an exception that concerns one item only; anything else stops the run.
    prepare:
        CPU-bound work per item, run on :func:`cpu_workers` threads up to ``prefetch``
        items ahead of ``fn``; its errors count like ``fn``'s.
    prefetch:
        How many prepared items may wait for a slot (default ``concurrency``).
    desc:
        Progress bar label.
    postfix:
        Extra numbers for the progress bar (e.g. cost so far).

    Raises
    ------
    RunStopped
        On a fatal error; ``partial`` holds what finished.

    Examples
    --------
    >>> out = run_pool([1, 2, 0], lambda x: 1 / x, [1, 2, 0], concurrency=2,
    ...                is_item_error=lambda e: isinstance(e, ZeroDivisionError))
    >>> sorted(out.results), list(out.errors)
    ([1, 2], [0])
    """
    from tqdm.auto import tqdm

    results: dict[Hashable, Any] = {}
    errors: dict[Hashable, str] = {}
    exceptions: dict[Hashable, BaseException] = {}
    fatal: BaseException | None = None
    started = 0
    ahead = max(1, prefetch or concurrency)
    preparing: dict[Future[Any], int] = {}
    ready: dict[int, Future[Any]] = {}
    next_ready = 0
    running: dict[Future[R], Hashable] = {}
    cpu = ThreadPoolExecutor(max_workers=cpu_workers(), thread_name_prefix="fmviz-prep") if prepare else None
    bar = tqdm(total=len(items), desc=desc, leave=False, dynamic_ncols=True)

    def settle(item_key: Hashable, exc: BaseException | None, value: Any = None) -> None:
        nonlocal fatal
        if exc is None:
            results[item_key] = value
        else:
            errors[item_key] = str(exc)
            exceptions[item_key] = exc
            if not is_item_error(exc):
                fatal = fatal or exc
        bar.update(1)

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fmviz-llm") as pool:
            while running or preparing or ready or (fatal is None and started < len(items)):
                if cpu is not None and prepare is not None:
                    while next_ready in ready and len(running) < concurrency:
                        future = ready.pop(next_ready)
                        index, next_ready = next_ready, next_ready + 1
                        exc = future.exception()
                        if exc is not None:
                            settle(keys[index], exc)
                        elif fatal is None:
                            running[pool.submit(fn, future.result())] = keys[index]
                    # top up after sending: items just sent free their prefetch places at once,
                    # so the CPU pool never idles until the next answer arrives
                    while fatal is None and started < len(items) and len(preparing) + len(ready) < ahead:
                        preparing[cpu.submit(prepare, items[started])] = started
                        started += 1
                else:
                    while fatal is None and started < len(items) and len(running) < concurrency:
                        running[pool.submit(fn, items[started])] = keys[started]
                        started += 1
                if fatal is not None and ready and not preparing and not running:
                    ready.clear()  # prepared but never sent: they count as not started
                pending = list(running) + list(preparing)
                if not pending:
                    continue
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    if future in preparing:
                        ready[preparing.pop(future)] = future
                        continue
                    item_key = running.pop(future)
                    exc = future.exception()
                    settle(item_key, exc, None if exc is not None else future.result())
                bar.set_postfix(**(postfix() if postfix else {}), errors=len(errors), refresh=False)
    finally:
        if cpu is not None:
            cpu.shutdown(wait=True, cancel_futures=True)
        bar.close()
    order = {k: i for i, k in enumerate(keys)}
    finished = set(results) | set(errors)
    outcome: MapResult[R] = MapResult(
        results=dict(sorted(results.items(), key=lambda kv: order[kv[0]])),
        errors=dict(sorted(errors.items(), key=lambda kv: order[kv[0]])),
        exceptions=exceptions,
        skipped=[k for k in keys if k not in finished],
    )
    if fatal is not None:
        what = type(fatal).__name__
        raise RunStopped(
            f"run stopped by {what}: {fatal} ({len(results)} of {len(items)} items finished and kept; "
            f"{len(outcome.skipped)} not started)",
            outcome,
        ) from fatal
    return outcome
