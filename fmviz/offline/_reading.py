"""How the cleaner reads a text: tokens with masks, source names and context as placeholders.

:class:`TextCleaner <fmviz.offline.cleaning.TextCleaner>` compares sentences across documents
after turning masked spans, the sources' names and context spans (places, proper nouns, dates)
into placeholders, so that "operating in Tempe" and "operating in Austin" are one template. This
mixin holds that reading; the cleaner decides what is boilerplate.

Reading is done once per distinct sentence, not per document: reports repeat their templates
(half the sentences of the real NHTSA narratives occur more than once), so a sentence read once
serves every document that holds it, and the fit's three passes (units, report, transform) read
from the same memo. A sentence is read on its own: its tokens, context spans and cause flag do
not depend on the sentences around it.
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

from fmviz.offline._text import DIGITS, MASK_TOKEN, NAME_TOKEN, WORD, blank, sentence_spans
from fmviz.offline.context import ContextMasker, has_cause_word
from fmviz.offline.sources import bare_name

__all__ = ["Reading", "Sentence"]

#: ``(start, end, kind, text)`` of a context span (place, proper noun, date, organisation).
Span = tuple[int, int, str, str]


class Sentence(NamedTuple):
    """One distinct sentence as the cleaner reads it; offsets are within the sentence."""

    text: str
    norms: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    #: The sources' names it mentions, as written (without possessive or product word).
    names: tuple[str, ...]
    context: tuple[Span, ...]
    #: Whether it holds a word that says what went wrong (never boilerplate then).
    cause: bool
    #: The comparison key ("" for a sentence of masks and names only).
    key: str

    def grams(self, n: int) -> frozenset[tuple[str, ...]]:
        """Its ``n``-word sequences."""
        norms = self.norms
        return (
            frozenset(zip(*(norms[k:] for k in range(n)), strict=False)) if len(norms) >= n else frozenset()
        )


class Reading:
    """Tokenising state of a cleaner: mask and name patterns, a context masker, memos."""

    _masks: str
    _mask_re: re.Pattern[str] | None
    _name_re: re.Pattern[str] | None
    _token_re: re.Pattern[str]
    names_: dict[str, str]
    products_: dict[str, set[str]]
    context: ContextMasker | None
    name_replacement: str
    product_replacement: str | None
    _sentence_memo: dict[str, Sentence]
    _text_memo: dict[str, list[tuple[int, int, Sentence]]]
    _gram_memo: dict[str, frozenset[tuple[str, ...]]]

    def _set_names(
        self,
        names: dict[str, str],
        products: dict[str, set[str]] | None = None,
        words: frozenset[str] = frozenset(),
    ) -> None:
        """Remember the names to remove and rebuild the tokenizer that recognises them.

        Names are matched in any case ("AVRIDE" as "Avride"), except those in ``words``: names
        that the corpus also writes as a plain lower-case word ("May" of "May Mobility" is the
        verb "may" too), matched only as written capitalised or in capitals.
        """
        self.names_ = dict(names)
        self.products_ = {k: set(v) for k, v in (products or {}).items()}
        self.name_words_ = frozenset(words)
        parts = []
        if self._masks:
            parts.append(f"(?P<mask>{self._masks})")
        if self.names_:
            ordered = sorted(self.names_, key=len, reverse=True)
            anycase = "|".join(re.escape(n) for n in ordered if n.lower() not in self.name_words_)
            cased = "|".join(
                f"{re.escape(n)}|{re.escape(n.upper())}" for n in ordered if n.lower() in self.name_words_
            )
            alternatives = "|".join(p for p in (anycase, f"(?-i:{cased})" if cased else "") if p)
            product_words = sorted(set().union(*self.products_.values()), key=len, reverse=True)
            product = (
                f"(?:\\s+(?P<product>{'|'.join(map(re.escape, product_words))}))?" if product_words else ""
            )
            # a first-letter look-ahead lets the regex engine skip most positions at once
            firsts = "".join(sorted({re.escape(c) for n in ordered for c in (n[0].lower(), n[0].upper())}))
            name_pattern = rf"(?<!\w)(?=[{firsts}])(?:{alternatives})(?:['’]s)?{product}(?:['’]s)?(?!\w)"
            # case-insensitive: reports write "AVRIDE" as often as "Avride"
            self._name_re: re.Pattern[str] | None = re.compile(name_pattern, re.IGNORECASE)
            parts.append(f"(?P<name>(?i:{name_pattern}))")
        else:
            self._name_re = None
        parts.append(f"(?P<word>{WORD})")
        self._token_re = re.compile("|".join(parts))

    def _strip_masks_and_names(self, text: str) -> str:
        if self._mask_re is not None:
            text = self._mask_re.sub(" ", text)
        if self._name_re is not None:
            plain = f" {self.name_replacement} " if self.name_replacement else " "
            product = f" {self.product_replacement} "
            text = self._name_re.sub(lambda m: product if m.groupdict().get("product") else plain, text)
            if self.product_replacement:
                # "a Cruise autonomous vehicle" -> "a vehicle", not "a vehicle vehicle"
                word = re.escape(self.product_replacement)
                text = re.sub(rf"(?<!\w){word}\s+(?={word}(?!\w))", "", text)
        return text

    def _reset_memos(self) -> None:
        self._sentence_memo, self._text_memo, self._gram_memo = {}, {}, {}

    def _grams(self, sentence: Sentence, n: int) -> frozenset[tuple[str, ...]]:
        """A sentence's ``n``-grams (memoised: the fit reads each distinct sentence once)."""
        found = self._gram_memo.get(sentence.text)
        if found is None:
            found = self._gram_memo[sentence.text] = sentence.grams(n)
        return found

    def _read(self, text: str) -> list[tuple[int, int, Sentence]]:
        """Each sentence's character span in ``text`` and its reading (memoised until the next fit)."""
        found = self._text_memo.get(text)
        if found is None:
            memo = self._sentence_memo
            found = []
            for a, b in sentence_spans(text):
                piece = text[a:b]
                sentence = memo.get(piece)
                if sentence is None:
                    sentence = memo[piece] = self._read_sentence(piece)
                found.append((a, b, sentence))
            self._text_memo[text] = found
        return found

    def _without_context(self, text: str) -> str:
        """``text`` with the context spans (places, proper nouns, dates) of its sentences blanked."""
        pieces, last = [], 0
        for a, b, sentence in self._read(text):
            pieces.extend((text[last:a], blank(sentence.text, [(s, e) for s, e, _, _ in sentence.context])))
            last = b
        pieces.append(text[last:])
        return "".join(pieces)

    def _read_sentence(self, text: str) -> Sentence:
        spans = tuple(self.context.spans(text)) if self.context is not None else ()
        ends = [end for _, end, _, _ in spans]
        norms, starts, stops, names = [], [], [], []
        for match in self._token_re.finditer(text):
            group = match.lastgroup
            start = match.start()
            if group == "mask":
                norm = MASK_TOKEN
            elif group == "name":
                norm = NAME_TOKEN
                names.append(bare_name(match))
            else:
                word = match.group().lower()
                if not word.isalpha():
                    word = DIGITS.sub("0", word.replace("’", "'"))
                norm = word
                if spans:
                    # a place, product or date compares as a name: "operating in Tempe" = "... in Austin"
                    at = bisect.bisect_right(ends, start)
                    if at < len(spans) and spans[at][0] <= start:
                        norm = NAME_TOKEN
            norms.append(norm)
            starts.append(start)
            stops.append(match.end())
        key = "" if all(w in (MASK_TOKEN, NAME_TOKEN) for w in norms) else " ".join(norms)
        return Sentence(
            text, tuple(norms), tuple(starts), tuple(stops), tuple(names), spans, has_cause_word(text), key
        )
