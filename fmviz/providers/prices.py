"""Prices: USD per million tokens per model, online and through the providers' batch APIs.

Prices change faster than code, so the table is data: list prices by default, loadable from
a JSON/TOML file and overridable per model. Batch calls (OpenAI's Batch API, Gemini's batch
mode) are priced from their own per-model entries when given, else at the online price times
the provider's batch discount (half price for both, 2025).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DEFAULT_BATCH_DISCOUNT", "DEFAULT_PRICES", "PriceTable"]

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

#: Batch-API price as a share of the online price, per provider: OpenAI's Batch API and Gemini's
#: batch mode both list at half the online price (2025). Override per provider or per model.
DEFAULT_BATCH_DISCOUNT: dict[str, float] = {"openai": 0.5, "gemini": 0.5}


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
    batch_prices:
        Batch-API prices per model, like ``prices``; a model without one is priced at its
        online price times its provider's ``batch_discount``.
    batch_discount:
        Batch price as a share of the online price: one number, or ``{provider: share}``
        over :data:`DEFAULT_BATCH_DISCOUNT`.
    """

    def __init__(
        self,
        prices: Mapping[str, Any] | None = None,
        *,
        defaults: bool = True,
        batch_prices: Mapping[str, Any] | None = None,
        batch_discount: float | Mapping[str, float] | None = None,
    ) -> None:
        self._prices: dict[str, tuple[float, float]] = dict(DEFAULT_PRICES) if defaults else {}
        for model, value in (prices or {}).items():
            self._prices[str(model)] = _pair(model, value)
        self._batch_prices = {str(m): _pair(m, v) for m, v in (batch_prices or {}).items()}
        self._discount: dict[str, float] = dict(DEFAULT_BATCH_DISCOUNT)
        if isinstance(batch_discount, Mapping):
            self._discount.update({str(k): float(v) for k, v in batch_discount.items()})
        elif batch_discount is not None:
            self._discount = dict.fromkeys(self._discount, float(batch_discount)) | {
                "*": float(batch_discount)
            }

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
        batch: dict[str, Any] = {}
        if isinstance(data, dict) and any(k in data for k in ("prices", "batch_prices", "batch_discount")):
            batch = {k: data[k] for k in ("batch_prices", "batch_discount") if k in data}
            data = data.get("prices") or {}
        return cls(data, defaults=defaults, **batch)

    def with_prices(self, prices: Mapping[str, Any]) -> PriceTable:
        """A copy with some prices replaced or added."""
        table = PriceTable(defaults=False)
        table._prices = {**self._prices, **{str(m): _pair(m, v) for m, v in prices.items()}}
        table._batch_prices, table._discount = dict(self._batch_prices), dict(self._discount)
        return table

    def with_batch_prices(
        self, prices: Mapping[str, Any] | None = None, *, discount: float | Mapping[str, float] | None = None
    ) -> PriceTable:
        """A copy with batch prices per model and/or batch discounts replaced or added."""
        table = self.with_prices({})
        table._batch_prices |= {str(m): _pair(m, v) for m, v in (prices or {}).items()}
        if isinstance(discount, Mapping):
            table._discount |= {str(k): float(v) for k, v in discount.items()}
        elif discount is not None:
            table._discount = dict.fromkeys(table._discount, float(discount)) | {"*": float(discount)}
        return table

    def lookup(self, model: str) -> tuple[float, float] | None:
        """(input, output) USD per 1M tokens, or None for an unknown model."""
        return _match(self._prices, model)

    def batch_lookup(self, model: str, provider: str | None = None) -> tuple[float, float] | None:
        """Batch-API (input, output) USD per 1M tokens: the model's own, else online x discount."""
        explicit = _match(self._batch_prices, model)
        if explicit is not None:
            return explicit
        online = self.lookup(model)
        if online is None:
            return None
        provider = provider or ("gemini" if "gemini" in model else "openai")
        share = self._discount.get(provider, self._discount.get("*", 1.0))
        return online[0] * share, online[1] * share

    def cost(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        batch: bool = False,
        provider: str | None = None,
    ) -> float:
        """USD for one call (0 for unknown models), at batch rates when ``batch``."""
        price = self.batch_lookup(model, provider) if batch else self.lookup(model)
        if price is None:
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame: model, online and batch USD per 1M input/output tokens."""
        rows = []
        for model, (i, o) in sorted(self._prices.items()):
            bi, bo = self.batch_lookup(model) or (0.0, 0.0)
            rows.append((model, i, o, bi, bo))
        columns = ["model", "input_per_1m", "output_per_1m", "batch_input_per_1m", "batch_output_per_1m"]
        return pd.DataFrame(rows, columns=columns)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.lookup(model) is not None


def _match(table: dict[str, tuple[float, float]], model: str) -> tuple[float, float] | None:
    """The exact entry of ``model``, else the longest entry it starts with."""
    name = model.removeprefix("models/").split("/")[-1]
    if name in table:
        return table[name]
    matches = [known for known in table if name.startswith(known)]
    return table[max(matches, key=len)] if matches else None


def _pair(model: Any, value: Any) -> tuple[float, float]:
    if isinstance(value, Mapping):
        return float(value["input"]), float(value["output"])
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return float(value[0]), float(value[1])
    raise ValueError(f"price for {model!r} must be (input, output) or {{'input':, 'output':}}, got {value!r}")
