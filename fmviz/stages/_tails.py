"""Remembered tails: a rerun of stage 1 on videos must not decode every clip again.

A request's cache key holds the digests of its images, so a rerun over 500 cached video
episodes used to decode and encode all 500 tails (minutes of CPU) only to find every
answer in the cache. The call cache now also remembers, per clip tail, what it encoded
to: a fingerprint of the source (path, size, modification time, the failure point and
the :class:`~fmviz.video.TailSpec`) maps to the image digests and frame times. A rerun
builds the request from those digests with :class:`DeferredImage`\\ s, whose bytes are
decoded only if a provider really needs them (the answer is missing or failed).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fmviz.episodes import Episode, EpisodeError
from fmviz.providers.base import Image
from fmviz.video import TailSpec, decoder_threads, encode_frames, select_tail

if TYPE_CHECKING:
    from fmviz.providers.cache import CallCache

__all__ = ["DeferredImage", "remember_tail", "remembered_tail", "tail_fingerprint"]


class DeferredImage(Image):
    """An image known by its digest; its bytes are produced on first use and checked.

    Examples
    --------
    >>> image = DeferredImage(hashlib.sha256(b"jpeg").hexdigest(), "image/jpeg", lambda: b"jpeg")
    >>> image.sha256 == hashlib.sha256(b"jpeg").hexdigest(), image.data
    (True, b'jpeg')
    """

    def __init__(self, digest: str, mime_type: str, load: Callable[[], bytes]) -> None:
        object.__setattr__(self, "mime_type", mime_type)
        object.__setattr__(self, "_digest", digest)
        object.__setattr__(self, "_load", load)

    @property  # type: ignore[override]
    def data(self) -> bytes:
        data = self._load()  # type: ignore[attr-defined]
        if hashlib.sha256(data).hexdigest() != self._digest:  # type: ignore[attr-defined]
            raise ValueError("the remembered frames no longer match the recording")
        return data

    @property
    def sha256(self) -> str:
        return str(self._digest)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"DeferredImage({self.sha256[:12]}..., {self.mime_type!r})"


def tail_fingerprint(episode: Episode, spec: TailSpec) -> str | None:
    """A key for the tail of a file or folder source that changes when the input does."""
    source = episode.source
    if source is None or isinstance(source, np.ndarray):
        return None
    path = Path(source)
    try:
        if path.is_dir():
            files = sorted(
                (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file()
            )
            identity: object = [str(path.resolve()), files]
        else:
            stat = path.stat()
            identity = [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    except OSError:
        return None  # missing: let the decoder report it
    payload = [
        identity,
        episode.failure_frame,
        episode.failure_time,
        episode.fps,
        [spec.frames, spec.fps, spec.max_side],
        "jpeg-85",
    ]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def remembered_tail(
    episode: Episode, spec: TailSpec, cache: CallCache, fingerprint: str
) -> tuple[tuple[Image, ...], list[float]] | None:
    """Deferred images and frame times of a tail encoded before, or None."""
    record = cache.get_tail(fingerprint)
    if record is None:
        return None
    lock = threading.Lock()
    decoded: list[tuple[Image, ...]] = []

    def frames() -> tuple[Image, ...]:
        with lock:
            if not decoded:
                try:
                    with decoder_threads(1):  # may run on any of many request threads
                        decoded.append(encode_frames(select_tail(episode, spec)))
                except EpisodeError:
                    raise
                except Exception as exc:
                    raise EpisodeError(episode.id, f"could not read frames: {exc}") from exc
            return decoded[0]

    def loader(index: int) -> Callable[[], bytes]:
        return lambda: frames()[index].data

    images = tuple(
        DeferredImage(digest, record["mime"], loader(index)) for index, digest in enumerate(record["digests"])
    )
    return images, [float(t) for t in record["times"]]


def remember_tail(cache: CallCache, fingerprint: str, images: tuple[Image, ...], times: list[float]) -> None:
    """Store what a tail encoded to: digests and times, never the images themselves."""
    mime = images[0].mime_type if images else "image/jpeg"
    cache.put_tail(fingerprint, {"digests": [i.sha256 for i in images], "mime": mime, "times": times})
