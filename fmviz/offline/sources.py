"""How a reporting source (a company) is named in prose, derived from its label.

The cleaner removes these names so that a company's reports do not cluster together whatever
happened in them. Matching is case-insensitive ("AVRIDE" and "Avride" alike).
"""

from __future__ import annotations

import re
from collections import Counter

from fmviz.offline._text import WORD, sentence_spans

__all__ = [
    "FUNCTION_WORDS",
    "bare_name",
    "name_words",
    "owner_of",
    "product_words",
    "sentence_counts",
    "source_names",
]

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
FUNCTION_WORDS = frozenset([
    "is", "was", "has", "had", "have", "may", "will", "would", "does", "did", "and", "or", "of", "the",
    "a", "an", "to", "in", "on", "at", "for", "with", "by", "from", "that", "as", "also", "not",
])
# fmt: on


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


def bare_name(match: re.Match[str]) -> str:
    """The name in a name match, without a possessive or product word."""
    text = match.group()
    if match.groupdict().get("product"):
        text = text[: match.start("product") - match.start()]
    return re.sub(r"['’]s$", "", text.rstrip())


def owner_of(names: dict[str, str], name: str) -> str | None:
    """The source a matched name belongs to, whatever its case ("WAYMO" -> "Waymo LLC")."""
    if name in names:
        return names[name]
    folded = name.casefold()
    return next((owner for known, owner in names.items() if known.casefold() == folded), None)


#: An article or possessive right before a name makes the name a modifier ("the Waymo AV").
_WINDOW = 40
_NEXT_WORD = re.compile(rf"\s+({WORD})")
_POSSESSIVE = re.compile(r"['’]s$")
_DETERMINER_BEFORE = re.compile(r"(?<!\w)(?:the|a|an|its|our|this|each)\s+$", re.IGNORECASE)


def sentence_counts(texts: list[str], labels: list[str | None]) -> Counter[tuple[str, str | None]]:
    """How often each ``(sentence, source)`` occurs: reports repeat sentences, so reading each once
    and weighting it by its count does the work of reading every document."""
    counts: Counter[tuple[str, str | None]] = Counter()
    for text, label in zip(texts, labels, strict=True):
        counts.update((text[a:b], label) for a, b in sentence_spans(text))
    return counts


def product_words(
    sentences: Counter[tuple[str, str | None]],
    labels: list[str | None],
    name_re: re.Pattern[str],
    names: dict[str, str],
    min_group_docs: int,
) -> dict[str, set[str]]:
    """Each source's word for its own vehicle: what follows its name in its own documents.

    A word that comes right after a source's name following an article ("the Waymo AV",
    "a Zoox vehicle") in at least a quarter of the source's mentions of its name (and 3
    times) is how the source names its product. Sources with fewer than ``min_group_docs``
    documents learn none. ``sentences`` is :func:`sentence_counts` of the documents.
    """
    followers: dict[str, Counter[str]] = {}
    mentions: Counter[str] = Counter()
    owners: dict[str, str | None] = {}
    for (text, label), count in sentences.items():
        if label is None:
            continue
        for match in name_re.finditer(text):
            name = bare_name(match)
            if name not in owners:
                owners[name] = owner_of(names, name)
            if owners[name] != label:
                continue
            mentions[label] += count
            # the article is in the few characters before the name (a window, not the whole prefix)
            if not _DETERMINER_BEFORE.search(text, max(0, match.start() - _WINDOW), match.start()):
                continue  # "Waymo is reporting": the name is a subject, not a modifier
            after = _NEXT_WORD.match(text, match.end())
            if after and not _POSSESSIVE.search(match.group()) and after.group(1)[:1].isalpha():
                followers.setdefault(label, Counter())[after.group(1)] += count
    products = {}
    sizes = Counter(label for label in labels if label is not None)
    for label, counts in followers.items():
        if sizes[label] < min_group_docs:
            continue
        words = {w for w, c in counts.items() if c >= max(3, 0.25 * mentions[label])}
        words = {w for w in words if w.lower() not in FUNCTION_WORDS}
        if words:
            products[label] = words
    return products


#: A name is also a plain word of the corpus when written in lower case in this many sentences
#: at least, and at least as often as it is written capitalised or in capitals.
WORD_SENTENCES = 3


def name_words(sentences: Counter[tuple[str, str | None]], names: dict[str, str]) -> frozenset[str]:
    """One-word names that the corpus mostly writes as a lower-case word ("may" of "May Mobility").

    Such a name is removed only where it is written as a name (capitalised or in capitals), or
    the cleaner would strip "may" from every sentence that says a driver may have braked. A name
    the corpus writes in lower case now and then ("an avride shuttle") is still a name.
    ``sentences`` is :func:`sentence_counts` of the documents.
    """
    candidates = sorted({n.lower() for n in names if re.fullmatch(r"[^\W\d_]+", n) and not n.islower()})
    if not candidates:
        return frozenset()
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, candidates))})(?!\w)", re.IGNORECASE)
    in_sentences: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    cased: Counter[str] = Counter()
    for (text, _), count in sentences.items():
        seen = set()
        for word in pattern.findall(text):
            if word.islower():
                lower[word] += count
                seen.add(word)
            else:
                cased[word.lower()] += count
        for word in seen:
            in_sentences[word] += count
    return frozenset(w for w in candidates if in_sentences[w] >= WORD_SENTENCES and lower[w] >= cased[w])
