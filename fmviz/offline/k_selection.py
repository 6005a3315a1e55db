"""Choosing the number of clusters: a silhouette curve over candidate k and a rule that reads it.

The curve is computed on a seeded subsample (fast at 10,000 texts) and kept in the cluster
set's provenance, so a user sees what k was chosen from.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn.metrics import silhouette_score

__all__ = [
    "K_RULES",
    "MAX_MODES",
    "NO_STRUCTURE",
    "WEAK_STRUCTURE",
    "applied_rule",
    "choose_k",
    "default_max_k",
    "silhouette_curve",
    "size_rule_k",
]

K_RULES = ("knee", "max", "parsimony")


#: Kaufman and Rousseeuw (1990): an average silhouette of 0.25 or less means "no substantial
#: structure has been found", and up to 0.50 the structure is "weak and could be artificial".
#: Below 0.50 the curve's peak at a small k is usually one dominant contrast (two reporting
#: templates, day and night), not the set of failure modes.
NO_STRUCTURE = 0.25
WEAK_STRUCTURE = 0.5


#: The most failure modes a default search considers: a longer list is not one anybody reviews.
MAX_MODES = 50


def default_max_k(n: int) -> int:
    """The default largest k: clusters of about five members or more, at least 20 candidates,
    and room for twice the size rule so that its floor is never cut off by the bound (a fixed
    20 did exactly that on a corpus of 1,500 crash narratives, whose curve was still rising)."""
    return max(1, min(n // 5, max(20, min(MAX_MODES, 2 * size_rule_k(n, 1, n)))))


def size_rule_k(n: int, lo: int, hi: int) -> int:
    """The classic rule of thumb ``k = sqrt(n / 2)`` (Mardia et al. 1979), within ``[lo, hi]``."""
    return int(min(max(round(math.sqrt(n / 2)), lo), hi))


def choose_k(
    curve: dict[int, float], rule: str = "knee", tolerance: float = 0.1, *, n: int | None = None
) -> int:
    """Pick k from a ``{k: silhouette}`` curve (see ``Discovery(k_rule=...)``).

    With ``n`` (the number of texts) and a curve that never rises above :data:`WEAK_STRUCTURE`,
    the silhouette is too weak to stop at a small k, and the size rule :func:`size_rule_k` is a
    floor under the rule's choice: real narratives (crash reports score 0.15-0.30 at every k,
    with their best score often at k=2: two reporting styles) then get a number of modes that
    grows with the corpus rather than the 2-7 themes a knee finds in noise, while a knee above
    the floor still wins.
    """
    if n is not None and curve and max(curve.values()) <= WEAK_STRUCTURE:
        ks = sorted(curve)
        return max(choose_k(curve, rule, tolerance), size_rule_k(n, ks[0], ks[-1]))
    ks = sorted(curve)
    scores = np.array([curve[k] for k in ks])
    if rule == "max" or len(ks) < 3:
        return ks[int(np.argmax(scores))]
    if rule == "parsimony":
        top = scores.max()
        return min(k for k in ks if curve[k] >= top - tolerance * abs(top))
    span = scores.max() - scores.min()
    if span <= 0:
        return ks[0]
    x = (np.array(ks) - ks[0]) / (ks[-1] - ks[0])
    y = (scores - scores.min()) / span
    bulge = y - (y[0] + (y[-1] - y[0]) * x)
    if bulge.max() < 0.05:  # no knee (a straight or convex curve): take the best score
        return ks[int(np.argmax(scores))]
    return ks[int(np.argmax(bulge))]


def silhouette_curve(
    x: np.ndarray,
    ks: range,
    fit: Callable[[np.ndarray, int], np.ndarray],
    *,
    sample: int,
    seed: int,
) -> dict[int, float]:
    """``{k: cosine silhouette}`` of ``fit(x_sample, k)`` for each candidate ``k``.

    Parameters
    ----------
    x:
        The clustering features.
    ks:
        Candidate numbers of clusters.
    fit:
        ``(features, k) -> labels``.
    sample:
        Rows (seeded random subset) scored; the whole of ``x`` when it has fewer.
    seed:
        Seed of the subsample.
    """
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    xs = x[np.sort(rng.choice(n, sample, replace=False))] if n > sample else x
    curve: dict[int, float] = {}
    for k in ks:
        if k >= xs.shape[0]:
            break
        labels = fit(xs, k)
        if len(np.unique(labels)) < 2:
            continue
        curve[k] = float(silhouette_score(xs, labels, metric="cosine"))
    return curve


def applied_rule(curve: dict[int, float], rule: str) -> str:
    """How k was read off ``curve``, for provenance: ``rule``, and the size-rule floor if it applied."""
    if curve and max(curve.values()) <= WEAK_STRUCTURE:
        return f"{rule}, at least sqrt(n/2): no silhouette above {WEAK_STRUCTURE} (weak structure at best)"
    return rule
