"""Cluster representations: keyphrases, a failure-mode name and a description from members.

The offline engine has no LLM to name its clusters, so it describes each one the way BERTopic
does: class-based TF-IDF over 1-3-grams picks phrases frequent in the cluster and rare
elsewhere, and maximal marginal relevance over phrase embeddings drops near-duplicates ("glass
door" next to "the glass door"); those are the cluster's keywords. The name is the cluster's
readable clause nearest the cluster's centre that says what happened, headed by its leading
keyphrase ("Glass: sensor looked through the pane", :mod:`fmviz.offline.naming`), falling
back to the two leading keyphrases, and the description says what the members share and quotes
the most typical one. Swap :class:`KeyphraseRepresentation` for anything with the same
``describe`` method to change how clusters are described.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from fmviz.offline.naming import collocations, describe_members, failure_phrases, name_candidates, noun_words

if TYPE_CHECKING:
    from fmviz.offline.embeddings import Embedder

__all__ = ["ClusterDescription", "KeyphraseRepresentation", "c_tf_idf", "keyphrase_name", "mmr"]

#: Auxiliaries scikit-learn's English list lacks; they make empty keyphrases ("did", "got").
_EXTRA_STOP_WORDS = frozenset({"did", "does", "doing", "got", "gets", "just", "able", "also", "like"})
_TOKEN_RE = re.compile(r"\b[a-z][a-z'-]*[a-z]\b")


@dataclass
class ClusterDescription:
    """What a representation says about one cluster."""

    name: str
    keywords: list[str] = field(default_factory=list)
    description: str = ""
    #: Indices (into the clustered texts) of the most representative members, best first.
    representatives: list[int] = field(default_factory=list)


def c_tf_idf(counts: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """Class-based TF-IDF (BERTopic's formula) of a ``(classes, terms)`` count matrix.

    ``tf`` is each term's share of its class's words and ``idf = log(1 + A / f_t)``, with ``A``
    the mean number of words per class and ``f_t`` the term's count over all classes.
    """
    counts = sparse.csr_matrix(counts, dtype=np.float64)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    totals[totals == 0] = 1.0
    tf = sparse.diags(1.0 / totals) @ counts
    term_totals = np.asarray(counts.sum(axis=0)).ravel()
    term_totals[term_totals == 0] = 1.0
    idf = np.log1p(totals.mean() / term_totals)
    return np.asarray((tf @ sparse.diags(idf)).todense())


def mmr(
    target: np.ndarray,
    candidates: np.ndarray,
    top_n: int,
    diversity: float = 0.5,
    relevance: np.ndarray | None = None,
) -> list[int]:
    """Maximal marginal relevance: indices of ``top_n`` candidates near ``target`` but not each other.

    All vectors must be L2-normalised; ``diversity`` 0 ranks by relevance only, 1 by novelty only.
    ``relevance`` overrides the default relevance (cosine similarity to ``target``).
    """
    if len(candidates) == 0:
        return []
    relevance = candidates @ target if relevance is None else np.asarray(relevance, dtype=np.float64)
    similarity = candidates @ candidates.T
    chosen = [int(np.argmax(relevance))]
    remaining = [i for i in range(len(candidates)) if i != chosen[0]]
    while remaining and len(chosen) < top_n:
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        chosen.append(remaining.pop(int(np.argmax(scores))))
    return chosen


class KeyphraseRepresentation:
    """Name and describe clusters with c-TF-IDF keyphrases, MMR and representative members.

    Parameters
    ----------
    ngram_range:
        Word n-gram lengths considered as keyphrases.
    stop_words:
        Passed to scikit-learn's ``CountVectorizer`` (``"english"`` or a list).
    top_n:
        Keywords kept per cluster.
    candidates:
        Top c-TF-IDF phrases offered to MMR.
    diversity:
        MMR trade-off between relevance to the cluster centroid and novelty.
    n_examples:
        Members quoted in the description.
    max_example_chars:
        Length at which a quoted member is cut (at a word boundary).
    max_docs_per_cluster:
        Keyphrases are counted on at most this many seeded-random members per cluster, which
        keeps 10,000 reasons fast; ``None`` counts them all.
    seed:
        Seed of that sample.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        stop_words: str | Sequence[str] | None = "english",
        *,
        top_n: int = 8,
        candidates: int = 20,
        diversity: float = 0.5,
        n_examples: int = 2,
        max_example_chars: int = 160,
        max_docs_per_cluster: int | None = 300,
        seed: int = 0,
    ) -> None:
        self.ngram_range = ngram_range
        self.stop_words = (
            stop_words if isinstance(stop_words, str) or stop_words is None else list(stop_words)
        )
        self.top_n = top_n
        self.candidates = candidates
        self.diversity = diversity
        self.n_examples = n_examples
        self.max_example_chars = max_example_chars
        self.max_docs_per_cluster = max_docs_per_cluster
        self.seed = seed

    def params(self) -> dict[str, object]:
        """Settings recorded in a cluster set's provenance."""
        return {
            "kind": "c-tf-idf+mmr",
            "ngram_range": list(self.ngram_range),
            "top_n": self.top_n,
            "candidates": self.candidates,
            "diversity": self.diversity,
            "max_docs_per_cluster": self.max_docs_per_cluster,
        }

    def describe(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        embeddings: np.ndarray,
        centroids: np.ndarray,
        embedder: Embedder | None = None,
    ) -> list[ClusterDescription]:
        """One :class:`ClusterDescription` per cluster index ``0..len(centroids)-1``.

        Parameters
        ----------
        texts, labels, embeddings:
            The clustered texts, their cluster index and their (normalised) embeddings.
        centroids:
            ``(k, d)`` normalised cluster centroids in the embedding space.
        embedder:
            Embeds candidate phrases for MMR; without it, phrases are ranked by c-TF-IDF alone.
        """
        k = len(centroids)
        keywords = self._keywords(texts, labels, k, centroids, embedder)
        phrases = failure_phrases(texts, labels, k, top_n=8, seed=self.seed)
        n = max(int((labels >= 0).sum()), 1)
        sample = [texts[int(i)] for i in self._sample(labels, k)]
        nouns, fixed_phrases = noun_words(sample), collocations(sample)
        out, taken = [], set()
        for c in range(k):
            members = np.flatnonzero(labels == c)
            closeness = embeddings[members] @ centroids[c]
            order = members[np.argsort(-closeness, kind="stable")]
            reps = [int(i) for i in order[: max(self.n_examples, 5)]]
            words = keywords[c]
            # the readable clause that carries the cluster's distinctive words, else the keyphrases
            ranked = _by_keywords(phrases[c], words)
            fit = self._fit(ranked, centroids[c], embedder)
            candidates = name_candidates(ranked, words, fit, nouns, fixed_phrases)
            # a name another cluster already has gives way to this cluster's next best
            name = next((n for n in candidates if n.lower() not in taken), None)
            name = name or (candidates[0] if candidates else keyphrase_name(words, c))
            taken.add(name.lower())
            typical = [texts[i] for i in reps]
            description = describe_members(ranked[:3], typical, len(members) / n)
            out.append(ClusterDescription(name, words, description, reps))
        return out

    @staticmethod
    def _fit(phrases: list[str], centroid: np.ndarray, embedder: Embedder | None) -> list[float]:
        """Cosine of each phrase to the cluster centroid; rank order without an embedder."""
        if embedder is None or not phrases:
            return [-float(i) for i in range(len(phrases))]
        return [float(v) for v in embedder.embed(list(phrases)) @ centroid]

    def _sample(self, labels: np.ndarray, k: int) -> np.ndarray:
        """Indices of at most ``max_docs_per_cluster`` seeded-random members per cluster."""
        rng = np.random.default_rng(self.seed)
        keep = []
        for c in range(k):
            members = np.flatnonzero(labels == c)
            if self.max_docs_per_cluster and len(members) > self.max_docs_per_cluster:
                members = np.sort(rng.choice(members, self.max_docs_per_cluster, replace=False))
            keep.append(members)
        return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=int)

    def _keywords(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        k: int,
        centroids: np.ndarray,
        embedder: Embedder | None,
    ) -> list[list[str]]:
        keep = self._sample(labels, k)
        texts = [texts[i] for i in keep]
        labels = labels[keep]
        vectorizer = CountVectorizer(
            analyzer=_PhraseAnalyzer(self.ngram_range, self.stop_words),
            min_df=2 if len(texts) >= 50 else 1,
        )
        try:
            counts = vectorizer.fit_transform(texts)
        except ValueError:  # empty vocabulary: every text was stop words
            return [[] for _ in range(k)]
        vocabulary = vectorizer.get_feature_names_out()
        membership = sparse.csr_matrix(
            (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels))
        )
        class_counts = membership @ counts
        doc_presence = membership @ (counts > 0).astype(np.float64)
        scores = c_tf_idf(class_counts)
        shortlists = []
        for c in range(k):
            present = np.asarray(doc_presence[c].todense()).ravel()
            row = np.where(present >= min(2, present.max(initial=0)), scores[c], 0.0)
            top = [i for i in np.argsort(-row, kind="stable")[: self.candidates * 2] if row[i] > 0]
            phrases = _drop_nested([str(vocabulary[i]) for i in top])[: self.candidates]
            weights = {str(vocabulary[i]): float(row[i]) for i in top}
            shortlists.append([(p, weights[p]) for p in phrases])
        if embedder is None:
            return [[p for p, _ in phrases[: self.top_n]] for phrases in shortlists]
        unique = sorted({p for phrases in shortlists for p, _ in phrases})
        vectors = dict(zip(unique, embedder.embed(unique), strict=True)) if unique else {}
        chosen = []
        for c, phrases in enumerate(shortlists):
            if not phrases:
                chosen.append([])
                continue
            matrix = np.stack([vectors[p] for p, _ in phrases])
            weight = np.array([w for _, w in phrases])
            # distinctive (c-TF-IDF) and central (cosine to the centroid) at once
            relevance = np.clip(matrix @ centroids[c], 0, None) * weight / weight.max()
            picks = mmr(centroids[c], matrix, self.top_n, self.diversity, relevance=relevance)
            chosen.append([phrases[i][0] for i in picks])
        return chosen


