"""Outliers: reasons that belong to no failure mode, decided from the data's own spread.

k-means gives every reason a cluster, so a crash report mixed with drone or kitchen reports
would pull those into the nearest scenario. A fixed cosine threshold cannot tell them apart
either: how similar members are to their centroid depends on the embedding model and on how
long and varied the texts are (the static model puts real crash narratives at 0.8-0.95 from
their centroid, MiniLM lower). :class:`OutlierRule` therefore reads the threshold off the corpus: a
robust lower fence (Tukey's outer fence: first quartile minus ``fence`` interquartile ranges)
of every reason's cosine to its nearest centroid. Reasons below it are outliers at discovery,
are left out of the centroids, and the same threshold is used in stage 3 for new reasons.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OutlierRule"]


class OutlierRule:
    """A corpus-relative cosine threshold below which a reason is an outlier.

    Parameters
    ----------
    fence:
        Interquartile ranges below the first quartile of the cosine to the nearest centroid.
        3 is Tukey's outer fence, his "far out" values (a textbook value chosen before any
        measurement here; on a normal spread it flags about one inlier in a million).
    min_reasons:
        Corpora smaller than this get no data-driven threshold (a median of a handful of
        reasons says nothing); ``floor`` alone applies.
    floor:
        The threshold never goes below this cosine (an absolute "unrelated text" level; the
        offline engine's historic default 0.3 for centroids).

    Examples
    --------
    >>> rule = OutlierRule()
    >>> round(rule.threshold(np.array([0.7, 0.72, 0.68, 0.71, 0.69, 0.7, 0.73, 0.1] * 3)), 3)
    0.61
    """

    def __init__(self, fence: float = 3.0, min_reasons: int = 20, floor: float = 0.3) -> None:
        if fence <= 0:
            raise ValueError(f"fence must be positive, got {fence}")
        self.fence = float(fence)
        self.min_reasons = int(min_reasons)
        self.floor = float(floor)

    def threshold(self, similarity: np.ndarray) -> float:
        """The cosine below which a reason is an outlier, given each reason's best cosine."""
        similarity = np.asarray(similarity, dtype=np.float64)
        if similarity.size < self.min_reasons:
            return self.floor
        q1, q3 = np.percentile(similarity, [25, 75])
        return max(self.floor, float(q1 - self.fence * (q3 - q1)))

    def flag(self, x: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, float]:
        """``(mask of outliers, threshold)`` for embeddings ``x`` clustered as ``labels``.

        Each reason is scored by its cosine to the nearest centroid (not only its own: a reason
        between two modes is not an outlier).
        """
        best = (x @ centroids.T).max(axis=1) if len(centroids) else np.zeros(x.shape[0])
        threshold = self.threshold(best)
        return best < threshold, threshold

    def params(self) -> dict[str, float]:
        """Settings recorded in a cluster set's provenance."""
        return {
            "rule": "Q1 - fence * IQR of the cosine to the nearest centroid",
            "fence": self.fence,
            "floor": self.floor,
        }

    def __repr__(self) -> str:
        return f"OutlierRule(fence={self.fence}, floor={self.floor})"
