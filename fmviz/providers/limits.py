"""The limits a paid batch job runs under: a budget cap and a requests-per-minute pace.

Both are shared by every worker thread of a run, so both are small thread-safe objects.
The budget is checked *before* each call: the estimate of every call in flight is held
against the cap until the call returns, so 16 concurrent calls cannot overshoot it
together; the pace spaces calls evenly and, after a 429 with ``Retry-After``, holds every
worker, not just the one that was told to wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fmviz.providers.ledger import Ledger

__all__ = ["Budget", "BudgetExceeded", "RateLimiter"]


class BudgetExceeded(RuntimeError):
    """The next call would take spending past ``budget_usd``; nothing was sent."""

    def __init__(self, spent: float, estimate: float, budget: float) -> None:
        self.spent, self.estimate, self.budget = spent, estimate, budget
        super().__init__(
            f"budget cap reached: spent ${spent:.4f} (+${estimate:.4f} in flight or next) of "
            f"${budget:.4f}; raise budget_usd to continue (cached answers are kept and replay for free)"
        )


class Budget:
    """A spending cap over a ledger, counting the estimates of calls in flight.

    Parameters
    ----------
    ledger:
        Where spent money is recorded.
    limit:
        USD cap; None means no cap.

    Examples
    --------
    >>> budget = Budget(Ledger(), 0.01)
    >>> with budget.hold(0.004):
    ...     pass
    >>> budget.hold(0.02).__enter__()
    Traceback (most recent call last):
    ...
    fmviz.providers.limits.BudgetExceeded: budget cap reached: ...
    """

    def __init__(self, ledger: Ledger, limit: float | None) -> None:
        self.ledger = ledger
        self.limit = limit
        self._reserved = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, estimate: float) -> Iterator[None]:
        """Reserve ``estimate`` for the duration of one call, or raise :class:`BudgetExceeded`."""
        if self.limit is None:
            yield
            return
        with self._lock:
            spent = self.ledger.total_cost
            if spent + self._reserved + estimate > self.limit:
                raise BudgetExceeded(spent, self._reserved + estimate, self.limit)
            self._reserved += estimate
        try:
            yield
        finally:
            with self._lock:
                self._reserved -= estimate


class RateLimiter:
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
        """Block until this caller's slot."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            if self.interval:
                self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
