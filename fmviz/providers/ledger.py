"""What a run cost, what it would cost, and the prices both are computed from.

The paper's pipeline makes one multimodal call per failure episode plus a handful of
large reasoning calls, so cost grows with the dataset. The :class:`Ledger` records every
call (tokens, seconds, cost, whether the cache served it) and summarises per stage; the
:func:`estimate_requests` dry run prices a run before any call is made, counting requests
already in the cache as free, at online and batch-API rates side by side. Prices live in
:mod:`fmviz.providers.prices` (re-exported here).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fmviz.providers.prices import DEFAULT_BATCH_DISCOUNT, DEFAULT_PRICES, PriceTable

if TYPE_CHECKING:
    from fmviz.providers.base import LLMRequest, Provider
    from fmviz.providers.cache import CallCache

__all__ = [
    "DEFAULT_BATCH_DISCOUNT",
    "DEFAULT_PRICES",
    "Estimate",
    "Ledger",
    "PriceTable",
    "estimate_request",
    "estimate_requests",
]

#: Ledger columns, in order.
LEDGER_COLUMNS = [
    "time",
    "stage",
    "provider",
    "model",
    "episode_id",
    "input_tokens",
    "output_tokens",
    "cached",
    "seconds",
    "cost_usd",
    "batch",
]


class Ledger:
    """A thread-safe record of every model call of a run and what it cost.

    Parameters
    ----------
    prices:
        Price table for cost; defaults to :class:`PriceTable` with list prices.
    """

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices or PriceTable()
        self._rows: list[dict[str, Any]] = []
        self._total = 0.0
        self._lock = threading.Lock()

    def record(
        self,
        stage: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cached: bool,
        seconds: float,
        episode_id: str | None = None,
        batch: bool = False,
    ) -> float:
        """Add one call; returns its cost in USD (0 when cached; batch rates when ``batch``)."""
        cost = (
            0.0
            if cached
            else self.prices.cost(model, input_tokens, output_tokens, batch=batch, provider=provider)
        )
        row = {
            "time": time.time(),
            "stage": stage,
            "provider": provider,
            "model": model,
            "episode_id": episode_id,
            "input_tokens": int(input_tokens),
            "output_tokens": int(output_tokens),
            "cached": bool(cached),
            "seconds": float(seconds),
            "cost_usd": cost,
            "batch": bool(batch),
        }
        with self._lock:
            self._rows.append(row)
            self._total += cost
        return cost

    @property
    def total_cost(self) -> float:
        """USD spent on real (uncached) calls so far."""
        with self._lock:
            return self._total

    def __bool__(self) -> bool:
        """A ledger is truthy even when empty (``ledger or Ledger()`` must not replace it)."""
        return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per call, in the order they finished."""
        with self._lock:
            rows = list(self._rows)
        frame = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
        frame["batch"] = frame["batch"].fillna(False).astype(bool)  # ledgers saved before batch mode
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return frame

    def summary(self) -> pd.DataFrame:
        """Calls, cached calls, tokens, seconds and cost per stage, provider and model."""
        frame = self.to_frame()
        keys = ["stage", "provider", "model"]
        if frame.empty:
            columns = [*keys, "calls", "cached_calls", "batch_calls", "input_tokens", "output_tokens"]
            columns += ["seconds", "cost_usd"]
            return pd.DataFrame(columns=columns)
        grouped = frame.groupby(keys, sort=False, dropna=False)
        return grouped.agg(
            calls=("cached", "size"),
            cached_calls=("cached", "sum"),
            batch_calls=("batch", "sum"),
            input_tokens=("input_tokens", "sum"),
            output_tokens=("output_tokens", "sum"),
            seconds=("seconds", "sum"),
            cost_usd=("cost_usd", "sum"),
        ).reset_index()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write one JSON object per call (JSON lines); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            rows = list(self._rows)
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], prices: PriceTable | None = None) -> Ledger:
        """Read a ledger written by :meth:`save` (costs as recorded)."""
        ledger = cls(prices)
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                ledger._rows.append(row)
                ledger._total += float(row.get("cost_usd", 0.0))
        return ledger

    def __repr__(self) -> str:
        return f"Ledger(calls={len(self)}, total_cost=${self.total_cost:.4f})"


@dataclass(frozen=True)
class Estimate:
    """The predicted tokens and cost of one request (0 cost if already cached)."""

    stage: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool
    #: The same request at the provider's batch rates.
    batch_cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_input_tokens(request: LLMRequest, provider: Provider) -> int:
    """About one token per four characters of text, plus the provider's image estimate."""
    chars = len(request.prompt) + len(request.system or "") + sum(len(text) for _, text in request.history)
    if request.json_schema is not None:
        chars += len(json.dumps(request.json_schema))
    return chars // 4 + sum(provider.estimate_image_tokens(image) for image in request.images)


def estimate_request(
    request: LLMRequest,
    provider: Provider,
    prices: PriceTable | None = None,
    expected_output_tokens: int | Mapping[str, int] = 1000,
    cache: CallCache | None = None,
) -> Estimate:
    """Price one request without sending it."""
    prices = prices or PriceTable()
    if isinstance(expected_output_tokens, Mapping):
        output = int(expected_output_tokens.get(request.stage, expected_output_tokens.get("default", 1000)))
    else:
        output = int(expected_output_tokens)
    input_tokens = estimate_input_tokens(request, provider)
    cached = cache is not None and cache.key(provider, request) in cache
    cost = 0.0 if cached else prices.cost(provider.model, input_tokens, output)
    batch = (
        0.0
        if cached
        else prices.cost(provider.model, input_tokens, output, batch=True, provider=provider.name)
    )
    return Estimate(request.stage, input_tokens, output, cost, cached, batch)


def estimate_requests(
    requests: Iterable[LLMRequest],
    provider: Provider,
    prices: PriceTable | None = None,
    expected_output_tokens: int | Mapping[str, int] = 1000,
    cache: CallCache | None = None,
) -> pd.DataFrame:
    """Dry run: calls, cached calls, tokens and USD per stage, before any call is made.

    Parameters
    ----------
    requests:
        The requests a run would send.
    provider:
        Who would answer them (its model picks the price; it estimates image tokens).
    prices:
        Price table; defaults to list prices.
    expected_output_tokens:
        Output tokens per call, one number or ``{stage: tokens}`` (key ``"default"`` for the
        rest); reasoning models spend more.
    cache:
        Requests already in this cache are counted as free.

    Returns
    -------
    pandas.DataFrame
        Columns ``stage, calls, cached, input_tokens, output_tokens, cost_usd,
        batch_cost_usd`` (online and batch-API prices side by side); input and output tokens
        count only the calls that would be paid.
    """
    rows = []
    for request in requests:
        estimate = estimate_request(request, provider, prices, expected_output_tokens, cache)
        paid = not estimate.cached
        rows.append(
            {
                "stage": estimate.stage,
                "calls": 1,
                "cached": int(estimate.cached),
                "input_tokens": estimate.input_tokens if paid else 0,
                "output_tokens": estimate.output_tokens if paid else 0,
                "cost_usd": estimate.cost_usd,
                "batch_cost_usd": estimate.batch_cost_usd,
            }
        )
    columns = ["stage", "calls", "cached", "input_tokens", "output_tokens", "cost_usd", "batch_cost_usd"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows).groupby("stage", sort=False).sum().reset_index()[columns]
