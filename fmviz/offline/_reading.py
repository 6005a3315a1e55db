"""How the cleaner reads a text: tokens with masks, source names and context as placeholders.

:class:`TextCleaner <fmviz.offline.cleaning.TextCleaner>` compares sentences across documents
after turning masked spans, the sources' names and context spans (places, proper nouns, dates)
into placeholders, so that "operating in Tempe" and "operating in Austin" are one template. This
mixin holds that reading (and its memo, since a fit reads every text three times); the cleaner
decides what is boilerplate.
"""

from __future__ import annotations

import bisect
import re

from fmviz.offline._text import DIGITS, MASK_TOKEN, NAME_TOKEN, WORD, Token, sentence_spans
from fmviz.offline.context import ContextMasker

__all__ = ["Reading"]


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
    _span_memo: dict[str, list[tuple[int, int, str, str]]]
    _sentence_memo: dict[str, list[tuple[int, int, list[Token]]]]

    def _set_names(self, names: dict[str, str], products: dict[str, set[str]] | None = None) -> None:
        """Remember the names to remove and rebuild the tokenizer that recognises them."""
        self.names_ = dict(names)
        self.products_ = {k: set(v) for k, v in (products or {}).items()}
        parts = []
        if self._masks:
            parts.append(f"(?P<mask>{self._masks})")
        if self.names_:
            alternatives = "|".join(re.escape(n) for n in sorted(self.names_, key=len, reverse=True))
            words = sorted(set().union(*self.products_.values()), key=len, reverse=True)
            product = f"(?:\\s+(?P<product>{'|'.join(map(re.escape, words))}))?" if words else ""
            name_pattern = rf"(?<!\w)(?:{alternatives})(?:['’]s)?{product}(?:['’]s)?(?!\w)"
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

    def _tokens(self, text: str) -> list[Token]:
        tokens = []
        spans = self._context_spans(text)
        ends = [end for _, end, _, _ in spans]
        for match in self._token_re.finditer(text):
            if match.lastgroup == "mask":
                norm = MASK_TOKEN
            elif match.lastgroup == "name":
                norm = NAME_TOKEN
            else:
                # a place, product or date compares as a name: "operating in Tempe" = "... in Austin"
                at = bisect.bisect_right(ends, match.start())
                inside = at < len(spans) and spans[at][0] <= match.start()
                word = match.group().lower()
                if not word.isalpha():
                    word = DIGITS.sub("0", word.replace("’", "'"))
                norm = NAME_TOKEN if inside else word
            tokens.append(Token(norm, match.start(), match.end()))
        return tokens

    def _context_spans(self, text: str) -> list[tuple[int, int, str, str]]:
        """Places, proper nouns and dates of ``text`` (memoised: fit and transform ask repeatedly)."""
        if self.context is None:
            return []
        found = self._span_memo.get(text)
        if found is None:
            found = self._span_memo[text] = self.context.spans(text)
        return found

    def _sentences(self, text: str) -> list[tuple[int, int, list[Token]]]:
        """Each sentence's character span and normalised tokens (memoised until the next fit)."""
        found = self._sentence_memo.get(text)
        if found is None:
            found = self._sentence_memo[text] = self._split(text)
        return found

    def _split(self, text: str) -> list[tuple[int, int, list[Token]]]:
        tokens = self._tokens(text)
        out, i = [], 0
        for a, b in sentence_spans(text):
            while i < len(tokens) and tokens[i].start < a:
                i += 1
            j = i
            while j < len(tokens) and tokens[j].start < b:
                j += 1
            out.append((a, b, tokens[i:j]))
            i = j
        return out
