"""The contract of an executor: where the CPU-heavy parts of a run happen.

Two parts of a run are CPU work that grows with the number of episodes and needs no
shared state: decoding and encoding each episode's tail frames for stage 1, and embedding
texts for the offline engine. An executor runs them either in this process (the local
executor, the default) or on a cluster (:mod:`fmviz.executors.ray`). The model calls never
move: they stay in the runner with its cache, ledger, budget and single-flight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from fmviz.episodes import Episode
from fmviz.providers.base import Image
from fmviz.video import TailSpec, encode_frames, select_tail

if TYPE_CHECKING:
    from fmviz.offline.embeddings import Embedder

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "ExecutorFault",
    "TailDecoder",
    "TailFrames",
    "decode_tail",
]

#: Executor names the command line and :class:`~fmviz.engine.EngineOptions` accept.
EXECUTORS = ("local", "ray")

#: One tail as stage 1 sends it: the encoded frames and their times in seconds.
TailFrames = tuple[tuple[Image, ...], list[float]]
#: Decodes one episode's tail: ``decode(episode, tail) -> (images, times)``.
TailDecoder = Callable[[Episode, TailSpec], TailFrames]


class ExecutorError(ValueError):
    """An executor that cannot be used (not installed, no cluster at the address)."""


class ExecutorFault(RuntimeError):
    """The cluster failed mid-job (lost actors, a dead head): the run stops, finished work is kept."""


def decode_tail(episode: Episode, tail: TailSpec) -> TailFrames:
    """Select an episode's tail frames and encode them as JPEG, in this process."""
    clip = select_tail(episode, tail)
    return tuple(encode_frames(clip)), [float(t) for t in clip.times]


class Executor(Protocol):
    """Runs tail decoding and text embedding, here or on a cluster, with the same results."""

    #: ``"local"`` or ``"ray"``.
    name: str

    def tail_decoder(
        self, episodes: Sequence[Episode], tail: TailSpec, wanted: Callable[[Episode], bool]
    ) -> AbstractContextManager[TailDecoder]:
        """A decoder for stage 1, open while the stage runs.

        ``wanted(episode)`` says which episodes will be decoded (the others have frames the
        call cache remembers), so a cluster can start on them before they are asked for.
        """
        ...

    def embedder(self, embedder: Embedder) -> Embedder:
        """``embedder`` with its encoding done by this executor (same model, cache and vectors)."""
        ...
