"""How a reporting source (a company) is named in prose, derived from its label.

The cleaner removes these names so that a company's reports do not cluster together whatever
happened in them. Matching is case-insensitive ("AVRIDE" and "Avride" alike).
"""

from __future__ import annotations

import re
from collections import Counter

from fmviz.offline._text import WORD

__all__ = ["FUNCTION_WORDS", "bare_name", "owner_of", "product_words", "source_names"]

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
_DETERMINER_BEFORE = re.compile(r"(?<!\w)(?:the|a|an|its|our|this|each)\s+$", re.IGNORECASE)


def product_words(
    texts: list[str],
    labels: list[str | None],
    name_re: re.Pattern[str],
    names: dict[str, str],
    min_group_docs: int,
) -> dict[str, set[str]]:
    """Each source's word for its own vehicle: what follows its name in its own documents.

    A word that comes right after a source's name following an article ("the Waymo AV",
    "a Zoox vehicle") in at least a quarter of the source's mentions of its name (and 3
    times) is how the source names its product. Sources with fewer than ``min_group_docs``
    documents learn none.
    """
    followers: dict[str, Counter[str]] = {}
    mentions: Counter[str] = Counter()
    for text, label in zip(texts, labels, strict=True):
        if label is None:
            continue
        for match in name_re.finditer(text):
            if owner_of(names, bare_name(match)) != label:
                continue
            mentions[label] += 1
            if not _DETERMINER_BEFORE.search(text, 0, match.start()):
                continue  # "Waymo is reporting": the name is a subject, not a modifier
            after = re.match(rf"\s+({WORD})", text[match.end() :])
            if after and not re.search(r"['’]s$", match.group()) and after.group(1)[:1].isalpha():
                followers.setdefault(label, Counter())[after.group(1)] += 1
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
