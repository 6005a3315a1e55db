"""The clip scrubber: each failure's tail frames beside what the model said about it.

Playback runs in the browser (``widgets/scrubber/``): the slider and play/pause never call
the kernel, so a saved notebook or an exported report still plays. The widget's payload has
a budget (``frame_budget_bytes``, default 5 MB of saved notebook for the whole widget):
every episode keeps its text, then one thumbnail each, then whole clips in order while they
fit (:func:`fmviz.views._frames.plan_budget`). With a live kernel, opening an episode whose
frames were not saved sets ``current``; an observer here decodes that episode's tail and
sends it in ``live_clip`` (one episode at a time, so navigation never resends the rest).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import traitlets
from PIL import Image as PILImage
from PIL import ImageDraw

from fmviz.views._frames import EncodedClip, encode_clip, plan_budget, tail_loader, thumbnail_clip
from fmviz.views._widget import FmvizWidget, saved_size

__all__ = ["Scrubber", "ScrubberEpisode"]

DEFAULT_BUDGET = 5_000_000
_OUTLIER = "outlier"


@dataclass
class ScrubberEpisode:
    """One episode as the scrubber shows it (plain inputs; every field but ``id`` optional).

    ``frames`` are ``(H, W, 3)`` uint8 arrays or JPEG/PNG bytes with ``times`` in seconds
    and ``failure_time`` on the same clock (default: the last frame).
    """

    id: str
    frames: Sequence[np.ndarray | bytes] = ()
    times: Sequence[float] | None = None
    failure_time: float | None = None
    context: str = ""
    trajectory: str = ""
    failure_reason: str = ""
    cluster_id: str = ""
    cluster_name: str = ""
    rationale: str = ""
    #: Whether a loader can fetch this episode's frames (``None``: whenever a loader is given).
    has_clip: bool | None = None


class Scrubber(FmvizWidget):
    """Clip scrubber with next / previous, a cluster filter and a jump to outliers.

    Build one with :meth:`from_episodes` (plain inputs) or :meth:`from_run` (a run result).
    Link it to a map so the map's selection filters the list:
    ``fmviz.views.link(map_widget, "selected_ids", scrubber, "filter_ids")``.

    Examples
    --------
    >>> frames = [np.zeros((24, 32, 3), np.uint8)] * 3
    >>> s = Scrubber.from_episodes([ScrubberEpisode("e1", frames, [0.0, 0.5, 1.0], failure_reason="slip")])
    >>> s.current, s.budget_frame()["status"].tolist()
    ('e1', ['frames'])
    """

    _widget_name = "scrubber"

    #: ``[{"id", "context", "trajectory", "failure_reason", "cluster_id", "cluster_name",
    #: "rationale", "outlier", "has_source"}]`` in display order.
    episodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Saved clips: ``{episode_id: {"frames": [jpeg bytes], "times": [s], "failure_index": k}}``.
    clips = traitlets.Dict().tag(sync=True)
    #: One JPEG per episode beyond the budget: ``{episode_id: bytes}``.
    thumbnails = traitlets.Dict().tag(sync=True)
    #: The clip loaded on demand for ``current`` (live kernel only): a clip plus ``"id"``.
    live_clip = traitlets.Dict().tag(sync=True)
    #: Id of the episode in view.
    current = traitlets.Unicode("").tag(sync=True)
    #: Show only this cluster id ("" for all; "outlier" for outliers).
    cluster_filter = traitlets.Unicode("").tag(sync=True)
    #: Show only these episode ids (empty: all); a map's ``selected_ids`` links here.
    filter_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: Playback speed in frames per second.
    fps = traitlets.Float(2.0).tag(sync=True)
    #: Notes the page shows under the frames (e.g. why an episode has no frames).
    notes = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        self._loader: Callable[[str], EncodedClip | None] | None = kwargs.pop("loader", None)
        self._thumbnail_loader: Callable[[str], EncodedClip | None] | None = kwargs.pop(
            "thumbnail_loader", None
        )
        self.frame_budget_bytes: int = int(kwargs.pop("frame_budget_bytes", DEFAULT_BUDGET))
        self._items: dict[str, ScrubberEpisode] = {}
        self._encode: Callable[[ScrubberEpisode], EncodedClip] = lambda item: encode_clip(
            item.frames, item.times
        )
        self._ready = False  # no on-demand loading while the widget is being built
        super().__init__(**kwargs)
        if not self.current and self.episodes:
            self.current = self.episodes[0]["id"]
        self._ready = True

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_episodes(
        cls,
        episodes: Iterable[ScrubberEpisode | Mapping[str, Any]],
        *,
        frame_budget_bytes: int = DEFAULT_BUDGET,
        loader: Callable[[str], EncodedClip | None] | None = None,
        thumbnail_loader: Callable[[str], EncodedClip | None] | None = None,
        max_side: int = 320,
        quality: int = 75,
        **kwargs: Any,
    ) -> Scrubber:
        """A scrubber over plain inputs.

        Parameters
        ----------
        episodes:
            :class:`ScrubberEpisode` objects or dicts with the same keys.
        frame_budget_bytes:
            Most bytes the widget adds to a saved notebook (text, thumbnails, frames).
        loader:
            ``loader(episode_id) -> EncodedClip | None`` for episodes given without frames;
            called while the budget lasts and, with a live kernel, when one is opened.
        thumbnail_loader:
            Like ``loader`` but cheap (one small frame): the thumbnails of episodes beyond
            the budget. Without it those episodes show as text only.
        max_side, quality:
            Size and JPEG quality of frames given as arrays.
        """
        items = [e if isinstance(e, ScrubberEpisode) else ScrubberEpisode(**dict(e)) for e in episodes]
        ids = [str(e.id) for e in items]
        if len(set(ids)) != len(ids):
            raise ValueError("episode ids must be unique in a scrubber")
        if frame_budget_bytes < 0:
            raise ValueError(f"frame_budget_bytes must be >= 0, got {frame_budget_bytes}")
        rows = [
            {
                "id": str(e.id),
                "context": str(e.context or ""),
                "trajectory": str(e.trajectory or ""),
                "failure_reason": str(e.failure_reason or ""),
                "cluster_id": str(e.cluster_id or ""),
                "cluster_name": str(e.cluster_name or e.cluster_id or ""),
                "rationale": str(e.rationale or ""),
                "outlier": str(e.cluster_id) == _OUTLIER,
                "has_source": bool(len(e.frames))
                or (loader is not None and (e.has_clip if e.has_clip is not None else True)),
            }
            for e in items
        ]
        widget = cls(
            episodes=rows,
            loader=loader,
            thumbnail_loader=thumbnail_loader,
            frame_budget_bytes=frame_budget_bytes,
            **kwargs,
        )
        widget._fill_budget(items, max_side=max_side, quality=quality)
        return widget

    @classmethod
    def from_run(cls, run: Any, *, spec: Any = None, thumbnails: bool = True, **kwargs: Any) -> Scrubber:
        """A scrubber over a run result: anything with ``.dataset``, ``.reasons``,
        ``.clusters`` and ``.assignments`` (a :class:`fmviz.run.Run`; its ``current_assignments``,
        edits included, are shown when it has them).

        Tails are decoded with :func:`fmviz.video.select_tail` (``spec``, default 8 frames at
        2 fps, 320 px) only for episodes that fit the budget, and on demand for the rest;
        ``thumbnails=False`` skips the one-frame decode that gives the rest a thumbnail.
        """
        from fmviz.video import TailSpec

        names = run.clusters.names() if run.clusters is not None else {}
        current = getattr(run, "current_assignments", run.assignments)
        episodes = []
        for episode in run.dataset:
            reason = run.reasons.get(episode.id)
            assignment = current.get(episode.id)
            cluster_id = assignment.cluster_id if assignment is not None else ""
            context = "\n".join(f"{k}: {v}" for k, v in episode.context().items() if v and k != "episode_id")
            episodes.append(
                ScrubberEpisode(
                    id=episode.id,
                    context=context,
                    trajectory=reason.trajectory if reason else "",
                    failure_reason=reason.failure_reason if reason else "",
                    cluster_id=cluster_id,
                    cluster_name="Outlier" if cluster_id == _OUTLIER else names.get(cluster_id, cluster_id),
                    rationale=assignment.rationale if assignment is not None else "",
                    has_clip=episode.has_frames,
                )
            )
        thumbs = (
            tail_loader(run.dataset, TailSpec(frames=1, max_side=96), thumbnail_only=True)
            if thumbnails
            else None
        )
        return cls.from_episodes(
            episodes, loader=tail_loader(run.dataset, spec), thumbnail_loader=thumbs, **kwargs
        )

    # ------------------------------------------------------------------ budget & loading

    def _fill_budget(self, items: Sequence[ScrubberEpisode], *, max_side: int, quality: int) -> None:
        """Encode (or load) whole clips in order while the budget lasts, thumbnails after."""
        self._encode = lambda item: encode_clip(
            item.frames, item.times, item.failure_time, max_side=max_side, quality=quality
        )
        self._items = {str(item.id): item for item in items if len(item.frames)}
        base = saved_size(self)
        used = base
        clips: list[EncodedClip | None] = []
        notes: dict[str, str] = {}
        for item in items:
            eid = str(item.id)
            clip: EncodedClip | None = None
            if used < self.frame_budget_bytes:
                clip = self._encode(item) if len(item.frames) else self._load(eid, self._loader)
                used += clip.cost() if clip is not None and clip.frames else 0
            elif len(item.frames):
                clip = thumbnail_clip(item.frames, item.times, item.failure_time)
            else:
                clip = self._load(eid, self._thumbnail_loader)
            if clip is not None and clip.notes:
                notes[eid] = "; ".join(clip.notes)
            clips.append(clip)
        full, thumb = plan_budget(
            base + sum(len(n) + 40 for n in notes.values()), clips, self.frame_budget_bytes
        )
        self.notes = notes
        self.clips = {
            str(it.id): c.payload()
            for it, c, f in zip(items, clips, full, strict=False)
            if f and c is not None
        }
        self.thumbnails = {
            str(it.id): c.thumbnail
            for it, c, t in zip(items, clips, thumb, strict=False)
            if t and c is not None
        }

    @staticmethod
    def _load(episode_id: str, loader: Callable[[str], EncodedClip | None] | None) -> EncodedClip | None:
        return loader(episode_id) if loader is not None else None

    @traitlets.observe("current")
    def _load_current(self, change: dict[str, Any]) -> None:
        episode_id = change["new"]
        if (
            not self._ready
            or not episode_id
            or episode_id in self.clips
            or self.live_clip.get("id") == episode_id
        ):
            return
        if episode_id in self._items:
            clip: EncodedClip | None = self._encode(self._items[episode_id])
        else:
            clip = self._load(episode_id, self._loader)
        if clip is None or not clip.frames:
            if clip is not None and clip.notes:
                self.notes = {**self.notes, episode_id: "; ".join(clip.notes)}
            return
        self.live_clip = {"id": episode_id, **clip.payload()}

    # ------------------------------------------------------------------ reading back

    def budget_frame(self) -> pd.DataFrame:
        """Per episode: ``episode_id``, ``status`` (frames / thumbnail / text) and ``bytes``."""
        rows = []
        for row in self.episodes:
            eid = row["id"]
            if eid in self.clips:
                status, size = "frames", sum(len(f) for f in self.clips[eid]["frames"])
            elif eid in self.thumbnails:
                status, size = "thumbnail", len(self.thumbnails[eid])
            else:
                status, size = "text", 0
            rows.append({"episode_id": eid, "status": status, "bytes": size})
        return pd.DataFrame(rows, columns=["episode_id", "status", "bytes"])

    def to_png(self) -> bytes | None:
        """The episode in view as a still: its failure frame and reason (no widget JS needed)."""
        if not self.episodes:
            return None
        row = next((r for r in self.episodes if r["id"] == self.current), self.episodes[0])
        canvas = PILImage.new("RGB", (560, 220), "white")
        picture = None
        if row["id"] in self.clips:
            clip = self.clips[row["id"]]
            picture = clip["frames"][clip["failure_index"]]
        elif row["id"] in self.thumbnails:
            picture = self.thumbnails[row["id"]]
        if picture:
            with PILImage.open(io.BytesIO(picture)) as image:
                still = image.convert("RGB")
                still.thumbnail((260, 200))
                canvas.paste(still, (10, 10))
        draw = ImageDraw.Draw(canvas)
        lines = [f"{row['id']} - {row['cluster_name'] or 'unassigned'}"]
        lines += textwrap.wrap(row["failure_reason"], 40)[:9]
        draw.multiline_text((280, 10), "\n".join(lines), fill="#222", spacing=4)
        buffer = io.BytesIO()
        canvas.quantize(colors=128).save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