class _PhraseAnalyzer:
    """Word n-grams that never span a stop word ("did not see the glass door" -> "glass door")."""

    def __init__(self, ngram_range: tuple[int, int], stop_words: str | list[str] | None) -> None:
        self.lo, self.hi = ngram_range
        if stop_words == "english":
            self.stop = frozenset(ENGLISH_STOP_WORDS) | _EXTRA_STOP_WORDS
        else:
            self.stop = frozenset(w.lower() for w in (stop_words or []))

    def __call__(self, text: str) -> list[str]:
        grams: list[str] = []
        run: list[str] = []
        for word in [*_TOKEN_RE.findall(text.lower()), ""]:
            if word and word not in self.stop:
                run.append(word)
                continue
            for n in range(self.lo, self.hi + 1):
                grams.extend(" ".join(run[i : i + n]) for i in range(len(run) - n + 1))
            run = []
        return grams


def _drop_nested(phrases: list[str]) -> list[str]:
    """Keep a phrase only if no better-ranked phrase contains it or is contained in it word-wise."""
    kept: list[str] = []
    for phrase in phrases:
        padded = f" {phrase} "
        if any(padded in f" {other} " or f" {other} " in padded for other in kept):
            continue
        kept.append(phrase)
    return kept


def _by_keywords(phrases: list[str], keywords: list[str]) -> list[str]:
    """Phrases ordered by how many words they share with the leading keyphrases, then by rank.

    A clause is readable; the c-TF-IDF keyphrases are what sets the cluster apart ("glass door").
    The name is the clause that carries most of them.
    """
    lead = keywords[:4]

    def carried(phrase: str) -> int:  # leading keyphrases count more (4, 3, 2, 1)
        words = set(phrase.split())
        return sum(len(lead) - i for i, key in enumerate(lead) if set(key.split()) & words)

    return sorted(phrases, key=lambda p: -carried(p))


def keyphrase_name(keywords: list[str], index: int) -> str:
    """A short title from the two leading keyphrases (the names before failure phrases)."""
    if not keywords:
        return f"Cluster {index + 1}"
    name = " / ".join(keywords[:2])
    return name[0].upper() + name[1:]
