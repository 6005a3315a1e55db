"""The local executor (the default): everything in this process, exactly as without executors.

Stage 1 decodes each tail on the runner's CPU pool (``prepare`` in
:func:`fmviz.providers.pool.run_pool`), and the embedder encodes in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from fmviz.episodes import Episode
from fmviz.executors.base import TailDecoder, decode_tail
from fmviz.video import TailSpec

if TYPE_CHECKING:
    from fmviz.offline.embeddings import Embedder

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Decode and embed in this process."""

    name = "local"

    def __repr__(self) -> str:
        return "LocalExecutor()"

    @contextmanager
    def tail_decoder(
        self, episodes: Sequence[Episode], tail: TailSpec, wanted: Callable[[Episode], bool]
    ) -> Iterator[TailDecoder]:
        """The in-process decoder; nothing starts ahead (the runner's pool prepares as it goes)."""
        yield decode_tail

    def embedder(self, embedder: Embedder) -> Embedder:
        """The embedder unchanged."""
        return embedder
