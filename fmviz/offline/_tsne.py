"""Exact t-SNE in numpy for the embedding map's landmarks, and placement of the other points.

UMAP compiles its numba code in every new process (20-40 s on two cores, more than clustering
10,000 narratives takes), and scikit-learn's t-SNE spends seconds on a neighbour index even for
a thousand points. Exact t-SNE (van der Maaten and Hinton, 2008) on at most a thousand points is
a few dense matrix products per step, so it is written here in numpy with scikit-learn's
defaults (perplexity 30, early exaggeration 12 for 250 steps, learning rate ``n / 12 / 4``
(at least 50), momentum 0.5 then 0.8, per-coordinate gains, PCA initialisation), but 500 steps
in float32, not 1,000 in float64: the map is a picture, and the layout settles well before.
"""

from __future__ import annotations

import numpy as np

__all__ = ["place_by_neighbours", "tsne"]


def _affinities(sq: np.ndarray, perplexity: float) -> np.ndarray:
    """Symmetric joint probabilities whose rows have the given perplexity (bisection on precision)."""
    n = sq.shape[0]
    target = np.log(min(perplexity, (n - 1) / 3))
    beta = np.ones(n)
    low, high = np.zeros(n), np.full(n, np.inf)
    off = ~np.eye(n, dtype=bool)
    for _ in range(64):
        p = np.exp(-(sq - sq.min(axis=1, where=off, initial=np.inf)[:, None]) * beta[:, None]) * off
        total = p.sum(axis=1)
        p /= total[:, None]
        entropy = -np.sum(np.where(p > 0, p * np.log(np.maximum(p, 1e-300)), 0.0), axis=1)
        too_flat = entropy > target  # too much entropy: raise the precision
        low = np.where(too_flat, beta, low)
        high = np.where(too_flat, high, beta)
        beta = np.where(np.isinf(high), beta * 2, (low + high) / 2)
        if np.all(np.abs(entropy - target) < 1e-5):
            break
    p = (p + p.T) / (2 * n)
    return np.maximum(p, 1e-12)


def tsne(x: np.ndarray, seed: int = 0, perplexity: float = 30.0, steps: int = 500) -> np.ndarray:
    """2-D exact t-SNE of the rows of ``x`` (a few hundred to a thousand rows); deterministic."""
    from threadpoolctl import threadpool_limits

    # products of an n x 2 matrix are too small for BLAS threads: with them each step is 30x slower
    with threadpool_limits(1):
        return _tsne(x, seed, perplexity, steps)


def _tsne(x: np.ndarray, seed: int, perplexity: float, steps: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    norms = np.sum(x * x, axis=1)
    sq = np.maximum(norms[:, None] + norms[None, :] - 2 * x @ x.T, 0)
    p = _affinities(sq, perplexity).astype(np.float32)
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    y = centred @ vt[:2].T
    if vt.shape[0] < 2:  # pragma: no cover - one dimension only
        y = np.column_stack([y[:, 0], np.zeros(n)])
    y = y / (np.std(y[:, 0]) or 1.0) * 1e-4
    rng = np.random.default_rng(seed)
    y += rng.normal(scale=1e-8, size=y.shape)  # breaks exact ties only
    y = y.astype(np.float32)
    update, gains = np.zeros_like(y), np.ones_like(y)
    rate = max(n / 12.0 / 4.0, 50.0)
    exaggerated = 12.0 * p
    kernel = np.empty((n, n), dtype=np.float32)
    for step in range(steps):
        early = step < 250
        target, momentum = (exaggerated, 0.5) if early else (p, 0.8)
        # Student-t kernel 1 / (1 + |yi - yj|^2), in place: this loop is the whole cost
        yy = np.sum(y * y, axis=1)
        np.matmul(y, y.T, out=kernel)
        kernel *= -2.0
        kernel += yy[:, None]
        kernel += yy[None, :]
        np.maximum(kernel, 0.0, out=kernel)
        kernel += 1.0
        np.reciprocal(kernel, out=kernel)
        np.fill_diagonal(kernel, 0.0)
        weights = kernel * np.float32(-1.0 / kernel.sum())  # -q
        weights += target
        weights *= kernel
        grad = 4.0 * (weights.sum(axis=1)[:, None] * y - weights @ y)
        same = np.sign(grad) == np.sign(update)
        gains = np.maximum(np.where(same, gains * 0.8, gains + 0.2), 0.01)
        update = momentum * update - rate * gains * grad
        y = (y + update).astype(np.float32)
    return (y - y.mean(axis=0)).astype(np.float32)


def place_by_neighbours(
    x: np.ndarray, anchors: np.ndarray, layout: np.ndarray, k: int = 10, chunk: int = 4096
) -> np.ndarray:
    """Each row of ``x`` at the similarity-weighted mean of its ``k`` most similar anchors' positions.

    ``x`` and ``anchors`` have unit rows (cosine = dot product); weights are a softmax of the
    similarities at temperature 0.05, so a point next to one anchor sits on it.
    """
    k = min(k, anchors.shape[0])
    out = np.empty((x.shape[0], 2), dtype=np.float32)
    for start in range(0, x.shape[0], chunk):
        sims = x[start : start + chunk] @ anchors.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(sims, top, axis=1)
        weights = np.exp((near - near.max(axis=1, keepdims=True)) / 0.05)
        weights /= weights.sum(axis=1, keepdims=True)
        out[start : start + chunk] = np.einsum("nk,nkd->nd", weights, layout[top])
    return out
