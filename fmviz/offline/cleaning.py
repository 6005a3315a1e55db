"""Strip reporting boilerplate and masked spans before embedding.

Real failure narratives carry text that says nothing about the failure: a company's standard
opening and closing sentences, legal notes, ``[XXX]`` redactions. Left in, they dominate the
embeddings and the clusters follow the reporting company instead of the failure (the NHTSA
crash narratives are the textbook case). :class:`TextCleaner` learns such text from the corpus
itself, as sentences (and long word sequences) that recur in a large share of documents once
digits and masked spans are normalised away, removes them, and reports what it removed so the
step is visible and can be switched off.

Each source (a reporting company) has its own standard sentences, and a company with a tenth of
the reports never reaches a corpus-wide share. Given the source of every document, the cleaner
also learns boilerplate per source and drops the sources' own names ("Waymo LLC" -> "Waymo"),
which otherwise pull a company's reports together whatever happened in them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["DEFAULT_MASK_PATTERNS", "REPORT_COLUMNS", "TextCleaner", "source_names"]

#: Redaction markers found in public incident reports: ``[XXX]``, ``[REDACTED ...]``.
DEFAULT_MASK_PATTERNS: tuple[str, ...] = (r"\[X+\]", r"\[REDACTED[^\]]*\]")

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*")
_WORD = r"\w+(?:['’]\w+)*"
_DIGITS = re.compile(r"\d+")
_MASK_TOKEN = "<mask>"
_NAME_TOKEN = "<name>"
_DETERMINER_BEFORE = re.compile(r"(?<!\w)(?:the|a|an|its|our|this|each)\s+$", re.IGNORECASE)
_PLACEHOLDERS = frozenset({_MASK_TOKEN, _NAME_TOKEN})

#: Columns of :meth:`TextCleaner.report`.
REPORT_COLUMNS = ["kind", "pattern", "group", "docs", "doc_share"]

#: Trailing words of a legal name that are not part of how a company is named in prose.
# fmt: off
_CORPORATE_SUFFIXES = frozenset([
    "llc", "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "plc", "gmbh",
    "ag", "sa", "nv", "bv", "lp", "llp", "holdings", "group", "of", "usa", "us", "america", "na",
    "technologies", "technology", "operations", "services",
])
#: Generic words that name no company on their own ("General" of "General Motors").
_GENERIC_WORDS = frozenset([
    "general", "american", "united", "national", "international", "global", "first", "new", "advanced",
    "automated", "autonomous", "auto", "automotive", "motor", "motors", "robotic", "robotics", "research",
    "systems", "technology", "mobility", "smart", "the", "self", "driving", "vehicle", "vehicles",
    "transit", "transport", "north", "south", "east", "west",
])
#: Words that follow a name without naming a product ("Waymo is reporting").
_FUNCTION_WORDS = frozenset([
    "is", "was", "has", "had", "have", "may", "will", "would", "does", "did", "and", "or", "of", "the",
    "a", "an", "to", "in", "on", "at", "for", "with", "by", "from", "that", "as", "also", "not",
])
# fmt: on


#: ``(kind, key, original text, group)`` of one removal; group ``None`` means corpus-wide.
_Removal = tuple[str, str, str, "str | None"]


@dataclass
class _Token:
    norm: str
    start: int
    end: int


class TextCleaner:
    """Learn and remove boilerplate, corpus-wide and per source.

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
        removed), since then the "boilerplate" is the content. Not so when its own source's
        boilerplate was removed: a document made only of that (say, a company's cover note for
        another company's report) says nothing about the failure, and becomes empty.
    enabled:
        ``False`` makes :meth:`transform` return its input unchanged.
    group_doc_share, group_phrase_share:
        With ``groups`` (the source of each document), a sentence or phrase is also boilerplate
        for one source when it appears in at least this share of that source's documents (and in
        at least 3 of them). Applied only to that source's documents.
    min_group_docs:
        Sources with fewer documents learn no boilerplate of their own.
    mask_names:
        With ``groups``, remove the sources' names from every document (see :func:`source_names`)
        and ignore them when comparing sentences, so that "Waymo is reporting this crash" and
        "Transdev is reporting this crash" are one template.
    name_replacement:
        What a removed name becomes; ``""`` (default) drops it ("the Zoox vehicle" -> "the
        vehicle"), ``"the operator"`` would keep a neutral subject.
    product_replacement:
        A source's name followed by its own word for its vehicle (a word that follows the name
        after an article in a quarter of the source's own mentions: "the Waymo AV", "a Zoox
        vehicle", "the Aurora truck") becomes this word, so that every report names its vehicle
        alike. ``None`` keeps the word (the name is still removed).

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
        group_doc_share: float = 0.3,
        group_phrase_share: float = 0.3,
        min_group_docs: int = 10,
        mask_names: bool = True,
        name_replacement: str = "",
        product_replacement: str | None = "vehicle",
    ) -> None:
        if not 0 < min_doc_share <= 1:
            raise ValueError(f"min_doc_share must be in (0, 1], got {min_doc_share}")
        if not 0 < group_doc_share <= 1:
            raise ValueError(f"group_doc_share must be in (0, 1], got {group_doc_share}")
        if phrase_words is not None and phrase_words < 3:
            raise ValueError(f"phrase_words must be at least 3 (or None), got {phrase_words}")
        self.mask_patterns = tuple(mask_patterns)
        self.min_doc_share = float(min_doc_share)
        self.min_docs = int(min_docs)
        self.phrase_words = phrase_words
        self.phrase_doc_share = float(phrase_doc_share)
        self.min_words_left = int(min_words_left)
        self.enabled = enabled
        self.group_doc_share = float(group_doc_share)
        self.group_phrase_share = float(group_phrase_share)
        self.min_group_docs = int(min_group_docs)
        self.mask_names = mask_names
        self.name_replacement = name_replacement
        self.product_replacement = product_replacement
        #: Each source's word for its own vehicle ("AV" of "the Waymo AV"), see ``product_replacement``.
        self.products_: dict[str, set[str]] = {}
        masks = "|".join(f"(?:{p})" for p in self.mask_patterns)
        self._masks = masks
        self._mask_re = re.compile(masks) if masks else None
        self.sentences_: set[str] = set()
        self.phrases_: set[tuple[str, ...]] = set()
        #: Per-source boilerplate: ``{group: sentences}`` and ``{group: phrases}``.
        self.group_sentences_: dict[str, set[str]] = {}
        self.group_phrases_: dict[str, set[tuple[str, ...]]] = {}
        #: Names removed from every document, each with the source it names.
        self.names_: dict[str, str] = {}
        self.n_docs_ = 0
        self._report = pd.DataFrame(columns=REPORT_COLUMNS)
        self.fitted_ = False
        self._set_names({})

    def __repr__(self) -> str:
        if self.fitted_:
            per_group = sum(map(len, self.group_sentences_.values())) + sum(
                map(len, self.group_phrases_.values())
            )
            state = (
                f"{len(self.sentences_)} sentences, {len(self.phrases_)} phrases, "
                f"{per_group} per-group patterns, {len(self.names_)} names"
            )
        else:
            state = "unfitted"
        return f"TextCleaner(min_doc_share={self.min_doc_share}, enabled={self.enabled}, {state})"

    # -- fitting --------------------------------------------------------------------------
    def fit(self, texts: Iterable[str], groups: Sequence[object] | None = None) -> TextCleaner:
        """Find boilerplate sentences and phrases in ``texts``.

        Parameters
        ----------
        texts:
            The documents.
        groups:
            Optional source of each document (e.g. the reporting company), aligned with
            ``texts``; ``None`` entries belong to no group. Enables per-source boilerplate and
            name removal.

        Returns
        -------
        TextCleaner
            ``self``, so ``TextCleaner().fit(texts).transform(texts)`` reads naturally.
        """
        texts = [_as_text(t) for t in texts]
        labels = _group_labels(groups, len(texts))
        self.n_docs_ = len(texts)
        names: dict[str, str] = {}
        if self.mask_names:
            for label in dict.fromkeys(g for g in labels if g is not None):
                for name in source_names(label):
                    names.setdefault(name, label)
        self._set_names(names)
        if names and self.product_replacement is not None:
            self._set_names(names, self._products(texts, labels))
        sentence_sets, phrase_sets = [], []
        for text in texts:
            sentences, phrases = self._units(text)
            sentence_sets.append(sentences)
            phrase_sets.append(phrases)
        self.sentences_, self.phrases_ = self._frequent(
            sentence_sets, phrase_sets, self.min_doc_share, self.phrase_doc_share, self.min_docs
        )
        self.group_sentences_, self.group_phrases_ = {}, {}
        members: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            if label is not None:
                members.setdefault(label, []).append(i)
        for label, rows in members.items():
            if len(rows) < self.min_group_docs:
                continue
            sentences, phrases = self._frequent(
                [sentence_sets[i] for i in rows],
                [phrase_sets[i] for i in rows],
                self.group_doc_share,
                self.group_phrase_share,
                3,
            )
            sentences -= self.sentences_
            phrases -= self.phrases_
            if sentences or phrases:
                self.group_sentences_[label] = sentences
                self.group_phrases_[label] = phrases
        self.fitted_ = True
        self._report = self._tally(texts, labels, members)
        return self

    def fit_transform(self, texts: Iterable[str], groups: Sequence[object] | None = None) -> list[str]:
        """:meth:`fit` then :meth:`transform` the same documents."""
        texts = [_as_text(t) for t in texts]
        return self.fit(texts, groups).transform(texts, groups)

    def _units(self, text: str) -> tuple[set[str], set[tuple[str, ...]]]:
        """A document's sentence keys and ``phrase_words``-grams, each counted once."""
        sentences = self._sentences(text)
        keys = {_key(tokens) for _, _, tokens in sentences} - {""}
        grams: set[tuple[str, ...]] = set()
        if self.phrase_words:
            n = self.phrase_words
            for _, _, tokens in sentences:
                norms = [t.norm for t in tokens]
                grams.update(tuple(norms[i : i + n]) for i in range(len(norms) - n + 1))
        return keys, grams

    @staticmethod
    def _frequent(
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
        phrases = {p for p, c in phrase_df.items() if c >= phrase_threshold and _informative(p)}
        return sentences, phrases

    def _products(self, texts: list[str], labels: list[str | None]) -> dict[str, set[str]]:
        """Each source's word for its own vehicle: what follows its name in its own documents.

        A word that comes right after a source's name following an article ("the Waymo AV",
        "a Zoox vehicle") in at least a quarter of the source's mentions of its name (and 3
        times) is how the source names its product. Sources with fewer than ``min_group_docs``
        documents learn none.
        """
        followers: dict[str, Counter[str]] = {}
        mentions: Counter[str] = Counter()
        assert self._name_re is not None
        for text, label in zip(texts, labels, strict=True):
            if label is None:
                continue
            for match in self._name_re.finditer(text):
                if self.names_.get(_bare_name(match)) != label:
                    continue
                mentions[label] += 1
                if not _DETERMINER_BEFORE.search(text, 0, match.start()):
                    continue  # "Waymo is reporting": the name is a subject, not a modifier
                after = re.match(rf"\s+({_WORD})", text[match.end() :])
                if after and not re.search(r"['’]s$", match.group()) and after.group(1)[:1].isalpha():
                    followers.setdefault(label, Counter())[after.group(1)] += 1
        products = {}
        sizes = Counter(label for label in labels if label is not None)
        for label, counts in followers.items():
            if sizes[label] < self.min_group_docs:
                continue
            words = {w for w, c in counts.items() if c >= max(3, 0.25 * mentions[label])}
            words = {w for w in words if w.lower() not in _FUNCTION_WORDS}
            if words:
                products[label] = words
        return products

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
            self._name_re: re.Pattern[str] | None = re.compile(name_pattern)
            parts.append(f"(?P<name>{name_pattern})")
        else:
            self._name_re = None
        parts.append(f"(?P<word>{_WORD})")
        self._token_re = re.compile("|".join(parts))

    # -- transforming ---------------------------------------------------------------------
    def transform(self, texts: Iterable[str], groups: Sequence[object] | None = None) -> list[str]:
        """Remove learnt boilerplate, masked spans and source names; collapse whitespace.

        Per-source boilerplate is removed only from documents whose entry in ``groups`` is that
        source; names and corpus-wide boilerplate are removed from all.
        """
        texts = [_as_text(t) for t in texts]
        if not self.enabled:
            return texts
        labels = _group_labels(groups, len(texts))
        return [self._clean(text, label)[0] for text, label in zip(texts, labels, strict=True)]

    def _clean(self, text: str, group: str | None = None) -> tuple[str, list[_Removal]]:
        """The cleaned text and what was removed as ``(kind, key, original, group)`` tuples.

        ``group`` in the result is the source whose boilerplate matched, ``None`` corpus-wide.
        """
        cut = [False] * len(text)
        removed: list[_Removal] = []
        n = self.phrase_words or 0
        own_sentences = self.group_sentences_.get(group, set()) if group is not None else set()
        own_phrases = self.group_phrases_.get(group, set()) if group is not None else set()
        for a, b, tokens in self._sentences(text):
            key = _key(tokens)
            if key and (key in self.sentences_ or key in own_sentences):
                cut[a:b] = [True] * (b - a)
                scope = None if key in self.sentences_ else group
                removed.append(("sentence", key, text[a:b].strip(), scope))
                continue
            if not (self.phrases_ or own_phrases) or len(tokens) < n:
                continue
            covered = [False] * len(tokens)
            own = [False] * len(tokens)
            norms = [t.norm for t in tokens]
            for i in range(len(tokens) - n + 1):
                gram = tuple(norms[i : i + n])
                if gram in self.phrases_:
                    covered[i : i + n] = [True] * n
                elif gram in own_phrases:
                    covered[i : i + n] = [True] * n
                    own[i : i + n] = [True] * n
            for first, last in _runs(covered):
                start, end = tokens[first].start, tokens[last].end
                cut[start:end] = [True] * (end - start)
                scope = group if any(own[first : last + 1]) else None
                removed.append(("phrase", " ".join(norms[first : last + 1]), text[start:end], scope))
        kept = "".join(ch if not gone else " " for ch, gone in zip(text, cut, strict=True))
        kept = _tidy(self._strip_masks_and_names(kept))
        own = any(scope is not None for *_, scope in removed)
        if len(re.findall(_WORD, kept)) < self.min_words_left:
            if own:
                return "", removed
            return _tidy(self._strip_masks_and_names(text)), []
        return kept, removed

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

    # -- reporting ------------------------------------------------------------------------
    def report(self) -> pd.DataFrame:
        """What :meth:`fit` found and would remove, most widespread first.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind`` (``sentence``, ``phrase``, ``mask`` or ``name``), ``pattern`` (an
            example of the removed text), ``group`` (the source whose own boilerplate or name it
            is; ``None`` for corpus-wide patterns and masks), ``docs`` (documents it was removed
            from) and ``doc_share`` (``docs`` over the documents of ``group`` for per-source
            boilerplate, over the whole fitted corpus otherwise).
        """
        return self._report.copy()

    def _tally(
        self, texts: list[str], labels: list[str | None], members: dict[str, list[int]]
    ) -> pd.DataFrame:
        docs: Counter[tuple[str, str, str | None]] = Counter()
        examples: dict[tuple[str, str, str | None], str] = {}
        for text, label in zip(texts, labels, strict=True):
            _, removed = self._clean(text, label)
            seen = set()
            for kind, key, original, scope in removed:
                seen.add((kind, key, scope))
                examples.setdefault((kind, key, scope), " ".join(original.split()))
            if self._mask_re is not None:
                for pattern in self.mask_patterns:
                    if re.search(pattern, text):
                        seen.add(("mask", pattern, None))
                        examples.setdefault(("mask", pattern, None), pattern)
            if self._name_re is not None:
                for match in self._name_re.finditer(text):
                    name = _bare_name(match)
                    owner = self.names_.get(name)
                    seen.add(("name", name, owner))
                    examples.setdefault(("name", name, owner), name)
            docs.update(seen)
        rows = []
        for (kind, key, scope), count in docs.items():
            per_group = kind in ("sentence", "phrase") and scope is not None
            n = len(members.get(scope, ())) if per_group and scope is not None else self.n_docs_
            rows.append(
                {
                    "kind": kind,
                    "pattern": examples[(kind, key, scope)],
                    "group": scope,
                    "docs": count,
                    "doc_share": count / max(n, 1),
                }
            )
        frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
        frame = frame.sort_values(["docs", "kind"], ascending=[False, True], ignore_index=True)
        frame["group"] = frame["group"].astype(object).where(frame["group"].notna(), None)
        return frame

    # -- helpers --------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[_Token]:
        tokens = []
        for match in self._token_re.finditer(text):
            if match.lastgroup == "mask":
                norm = _MASK_TOKEN
            elif match.lastgroup == "name":
                norm = _NAME_TOKEN
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


def source_names(label: str) -> list[str]:
    """How a source is named in prose, derived from its label.

    The label itself, the label without corporate suffixes ("Zoox, Inc." -> "Zoox"), its first
    word unless that word is generic ("Waymo LLC" -> "Waymo", but not "General" of "General
    Motors"), and the initials of a multi-word name ("General Motors, LLC" -> "GM").

    Examples
    --------
    >>> source_names("General Motors, LLC")
    ['General Motors, LLC', 'General Motors', 'GM']
    >>> source_names("Zoox, Inc.")
    ['Zoox, Inc.', 'Zoox']
    """
    label = " ".join(str(label).split())
    words = [w for w in re.split(r"[\s,]+", label) if w]
    while len(words) > 1 and words[-1].lower().rstrip(".") in _CORPORATE_SUFFIXES:
        words.pop()
    stripped = " ".join(words)
    names = [label, stripped]
    first = re.match(r"[^\W_]+(?:-[^\W_]+)*", words[0]) if words else None
    if first and len(first.group()) >= 2 and first.group().lower() not in _GENERIC_WORDS:
        names.append(first.group())
    if len(words) >= 2 and all(w[:1].isupper() for w in words):
        initials = "".join(w[0] for w in words if w[0].isalpha())
        if len(initials) >= 2:
            names.append(initials)
    return [n for n in dict.fromkeys(names) if n]


def _bare_name(match: re.Match[str]) -> str:
    """The name in a name match, without a possessive or product word."""
    text = match.group()
    if match.groupdict().get("product"):
        text = text[: match.start("product") - match.start()]
    return re.sub(r"['’]s$", "", text.rstrip())


def _group_labels(groups: Sequence[object] | None, n: int) -> list[str | None]:
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


def _key(tokens: list[_Token]) -> str:
    """A sentence's comparison key ("" for a sentence of masks only)."""
    words = [t.norm for t in tokens]
    return " ".join(words) if any(w not in _PLACEHOLDERS for w in words) else ""


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
    """A phrase made mostly of masks, names and numbers is not a template worth removing."""
    words = [w for w in phrase if w not in _PLACEHOLDERS and w != "0"]
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
