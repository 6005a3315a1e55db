"""Strip reporting boilerplate and masked spans before embedding.

Real failure narratives carry text that says nothing about the failure: a company's standard
opening and closing sentences, legal notes, ``[XXX]`` redactions. Left in, they dominate the
embeddings and the clusters follow the reporting company instead of the failure (the NHTSA
crash narratives are the textbook case). :class:`TextCleaner` learns such text from the corpus
itself, as sentences (and long word sequences) that recur in a large share of documents once
digits and masked spans are normalised away, removes them, and reports what it removed so the
step is visible and can be switched off.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["DEFAULT_MASK_PATTERNS", "TextCleaner"]

#: Redaction markers found in public incident reports: ``[XXX]``, ``[REDACTED ...]``.
DEFAULT_MASK_PATTERNS: tuple[str, ...] = (r"\[X+\]", r"\[REDACTED[^\]]*\]")

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*")
_WORD = r"\w+(?:['’]\w+)*"
_DIGITS = re.compile(r"\d+")
_MASK_TOKEN = "<mask>"


@dataclass
class _Token:
    norm: str
    start: int
    end: int


class TextCleaner:
    """Learn and remove corpus-wide boilerplate.

    Parameters
    ----------
    mask_patterns:
        Regular expressions of masked spans; they are removed from the text and treated as one
        placeholder token when comparing sentences.
    min_doc_share:
        A sentence (or phrase) is boilerplate when it appears in at least this share of documents
        ...
    min_docs:
        ... and in at least this many documents (so tiny corpora are left alone).
    phrase_words:
        Also remove any run of text covered by ``phrase_words``-word sequences that are this
        widespread (catches templates such as ``a Waymo Autonomous Vehicle ("Waymo AV") operating
        in``, whose sentences differ in a few words). ``None`` checks whole sentences only.
    phrase_doc_share:
        Document share a phrase needs. Higher than ``min_doc_share`` on purpose: a short phrase
        can be content ("made contact with the rear of the vehicle") where a sentence cannot.
    min_words_left:
        If cleaning would leave fewer words than this, the document keeps its text (masks
        removed), since then the "boilerplate" is the content.
    enabled:
        ``False`` makes :meth:`transform` return its input unchanged.

    Examples
    --------
    >>> causes = ["The arm dropped a cup.", "The gripper slipped.", "A wheel stalled.", "The map was old."]
    >>> texts = [f"{c} Acme files this under rule 7." for c in causes * 2]
    >>> TextCleaner().fit(texts).transform(texts)[0]
    'The arm dropped a cup.'
    """

    def __init__(
        self,
        mask_patterns: Sequence[str] = DEFAULT_MASK_PATTERNS,
        min_doc_share: float = 0.2,
        min_docs: int = 5,
        *,
        phrase_words: int | None = 8,
        phrase_doc_share: float = 0.4,
        min_words_left: int = 3,
        enabled: bool = True,
    ) -> None:
        if not 0 < min_doc_share <= 1:
            raise ValueError(f"min_doc_share must be in (0, 1], got {min_doc_share}")
        if phrase_words is not None and phrase_words < 3:
            raise ValueError(f"phrase_words must be at least 3 (or None), got {phrase_words}")
        self.mask_patterns = tuple(mask_patterns)
        self.min_doc_share = float(min_doc_share)
        self.min_docs = int(min_docs)
        self.phrase_words = phrase_words
        self.phrase_doc_share = float(phrase_doc_share)
        self.min_words_left = int(min_words_left)
        self.enabled = enabled
        masks = "|".join(f"(?:{p})" for p in self.mask_patterns)
        self._mask_re = re.compile(masks) if masks else None
        self._token_re = re.compile(f"(?P<mask>{masks})|(?P<word>{_WORD})" if masks else f"(?P<word>{_WORD})")
        self.sentences_: set[str] = set()
        self.phrases_: set[tuple[str, ...]] = set()
        self.n_docs_ = 0
        self._report = pd.DataFrame(columns=["kind", "pattern", "docs", "doc_share"])
        self.fitted_ = False

    def __repr__(self) -> str:
        state = (
            f"{len(self.sentences_)} sentences, {len(self.phrases_)} phrases" if self.fitted_ else "unfitted"
        )
        return f"TextCleaner(min_doc_share={self.min_doc_share}, enabled={self.enabled}, {state})"

    # -- fitting --------------------------------------------------------------------------
    def fit(self, texts: Iterable[str]) -> TextCleaner:
        """Find boilerplate sentences and phrases in ``texts``.

        Returns
        -------
        TextCleaner
            ``self``, so ``TextCleaner().fit(texts).transform(texts)`` reads naturally.
        """
        texts = [_as_text(t) for t in texts]
        self.n_docs_ = len(texts)
        threshold = max(self.min_docs, math.ceil(self.min_doc_share * max(len(texts), 1)))
        sentence_df: Counter[str] = Counter()
        phrase_df: Counter[tuple[str, ...]] = Counter()
        phrase_threshold = max(self.min_docs, math.ceil(self.phrase_doc_share * max(len(texts), 1)))
        for text in texts:
            sentences = self._sentences(text)
            sentence_df.update({_key(tokens) for _, _, tokens in sentences} - {""})
            if self.phrase_words:
                n = self.phrase_words
                grams = set()
                for _, _, tokens in sentences:
                    norms = [t.norm for t in tokens]
                    grams.update(tuple(norms[i : i + n]) for i in range(len(norms) - n + 1))
                phrase_df.update(grams)
        self.sentences_ = {s for s, c in sentence_df.items() if c >= threshold}
        self.phrases_ = {p for p, c in phrase_df.items() if c >= phrase_threshold and _informative(p)}
        self.fitted_ = True
        self._report = self._tally(texts)
        return self

    def fit_transform(self, texts: Iterable[str]) -> list[str]:
        texts = [_as_text(t) for t in texts]
        return self.fit(texts).transform(texts)

    # -- transforming ---------------------------------------------------------------------
    def transform(self, texts: Iterable[str]) -> list[str]:
        """Remove learnt boilerplate and masked spans; collapse whitespace."""
        texts = [_as_text(t) for t in texts]
        if not self.enabled:
            return texts
        return [self._clean(text)[0] for text in texts]

    def _clean(self, text: str) -> tuple[str, list[tuple[str, str, str]]]:
        """The cleaned text and what was removed as ``(kind, key, original)`` triples."""
        cut = [False] * len(text)
        removed: list[tuple[str, str, str]] = []
        n = self.phrase_words or 0
        for a, b, tokens in self._sentences(text):
            key = _key(tokens)
            if key and key in self.sentences_:
                cut[a:b] = [True] * (b - a)
                removed.append(("sentence", key, text[a:b].strip()))
                continue
            if not self.phrases_:
                continue
            covered = [False] * len(tokens)
            norms = [t.norm for t in tokens]
            for i in range(len(tokens) - n + 1):
                if tuple(norms[i : i + n]) in self.phrases_:
                    covered[i : i + n] = [True] * n
            for first, last in _runs(covered):
                start, end = tokens[first].start, tokens[last].end
                cut[start:end] = [True] * (end - start)
                removed.append(("phrase", " ".join(norms[first : last + 1]), text[start:end]))
        kept = "".join(ch if not gone else " " for ch, gone in zip(text, cut, strict=True))
        if self._mask_re is not None:
            kept = self._mask_re.sub(" ", kept)
        kept = _tidy(kept)
        if len(re.findall(_WORD, kept)) < self.min_words_left:
            fallback = self._mask_re.sub(" ", text) if self._mask_re is not None else text
            return _tidy(fallback), []
        return kept, removed

    # -- reporting ------------------------------------------------------------------------
    def report(self) -> pd.DataFrame:
        """What :meth:`fit` found and would remove, most widespread first.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind`` (``sentence``, ``phrase`` or ``mask``), ``pattern`` (an example of
            the removed text), ``docs`` and ``doc_share`` (documents of the fitted corpus it was
            removed from).
        """
        return self._report.copy()

    def _tally(self, texts: list[str]) -> pd.DataFrame:
        docs: Counter[tuple[str, str]] = Counter()
        examples: dict[tuple[str, str], str] = {}
        for text in texts:
            _, removed = self._clean(text)
            seen = set()
            for kind, key, original in removed:
                seen.add((kind, key))
                examples.setdefault((kind, key), " ".join(original.split()))
            if self._mask_re is not None:
                for pattern in self.mask_patterns:
                    if re.search(pattern, text):
                        seen.add(("mask", pattern))
                        examples.setdefault(("mask", pattern), pattern)
            docs.update(seen)
        n = max(self.n_docs_, 1)
        rows = [
            {"kind": kind, "pattern": examples[(kind, key)], "docs": count, "doc_share": count / n}
            for (kind, key), count in docs.items()
        ]
        frame = pd.DataFrame(rows, columns=["kind", "pattern", "docs", "doc_share"])
        return frame.sort_values(["docs", "kind"], ascending=[False, True], ignore_index=True)

    # -- helpers --------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[_Token]:
        tokens = []
        for match in self._token_re.finditer(text):
            if match.lastgroup == "mask":
                norm = _MASK_TOKEN
            else:
                norm = _DIGITS.sub("0", match.group().lower().replace("’", "'"))
            tokens.append(_Token(norm, match.start(), match.end()))
        return tokens

    def _sentences(self, text: str) -> list[tuple[int, int, list[_Token]]]:
        """Each sentence's character span and normalised tokens."""
        tokens = self._tokens(text)
        out, i = [], 0
        for a, b in _sentence_spans(text):
            while i < len(tokens) and tokens[i].start < a:
                i += 1
            j = i
            while j < len(tokens) and tokens[j].start < b:
                j += 1
            out.append((a, b, tokens[i:j]))
            i = j
        return out


def _key(tokens: list[_Token]) -> str:
    """A sentence's comparison key ("" for a sentence of masks only)."""
    words = [t.norm for t in tokens]
    return " ".join(words) if any(w != _MASK_TOKEN for w in words) else ""


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences: split after ``.!?`` + space and at line breaks."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index pairs of consecutive ``True`` values."""
    runs, first = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and first is None:
            first = i
        elif not flag and first is not None:
            runs.append((first, i - 1))
            first = None
    return runs


def _informative(phrase: tuple[str, ...]) -> bool:
    """A phrase made mostly of masks and numbers is not a template worth removing."""
    words = [w for w in phrase if w != _MASK_TOKEN and w != "0"]
    return len(words) >= max(3, len(phrase) // 2)


def _tidy(text: str) -> str:
    """Collapse whitespace and the punctuation that removal leaves dangling."""
    text = re.sub(r"\(\s*\)|\[\s*\]|\"\s*\"", " ", text)
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]\s*(?=[.!?])", "", text)
    text = re.sub(r"([.!?])(?:\s*[.,;:])+", r"\1", text)
    text = re.sub(r"^[\s,.;:!?)\]]+", "", text)
    return text.strip()
