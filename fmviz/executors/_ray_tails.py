"""Stage-1 tails decoded on Ray, streamed back to the runner's prepare threads in order.

The runner prepares requests a few episodes ahead of the model calls (``prepare`` in
:func:`fmviz.providers.pool.run_pool`). With Ray, one Ray Data job decodes every wanted
tail on an actor pool while a reader thread takes the results as they stream back; each
``prepare`` then waits only for its own episode. The job keeps input order and the reader
holds at most ``buffer`` decoded tails, so a slow model never piles frames up in memory.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from fmviz.episodes import Episode, EpisodeError
from fmviz.executors.base import ExecutorFault, TailFrames, decode_tail
from fmviz.providers.base import Image
from fmviz.video import TailSpec, decoder_threads

__all__ = ["TailStream"]


class TailStream:
    """One Ray Data job decoding ``episodes``' tails; :meth:`decode` hands each one out."""

    def __init__(
        self,
        ray: Any,
        episodes: Sequence[Episode],
        tail: TailSpec,
        *,
        compute: Any,
        blocks: int,
        batch_size: int,
        buffer: int,
    ) -> None:
        self.tail = tail
        self.index = {episode.id: i for i, episode in enumerate(episodes)}
        self.buffer = max(1, buffer)
        self._ready: dict[int, tuple[list[bytes], str, list[float], str]] = {}
        self._done = False
        self._taken: set[int] = set()
        self._failure: BaseException | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        rows = [{"index": i, "episode": pickle.dumps(_portable(e))} for i, e in enumerate(episodes)]
        data = ray.data.from_items(rows, override_num_blocks=blocks)
        data.context.execution_options.preserve_order = True  # the reader's bounded buffer relies on it
        self._out = data.map_batches(
            _TailActor,
            fn_constructor_args=(tail,),
            batch_size=batch_size,
            batch_format="pandas",
            compute=compute,
        )
        self._reader = threading.Thread(target=self._read, name="fmviz-ray-tails", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for batch in self._out.iter_batches(batch_format="pandas", batch_size=None):
                for row in batch.itertuples(index=False):
                    with self._cond:
                        while len(self._ready) >= self.buffer and not self._stop.is_set():
                            self._cond.wait(0.5)
                        if self._stop.is_set():
                            return
                        self._ready[int(row.index)] = (list(row.images), row.mime, list(row.times), row.error)
                        self._cond.notify_all()
        except BaseException as exc:  # a cluster fault: every waiting episode learns of it
            self._failure = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def decode(self, episode: Episode, tail: TailSpec) -> TailFrames:
        """This episode's tail from the cluster (in this process if it was not sent there)."""
        index = self.index.get(episode.id)
        if index is None or tail != self.tail or index in self._taken:
            return decode_tail(episode, tail)  # not sent, or asked again (a later batch round)
        with self._cond:
            while index not in self._ready and not self._done:
                self._cond.wait(0.5)
            row = self._ready.pop(index, None)
            if row is not None:
                self._taken.add(index)
            self._cond.notify_all()
        if row is None:
            cause = self._failure
            raise ExecutorFault(
                f"the Ray tail-decoding job stopped before episode {episode.id!r}: {cause or 'no result'}"
            ) from cause
        images, mime, times, error = row
        if error:
            raise EpisodeError(episode.id, error)
        return tuple(Image(bytes(data), mime) for data in images), [float(t) for t in times]

    def close(self) -> None:
        """Stop reading (a stopped run): the job ends when its iterator is dropped."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._reader.join(timeout=30)


def _portable(episode: Episode) -> Episode:
    """The episode with its file path made absolute, so a worker in another folder finds it."""
    source = episode.source
    if isinstance(source, (str, Path)) and not Path(source).is_absolute():
        return replace(episode, source=str(Path(source).resolve()))
    return episode


class _TailActor:
    """One Ray actor decoding and encoding tails, exactly as the local executor does."""

    def __init__(self, tail: TailSpec) -> None:
        self.tail = tail

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, list[Any]] = {"index": [], "images": [], "mime": [], "times": [], "error": []}
        for index, blob in zip(batch["index"], batch["episode"], strict=True):
            images: tuple[Image, ...] = ()
            times: list[float] = []
            error = ""
            episode = pickle.loads(blob)
            try:
                with decoder_threads(1):  # one actor per CPU: codec threads would only oversubscribe it
                    images, times = decode_tail(episode, self.tail)
            except EpisodeError as exc:
                error = exc.reason
            except Exception as exc:  # a decoder error that escaped the video module
                error = f"could not read frames: {exc}"
            out["index"].append(int(index))
            out["images"].append([image.data for image in images])
            out["mime"].append(images[0].mime_type if images else "image/jpeg")
            out["times"].append([float(t) for t in times])
            out["error"].append(error)
        return pd.DataFrame(out)
