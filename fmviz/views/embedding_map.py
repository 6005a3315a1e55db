"""The embedding-map widget: every reason as a point, coloured by failure mode, selectable.

A canvas front end (``widgets/embedding_map/``) draws the points straight into pixels, so
100,000 of them render in well under a second; coordinates and cluster indices travel as
float32 / int32 binary, never as JSON lists. Box and lasso selection set ``selected_ids``
(a synced trait: Python reads it with :meth:`EmbeddingMap.selected_frame`, other views
follow it in the browser through :func:`fmviz.views.link`). ``highlight_cluster`` dims every
point outside one cluster; the cluster editor drives it with a link.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import traitlets
from PIL import Image as PILImage
from PIL import ImageDraw

from fmviz.video import natural_key
from fmviz.views._widget import FmvizWidget, TypedArray

__all__ = ["EmbeddingMap"]

_OUTLIER = "outlier"
#: Longest hover text sent per point: 100,000 full reasons would be tens of MB.
MAX_HOVER_CHARS = 240
_PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#86bcb6", "#a0cbe8", "#ffbe7d", "#8cd17d", "#f1ce63",
    "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e", "#499894", "#b6992d",
)  # fmt: skip


class EmbeddingMap(FmvizWidget):
    """A 2-D map of reasons coloured by cluster, with hover, box and lasso selection.

    Build one with :meth:`from_frame` (an ``embedding_map`` DataFrame) or :meth:`from_run`.

    Examples
    --------
    >>> m = EmbeddingMap.from_points([0, 1], [0, 1], ["a", "b"], ["c1", "outlier"])
    >>> m.selected_ids = ["b"]
    >>> m.selected_frame()["episode_id"].tolist()
    ['b']
    """

    _widget_name = "embedding_map"

    x = TypedArray("float32")
    y = TypedArray("float32")
    #: Index into ``clusters`` per point; -1 for outliers and unassigned points.
    cluster_index = TypedArray("int32")
    #: ``[{"id", "name", "count"}]`` in legend order.
    clusters = traitlets.List(traitlets.Dict()).tag(sync=True)
    episode_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    texts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: Episode ids chosen with the box or lasso (in point order).
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: A cluster id whose points stand out ("" for none).
    highlight_cluster = traitlets.Unicode("").tag(sync=True)
    #: Point diameter in CSS pixels; ``from_points`` picks 5 up to 2,000 points, else 3.
    point_size = traitlets.Float(3.0).tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    @classmethod
    def from_points(
        cls,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float] | np.ndarray,
        episode_ids: Sequence[str],
        cluster_ids: Sequence[str],
        cluster_names: dict[str, str] | Sequence[str] | None = None,
        texts: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> EmbeddingMap:
        """The map from plain inputs.

        Parameters
        ----------
        x, y:
            Coordinates, one per point (cast to float32).
        episode_ids:
            One id per point (what ``selected_ids`` holds).
        cluster_ids:
            One cluster id per point; ``"outlier"`` or ``""`` for none.
        cluster_names:
            ``{cluster_id: name}``, or one name per point; default: the ids.
        texts:
            Hover text per point (shown as plain text, cut at ``MAX_HOVER_CHARS``).
        **kwargs:
            Other traits (``title``, ``height``, ``point_size``, ``highlight_cluster``).

        Examples
        --------
        >>> EmbeddingMap.from_points([0.0], [1.0], ["e1"], ["c1"], {"c1": "Slip"}).clusters[0]["name"]
        'Slip'
        """
        n = len(episode_ids)
        xs, ys = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
        if xs.shape != (n,) or ys.shape != (n,) or len(cluster_ids) != n:
            raise ValueError(
                f"x, y, episode_ids and cluster_ids must have one entry per point: got {xs.shape[0]}, "
                f"{ys.shape[0]}, {n}, {len(cluster_ids)}"
            )
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
            raise ValueError("x and y must be finite numbers (no NaN or infinity)")
        if texts is not None and len(texts) != n:
            raise ValueError(f"texts must have one entry per point: got {len(texts)} for {n} points")
        ids = [str(c) if c is not None and c == c else "" for c in cluster_ids]
        if isinstance(cluster_names, dict) or cluster_names is None:
            names = {str(k): str(v) for k, v in (cluster_names or {}).items()}
        else:
            names = {}
            for cid, name in zip(ids, cluster_names, strict=False):
                names.setdefault(cid, str(name))
        order = sorted({c for c in ids if c and c != _OUTLIER}, key=natural_key)
        position = {cid: i for i, cid in enumerate(order)}
        index = np.fromiter((position.get(c, -1) for c in ids), dtype=np.int32, count=n)
        counts = np.bincount(index[index >= 0], minlength=len(order))
        clusters = [
            {"id": cid, "name": names.get(cid, cid), "count": int(counts[i])} for i, cid in enumerate(order)
        ]
        outliers = int(np.sum(index < 0))
        if outliers:
            clusters.append({"id": _OUTLIER, "name": "Outlier", "count": outliers})
        kwargs.setdefault("point_size", 5.0 if n <= 2000 else 3.0)
        hover = ["" if t is None else str(t)[:MAX_HOVER_CHARS] for t in (texts or [""] * n)]
        return cls(
            x=xs,
            y=ys,
            cluster_index=index,
            clusters=clusters,
            episode_ids=[str(e) for e in episode_ids],
            texts=hover,
            **kwargs,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **kwargs: Any) -> EmbeddingMap:
        """The map of an ``embedding_map`` DataFrame (``x, y, episode_id, cluster_id``, and
        optionally ``cluster_name`` and ``text``), as ``Run.embedding_map`` holds it.

        Examples
        --------
        >>> frame = pd.DataFrame({"x": [0.0], "y": [0.0], "episode_id": ["e"], "cluster_id": ["c"]})
        >>> EmbeddingMap.from_frame(frame).episode_ids
        ['e']
        """
        missing = {"x", "y", "episode_id", "cluster_id"} - set(frame.columns)
        if missing:
            raise ValueError(f"the embedding-map frame lacks column(s) {', '.join(sorted(missing))}")
        names = None
        if "cluster_name" in frame.columns:
            names = dict(
                zip(frame["cluster_id"].astype(str), frame["cluster_name"].astype(str), strict=False)
            )
        texts = frame["text"].fillna("").astype(str).tolist() if "text" in frame.columns else None
        return cls.from_points(
            frame["x"].to_numpy(),
            frame["y"].to_numpy(),
            frame["episode_id"].astype(str).tolist(),
            frame["cluster_id"].fillna("").astype(str).tolist(),
            names,
            texts,
            **kwargs,
        )

    @classmethod
    def from_run(cls, run: Any, **kwargs: Any) -> EmbeddingMap:
        """The map of a run result: anything with an ``embedding_map`` DataFrame (a
        :class:`fmviz.run.Run`); colours follow its current (edited) assignments and cluster
        names come from ``run.clusters``.
        """
        frame = getattr(run, "embedding_map", None)
        if frame is None:
            raise ValueError("this run has no embedding map: run the pipeline with embedding_map=True")
        frame = frame.copy()
        current = getattr(run, "current_assignments", None)
        if current is not None:
            labels = current.labels()
            frame["cluster_id"] = [
                labels.get(str(e), c) for e, c in zip(frame["episode_id"], frame["cluster_id"], strict=True)
            ]
        clusters = getattr(run, "clusters", None)
        if clusters is not None:
            names = clusters.names()
            frame["cluster_name"] = [names.get(str(c), str(c)) for c in frame["cluster_id"]]
        return cls.from_frame(frame, **kwargs)

    def frame(self) -> pd.DataFrame:
        """Every point: ``episode_id, cluster_id, cluster_name, x, y, text``."""
        ids = [c["id"] for c in self.clusters if c["id"] != _OUTLIER]
        names = {c["id"]: c["name"] for c in self.clusters}
        index = self.cluster_index
        cluster_ids = [ids[i] if i >= 0 else _OUTLIER for i in index.tolist()]
        return pd.DataFrame(
            {
                "episode_id": self.episode_ids,
                "cluster_id": cluster_ids,
                "cluster_name": [names.get(c, c) for c in cluster_ids],
                "x": self.x,
                "y": self.y,
                "text": self.texts,
            }
        )

    def selected_frame(self) -> pd.DataFrame:
        """The selected points (``selected_ids``) as a DataFrame, in point order."""
        frame = self.frame()
        return frame[frame["episode_id"].isin(set(self.selected_ids))].reset_index(drop=True)

    def to_png(self) -> bytes | None:
        """A static scatter of the points (the fallback for viewers without widget JS)."""
        n = len(self.episode_ids)
        if not n:
            return None
        width, height = 480, 320
        image = PILImage.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        xs, ys = self.x.astype(np.float64), self.y.astype(np.float64)
        span_x = max(float(xs.max() - xs.min()), 1e-9)
        span_y = max(float(ys.max() - ys.min()), 1e-9)
        px = 10 + (xs - xs.min()) / span_x * (width - 20)
        py = height - 10 - (ys - ys.min()) / span_y * (height - 20)
        step = max(1, n // 20000)
        for i in range(0, n, step):
            k = int(self.cluster_index[i])
            colour = _PALETTE[k % len(_PALETTE)] if k >= 0 else "#b0b0b0"
            draw.rectangle((px[i] - 1, py[i] - 1, px[i] + 1, py[i] + 1), fill=colour)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
