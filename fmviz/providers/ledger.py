"""What a run cost, what it would cost, and the prices both are computed from.

The paper's pipeline makes one multimodal call per failure episode plus a handful of
large reasoning calls, so cost grows with the dataset. The :class:`Ledger` records every
call (tokens, seconds, cost, whether the cache served it) and summarises per stage; the
:func:`estimate_requests` dry run prices a run before any call is made, counting requests
already in the cache as free; :class:`PriceTable` holds list prices per model and can be
loaded from a file or overridden, because prices change faster than code.
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

if TYPE_CHECKING:
    from fmviz.providers.base import LLMRequest, Provider
    from fmviz.providers.cache import CallCache

__all__ = ["DEFAULT_PRICES", "Estimate", "Ledger", "PriceTable", "estimate_request", "estimate_requests"]

#: USD per 1M (input, output) tokens: published list prices (standard tier, short prompts)
#: as of 2025. Override with :meth:`PriceTable.load` or :meth:`PriceTable.with_prices`.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.0-flash-lite": (0.075, 0.30),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}

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
]


class PriceTable:
    """USD per million input and output tokens, per model.

    A model name matches its exact entry, else the longest entry it starts with (so
    ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``). Unknown models (local ones,
    self-hosted servers) cost 0.

    Parameters
    ----------
    prices:
        ``{model: (input_per_1m, output_per_1m)}`` or ``{model: {"input": x, "output": y}}``;
        these override the defaults.
    defaults:
        Start from :data:`DEFAULT_PRICES` (True) or from an empty table.
    """

    def __init__(self, prices: Mapping[str, Any] | None = None, *, defaults: bool = True) -> None:
        self._prices: dict[str, tuple[float, float]] = dict(DEFAULT_PRICES) if defaults else {}
        for model, value in (prices or {}).items():
            self._prices[str(model)] = _pair(model, value)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, defaults: bool = True) -> PriceTable:
        """Read prices from a JSON or TOML file: ``{"model": {"input": x, "output": y}}``."""
        path = Path(path)
        raw = path.read_bytes()
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            data = tomllib.loads(raw.decode())
        else:
            data = json.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("prices"), dict):
            data = data["prices"]
        return cls(data, defaults=defaults)

    def with_prices(self, prices: Mapping[str, Any]) -> PriceTable:
        """A copy with some prices replaced or added."""
        table = PriceTable(defaults=False)
        table._prices = {**self._prices, **{str(m): _pair(m, v) for m, v in prices.items()}}
        return table

    def lookup(self, model: str) -> tuple[float, float] | None:
        """(input, output) USD per 1M tokens, or None for an unknown model."""
        name = model.removeprefix("models/").split("/")[-1]
        if name in self._prices:
            return self._prices[name]
        matches = [known for known in self._prices if name.startswith(known)]
        return self._prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """USD for one call (0 for unknown models)."""
        price = self.lookup(model)
        if price is None:
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame (model, input_per_1m, output_per_1m)."""
        rows = [(m, i, o) for m, (i, o) in sorted(self._prices.items())]
        return pd.DataFrame(rows, columns=["model", "input_per_1m", "output_per_1m"])

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.lookup(model) is not None


def _pair(model: Any, value: Any) -> tuple[float, float]:
    if isinstance(value, Mapping):
        return float(value["input"]), float(value["output"])
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return float(value[0]), float(value[1])
    raise ValueError(f"price for {model!r} must be (input, output) or {{'input':, 'output':}}, got {value!r}")


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
    ) -> float:
        """Add one call; returns its cost in USD (0 when served from the cache)."""
        cost = 0.0 if cached else self.prices.cost(model, input_tokens, output_tokens)
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
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return frame

    def summary(self) -> pd.DataFrame:
        """Calls, cached calls, tokens, seconds and cost per stage, provider and model."""
        frame = self.to_frame()
        keys = ["stage", "provider", "model"]
        if frame.empty:
            columns = [*keys, "calls", "cached_calls", "input_tokens", "output_tokens", "seconds", "cost_usd"]
            return pd.DataFrame(columns=columns)
        grouped = frame.groupby(keys, sort=False, dropna=False)
        return grouped.agg(
            calls=("cached", "size"),
            cached_calls=("cached", "sum"),
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
    return Estimate(request.stage, input_tokens, output, cost, cached)


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
        Columns ``stage, calls, cached, input_tokens, output_tokens, cost_usd``; input and
        output tokens count only the calls that would be paid.
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
            }
        )
    columns = ["stage", "calls", "cached", "input_tokens", "output_tokens", "cost_usd"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows).groupby("stage", sort=False).sum().reset_index()[columns]
