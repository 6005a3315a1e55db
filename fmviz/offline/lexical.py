"""Lexical features: TF-IDF word features reduced by SVD, clustered alongside the embeddings.

Kept apart from the reducers because they read the texts, not the vectors (BERTopic keeps its
vectorizers in their own part too).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from fmviz.offline.embeddings import unit_rows

__all__ = ["LexicalFeatures"]


class LexicalFeatures:
    """TF-IDF over words and word pairs, reduced by truncated SVD (LSA) and row-normalised.

    Sentence embeddings of long, log-like texts are dominated by what every text shares
    (speeds, lighting, boilerplate), while the cause is often one distinctive word ("glass",
    "mast"); LSA features keep that signal. Discovery clusters embeddings and these together.
    """

    def __init__(self, n_components: int = 32, ngram_range: tuple[int, int] = (1, 2), seed: int = 0) -> None:
        self.n_components = n_components
        self.ngram_range = ngram_range
        self.seed = seed

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray | None:
        """``(n, c)`` features, or ``None`` when the texts have too little vocabulary."""
        vectorizer = TfidfVectorizer(
            stop_words="english",
            sublinear_tf=True,
            min_df=2 if len(texts) >= 20 else 1,
            ngram_range=self.ngram_range,
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
            dtype=np.float32,
        )
        try:
            tfidf = vectorizer.fit_transform(texts)
        except ValueError:  # empty vocabulary
            return None
        n_components = min(self.n_components, tfidf.shape[1] - 1, len(texts) - 1)
        if n_components < 2:
            return None
        return unit_rows(TruncatedSVD(n_components=n_components, random_state=self.seed).fit_transform(tfidf))

    def __repr__(self) -> str:
        return f"LexicalFeatures(tfidf{self.ngram_range}+svd{self.n_components})"
