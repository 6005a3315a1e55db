"""Failure-mode names and descriptions from a cluster's own words, without an LLM.

Keyphrases made of single distinctive words name what a cluster's texts mention ("Suv /
contact", "Bowl / apple"), not what went wrong. A safety engineer reads a failure mode as a
short clause ("struck from behind while stopped"). This module takes such clauses from the
members themselves: every 2-5-word span of a clause (text between punctuation) that starts and
ends on a content word, may hold function words inside ("from", "while", "into") and holds no
number or masked token. A span is scored by how much more often the cluster's members use it
than the rest (the log-odds of its document share, weighted by that share, as in class-based
TF-IDF), with spans that hold a word of failure (:data:`~fmviz.offline.context.CAUSE_STEMS`)
or a verb form preferred. No name is a bare generic word (vehicle, robot, incident, report), a
date or a number; places and companies were removed from the texts by the cleaner.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from itertools import pairwise

import numpy as np

from fmviz.offline._text import sentence_spans
from fmviz.offline.context import has_cause_word, is_cause_word

__all__ = [
    "GENERIC_WORDS",
    "collocations",
    "compose_name",
    "describe_members",
    "failure_phrases",
    "name_candidates",
    "noun_words",
    "title",
]

#: Words that say nothing about a failure on their own: parties, reports and time words. A name
#: made only of these (and function words) is rejected.
# fmt: off
GENERIC_WORDS = frozenset({
    "vehicle", "vehicles", "robot", "robots", "incident", "incidents", "report", "reports", "reported",
    "reporting", "av", "avs", "ads", "sv", "cp", "car", "cars", "truck", "suv", "unit", "system", "event",
    "crash", "time", "day", "date", "update", "information", "party", "subject", "operator", "driver",
    "mode", "autonomous", "automated", "approximately", "located", "around", "also", "right", "left",
    "side", "way", "place", "thing", "episode", "failure", "mph", "am", "pm", "passenger",
    # the words of reporting itself (cover notes, updates), which name no failure
    "filed", "dated", "notified", "initial", "unchanged", "submitted", "required", "amended",
    "parties", "contacted", "police", "original", "version", "days", "llc", "inc", "engaged", "near",
    "content", "summary", "details", "log", "logs", "logged", "excerpt",
})
#: Function words allowed inside a phrase, never at its ends ("struck from behind").
_INNER = frozenset({
    "a", "an", "the", "of", "from", "by", "with", "into", "onto", "on", "in", "at", "to", "while",
    "and", "its", "their", "his", "her", "for", "not", "no",
})
#: Particles that may end a phrase but not start one ("struck from behind", "knocked over").
_PARTICLES = frozenset({"behind", "over", "under", "off", "out", "away", "back"})
#: Words that end nothing ("the", "was"), so a phrase cannot end on them, and words never in one.
_STOP = _INNER | frozenset({
    "was", "were", "is", "are", "be", "been", "being", "had", "has", "have", "that", "which", "who",
    "this", "these", "those", "it", "they", "then", "than", "as", "but", "or", "so", "there", "when",
    "after", "before", "did", "does", "do", "would", "could", "should", "may", "might", "will", "can",
    "about", "also", "any", "all", "both", "each", "some", "such", "very", "just", "only", "up", "down",
    "because", "since", "due", "whether", "if", "although", "though", "until", "unless",
})
# fmt: on
_CLAUSE = re.compile(r"[.,;:!?()\[\]\"“”]+|\s-\s|\n")
_TOKEN = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_MIN_WORDS, _MAX_WORDS = 2, 5
#: A phrase must occur in this share of a cluster's members to name it (below, it names a few
#: members, not the mode).
MIN_SHARE = 0.1


def _phrases(text: str) -> set[str]:
    """The candidate phrases of one text (each once)."""
    found: set[str] = set()
    for clause in _CLAUSE.split(text.lower()):
        words = _TOKEN.findall(clause)
        for i, first in enumerate(words):
            if first in _STOP or first in _PARTICLES or len(first) < 3:
                continue
            for n in range(_MIN_WORDS, _MAX_WORDS + 1):
                if i + n > len(words):
                    break
                span = words[i : i + n]
                if any(w in _STOP and w not in _INNER for w in span):
                    break
                last = span[-1]
                if last in _STOP or len(last) < 3:
                    continue
                content = [w for w in span if w not in _STOP]
                if all(w in GENERIC_WORDS for w in content) or last in GENERIC_WORDS:
                    continue
                found.add(" ".join(span))
    return found


def _is_action(phrase: str) -> bool:
    """Holds a failure word or a verb form (past tense or participle)."""
    return any(is_cause_word(w) or (len(w) > 4 and w.endswith(("ed", "ing"))) for w in phrase.split())


def failure_phrases(
    texts: Sequence[str], labels: np.ndarray, k: int, *, top_n: int = 3, max_docs: int = 200, seed: int = 0
) -> list[list[str]]:
    """Up to ``top_n`` distinctive, readable phrases per cluster ``0..k-1``, best first.

    Parameters
    ----------
    texts, labels:
        The clustered texts and their cluster index (negative: outlier, not counted).
    k:
        Number of clusters.
    top_n:
        Phrases returned per cluster.
    max_docs:
        Members read per cluster (a seeded sample), which keeps 10,000 texts fast.
    seed:
        Seed of that sample.
    """
    rng = np.random.default_rng(seed)
    per_cluster: list[Counter[str]] = []
    sizes = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members) > max_docs:
            members = rng.choice(members, max_docs, replace=False)
        counts: Counter[str] = Counter()
        for i in members:
            counts.update(_phrases(texts[int(i)]))
        per_cluster.append(counts)
        sizes.append(max(len(members), 1))
    total = Counter()
    for counts in per_cluster:
        total.update(counts)
    n_all = sum(sizes)
    out = []
    for c, counts in enumerate(per_cluster):
        scored = []
        rest = max(n_all - sizes[c], 1)
        for phrase, df in counts.items():
            share = df / sizes[c]
            if share < MIN_SHARE or df < 2:
                continue
            outside = (total[phrase] - df + 0.5) / (rest + 1)  # smoothed share elsewhere
            lift = math.log(share / outside)
            if lift <= 0:
                continue
            score = share * lift * (1.5 if _is_action(phrase) else 1.0)
            scored.append((score, phrase))
        scored.sort(key=lambda item: (-item[0], item[1]))
        chosen: list[str] = []
        for _, phrase in scored:
            words = set(phrase.split())
            if any(len(words & set(p.split())) * 2 >= len(words) for p in chosen):
                continue  # mostly the same words as a better phrase
            chosen.append(phrase)
            if len(chosen) == top_n:
                break
        out.append(chosen)
    return out


def compose_name(
    phrases: Sequence[str],
    keywords: Sequence[str],
    fit: Sequence[float],
    nouns: Collection[str] | None = None,
) -> str:
    """A name as "what: what happened": the cluster's distinctive subject and its best action clause.

    ``phrases`` are the cluster's readable clauses (:func:`failure_phrases`), ``fit`` how close
    each lies to the cluster's centre (cosine of its embedding to the centroid), ``keywords`` its
    c-TF-IDF keyphrases, best first. The action is the closest clause that holds a failure word
    or a verb ("sensor looked through the pane"), else the closest clause: the nearest to the
    centre sums the members up, where the most distinctive can name a few of them. The subject is
    the leading keyphrase that is not generic and not already in the action ("glass"), so that
    "Glass: sensor looked through the pane" says both what was involved and what happened. With
    ``nouns`` (:func:`noun_words`), a one-word subject must be one of them: "Sustained" or
    "Away" head nothing.
    """
    names = name_candidates(phrases, keywords, fit, nouns)
    return names[0] if names else ""


def name_candidates(
    phrases: Sequence[str],
    keywords: Sequence[str],
    fit: Sequence[float],
    nouns: Collection[str] | None = None,
    phrases_of: Mapping[str, str] | None = None,
) -> list[str]:
    """Every name :func:`compose_name` could give, best first: each action clause (closest to the
    centre first) with each of its possible subjects, then alone. Two clusters that share their
    best name ("Stop: approached the vehicle from behind") can then differ by the next one
    rather than by an id. ``phrases_of`` (:func:`collocations`) turns a one-word subject into
    the fixed phrase it belongs to ("Safety" -> "Safety driver")."""
    if phrases_of:
        keywords = list(dict.fromkeys(phrases_of.get(k, k) for k in keywords))
    order = sorted(range(len(phrases)), key=lambda i: -fit[i])
    actions = [i for i in order if _is_action(phrases[i])]
    out: list[str] = []
    for index in [*actions, *(i for i in order if i not in actions)]:
        action = phrases[index]
        used = set(action.split())
        subjects = [k for k in keywords if _is_subject(k, nouns) and not set(k.split()) & used]
        out.extend(title(f"{subject}: {action}") for subject in subjects)
        out.append(title(action))
    return list(dict.fromkeys(out))


#: Words that mark the next word as a noun phrase ("the glass", "a folding chair").
_DETERMINERS = frozenset({"the", "a", "an", "its", "their", "his", "her", "this", "that", "another"})
#: A word is a noun when at least this share of its uses come right after a determiner.
NOUN_SHARE = 0.25


def noun_words(texts: Sequence[str], min_count: int = 3) -> set[str]:
    """Words these texts mostly use as nouns: often right after a determiner ("the wall").

    No tagger is needed for what a name's subject must be: "the glass", "the desk" and "the
    legs" pass, "sustained", "away" and "yaw" do not.
    """
    after: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for text in texts:
        words = _TOKEN.findall(str(text).lower())
        total.update(words)
        after.update(w for prev, w in pairwise(words) if prev in _DETERMINERS)
    return {w for w, n in total.items() if n >= min_count and after[w] / n >= NOUN_SHARE}


#: Compass headings ("eastbound", "northwest"): where a party was going, never what it was.
_HEADING = re.compile(r"(?:north|south|east|west)+(?:bound|ward|wards)?")


#: A word is one part of a fixed phrase when this share of its uses go on with the same word
#: ("safety" -> "safety driver", "heavy" -> "heavy truck", "parking" -> "parking lot").
COLLOCATION_SHARE = 0.6


def collocations(texts: Sequence[str], min_count: int = 3, max_words: int = 3) -> dict[str, str]:
    """Each word that these texts mostly use inside one fixed phrase, mapped to that phrase.

    A one-word subject such as "Safety" or "Heavy" is half a name; the phrase it belongs to
    ("safety driver", "heavy truck") says what it is.
    """
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        for clause in _CLAUSE.split(str(text).lower()):
            words = _TOKEN.findall(clause)
            for n in range(1, max_words + 1):
                grams.update(zip(*(words[i:] for i in range(n)), strict=False))
    following: dict[tuple[str, ...], Counter[str]] = {}
    for gram, count in grams.items():
        if len(gram) > 1:
            following.setdefault(gram[:-1], Counter())[gram[-1]] = count
    out = {}
    for gram, count in grams.items():
        word = gram[0]
        if len(gram) > 1 or count < min_count or word in _STOP:
            continue
        phrase: tuple[str, ...] = gram
        while len(phrase) < max_words and phrase in following:
            nxt, n = following[phrase].most_common(1)[0]
            if n < COLLOCATION_SHARE * grams[phrase] or nxt in _STOP or len(nxt) < 3:
                break
            phrase = (*phrase, nxt)
        if len(phrase) > 1:
            out[word] = " ".join(phrase)
    return out


def _is_subject(keyword: str, nouns: Collection[str] | None = None) -> bool:
    """A keyphrase that can head a name: content words only, none generic, a failure word, a
    heading or a past participle ("advanced", "equipped"; "speed" is not one). With ``nouns``,
    a one-word subject must be a noun, and an "-ing" word one the texts use as a noun ("the
    parking lot", "a crossing"), not a verb ("traveling")."""
    words = keyword.split()
    if any(len(w) > 4 and w.endswith("ed") and not w.endswith("eed") for w in words):
        return False
    if nouns is not None and (
        (len(words) == 1 and words[0] not in nouns)
        or any(w.endswith("ing") and w not in nouns for w in words)
    ):
        return False
    # a phrase may end on a generic word ("heavy truck", "safety driver"); a word alone may not
    modifiers = words[:-1] if len(words) > 1 else words
    return (
        bool(words)
        and not any(w in GENERIC_WORDS for w in modifiers)
        and all(
            w not in _STOP
            and len(w) > 2
            and w.isalpha()
            and not w.endswith("ly")
            and not is_cause_word(w)
            and not _HEADING.fullmatch(w)
            for w in words
        )
    )


def describe_members(phrases: Sequence[str], typical: str | Sequence[str], share: float) -> str:
    """One or two sentences: what the members have in common, and a typical member's words.

    ``typical`` is the most typical member's text, or several members, most typical first: the
    quoted sentence is the first that holds the leading phrase, else the first that says what
    went wrong in five words or more (not a date-and-place residue such as "On, at 7:13 at.").
    """
    if phrases:
        listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        first = f"Failures marked by {listed} ({share:.0%} of reasons)."
    else:
        first = f"Failures with no phrase in common ({share:.0%} of reasons)."
    members = [typical] if isinstance(typical, str) else list(typical)
    sentence = _typical_sentence(members, phrases[0] if phrases else "")
    return f"{first} Typical: “{sentence}”" if sentence else first


def _typical_sentence(members: Sequence[str], phrase: str, limit: int = 180) -> str:
    """The first sentence of ``members`` holding ``phrase``, else one with a cause word, else any."""
    texts = [" ".join(str(t).split()) for t in members]
    sentences = [text[a:b] for text in texts for a, b in sentence_spans(text)]
    if not sentences:
        return ""
    words = phrase.split()
    pattern = re.compile(r"\W+".join(map(re.escape, words)), re.IGNORECASE) if words else None
    informative = [s for s in sentences if len(s.split()) >= 5]
    sentence = next(
        (s for s in sentences if pattern and pattern.search(s)),
        next((s for s in informative if has_cause_word(s)), informative[0] if informative else sentences[0]),
    )
    if len(sentence) > limit:
        sentence = sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return sentence


def title(phrase: str) -> str:
    """A phrase as a name: first letter capitalised."""
    return phrase[:1].upper() + phrase[1:] if phrase else phrase
