"""A static PNG of a heatmap, for viewers that run no widget JavaScript (GitHub's preview).

The same picture the canvas draws, simplified: white-to-blue cells scaled to the values,
the matched cells outlined in red, rows and columns labelled by id (names can be long and
PIL's default font is small; the live widget shows them in full).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

__all__ = ["heatmap_png"]

_LOW, _HIGH = np.array([247, 251, 255]), np.array([8, 48, 107])


def _latin1(text: str, limit: int) -> str:
    return str(text)[:limit].encode("latin-1", "replace").decode("latin-1")


def heatmap_png(
    values: np.ndarray,
    matched: Sequence[tuple[int, int]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    *,
    cell: int = 22,
) -> bytes:
    """PNG bytes of ``values`` (rows x columns) with ``matched`` cells outlined.

    Examples
    --------
    >>> heatmap_png(np.eye(2), [(0, 0), (1, 1)], ["C1", "C2"], ["A", "B"])[:4]
    b'\\x89PNG'
    """
    grid = np.asarray(values, dtype=float).reshape(len(row_labels), len(column_labels))
    finite = grid[np.isfinite(grid)]
    low = min(float(finite.min()), 0.0) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    left, top = 70, 40
    width, height = left + cell * grid.shape[1] + 10, top + cell * grid.shape[0] + 10
    image = PILImage.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i in range(grid.shape[0]):
        draw.text((4, top + i * cell + cell // 3), _latin1(row_labels[i], 10), fill="#222")
        for j in range(grid.shape[1]):
            v = grid[i, j]
            t = (v - low) / (high - low) if np.isfinite(v) and high > low else 0.0
            colour = (
                tuple(int(c) for c in np.round(_LOW + (_HIGH - _LOW) * t)) if np.isfinite(v) else (238,) * 3
            )
            x, y = left + j * cell, top + i * cell
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colour)
    for j, label in enumerate(column_labels):
        draw.text((left + j * cell + 2, 4 + (j % 2) * 14), _latin1(label, 4), fill="#222")
    for i, j in matched:
        x, y = left + j * cell, top + i * cell
        draw.rectangle((x + 1, y + 1, x + cell - 2, y + cell - 2), outline="#d62728", width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
