"""Text helpers of the cleaning step: sentences, tokens, runs and the tidy-up after removal.

Shared by :mod:`fmviz.offline.cleaning` and :mod:`fmviz.offline.context`; nothing here knows
about boilerplate or names.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

__all__ = [
    "MASK_TOKEN",
    "NAME_TOKEN",
    "PLACEHOLDERS",
    "WORD",
    "WORD_RE",
    "as_text",
    "blank",
    "frequent_units",
    "group_labels",
    "informative",
    "runs",
    "sentence_spans",
    "tidy",
]

#: A sentence ends at ``.!?`` (with closing quotes or brackets) before whitespace, or at a line
#: break; written to start on a punctuation or whitespace character, which the regex engine finds
#: fast (the same splits as ``(?<=[.!?])["')\]]*\s+|\s*\n+\s*``, nearly three times faster).
BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+|[^\S\n]*\n\s*")
WORD = r"\w+(?:['’]\w+)*"
WORD_RE = re.compile(WORD)
DIGITS = re.compile(r"\d+")
MASK_TOKEN = "<mask>"
NAME_TOKEN = "<name>"
PLACEHOLDERS = frozenset({MASK_TOKEN, NAME_TOKEN})


def group_labels(groups: Sequence[object] | None, n: int) -> list[str | None]:
    """Groups as strings (``None`` for missing), checked against the number of texts."""
    if groups is None:
        return [None] * n
    groups = list(groups)
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} texts; give one group per text")
    return [None if _missing(g) else " ".join(str(g).split()) for g in groups]


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return not str(value).strip()


def as_text(value: object) -> str:
    return "" if value is None else str(value)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences: split after ``.!?`` + space and at line breaks.

    Memoised: the context masker and the cleaner both split every text of a fit.
    """
    return list(_sentence_spans(text))


@lru_cache(maxsize=65536)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans, start = [], 0
    for match in BOUNDARY.finditer(text):
        # a match starts at the sentence's final punctuation, or at the whitespace of a line break
        end = match.start() + 1 if text[match.start()] in ".!?" else match.start()
        if end > start:
            spans.append((start, end))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return tuple(spans)


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each ``(start, end)`` span replaced by as many spaces (spans may overlap)."""
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in sorted(spans):
        if end <= last:
            continue
        start = max(start, last)
        pieces.extend((text[last:start], " " * (end - start)))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index pairs of consecutive ``True`` values."""
    runs, first = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and first is None:
            first = i
        elif not flag and first is not None:
            runs.append((first, i - 1))
            first = None
    return runs


def informative(phrase: tuple[str, ...]) -> bool:
    """A phrase made mostly of masks, names and numbers is not a template worth removing."""
    words = [w for w in phrase if w not in PLACEHOLDERS and w != "0"]
    return len(words) >= max(3, len(phrase) // 2)


def tidy(text: str) -> str:
    """Collapse whitespace and the punctuation that removal leaves dangling."""
    text = re.sub(r"\(\s*\)|\[\s*\]|\"\s*\"", " ", text)
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]\s*(?=[.!?])", "", text)
    text = re.sub(r"([.!?])(?:\s*[.,;:])+", r"\1", text)
    text = re.sub(r"^[\s,.;:!?)\]]+", "", text)
    return text.strip()


def frequent_units(
    sentence_sets: list[set[str]],
    phrase_sets: list[set[tuple[str, ...]]],
    share: float,
    phrase_share: float,
    min_count: int,
) -> tuple[set[str], set[tuple[str, ...]]]:
    """Sentences and phrases found in enough of the given documents."""
    n = max(len(sentence_sets), 1)
    sentence_df: Counter[str] = Counter()
    phrase_df: Counter[tuple[str, ...]] = Counter()
    for keys in sentence_sets:
        sentence_df.update(keys)
    for grams in phrase_sets:
        phrase_df.update(grams)
    threshold = max(min_count, math.ceil(share * n))
    phrase_threshold = max(min_count, math.ceil(phrase_share * n))
    sentences = {s for s, c in sentence_df.items() if c >= threshold}
    phrases = {p for p, c in phrase_df.items() if c >= phrase_threshold and informative(p)}
    return sentences, phrases
