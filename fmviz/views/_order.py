"""Natural order for cluster and category labels, so ``C2`` comes before ``C10``.

Ids like ``C1..C12`` sort wrongly as strings (``C1, C10, C11, C2``); every view that lists
clusters or categories (the cluster editor, the heatmaps) orders them with :func:`natural_key`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["natural_key", "natural_sorted"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: object) -> tuple[tuple[int, int | str], ...]:
    """A sort key that compares digit runs as numbers and the rest case-insensitively.

    Examples
    --------
    >>> sorted(["C10", "C2", "c1"], key=natural_key)
    ['c1', 'C2', 'C10']
    """
    parts = _DIGITS.split(str(text))
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p != "")


def natural_sorted(items: Iterable[str]) -> list[str]:
    """``items`` in natural order (see :func:`natural_key`).

    Examples
    --------
    >>> natural_sorted(["M1C10", "M1C9", "aggregate"])
    ['aggregate', 'M1C9', 'M1C10']
    """
    return sorted(items, key=natural_key)
