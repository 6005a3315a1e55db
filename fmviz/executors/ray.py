"""The Ray executor: tail decoding and text embedding on a Ray cluster through Ray Data.

Past one machine, the CPU parts of a run (decoding and JPEG-encoding every episode's tail
for stage 1; embedding every text for the offline engine) go to a Ray cluster as Ray Data
pipelines: ``from_items`` rows, ``map_batches`` on a pool of actors (one per worker CPU by
default; the embedding model is loaded once per actor), results streamed back and put in
input order. The model calls stay in this process, in the runner with its cache, ledger,
budget and single-flight, so a cluster changes where frames are made, never what is asked
or paid. Results are the same as the local executor's: the same JPEG bytes (same digests,
same cache keys) and the same embeddings within float tolerance.

Small jobs stay in this process (fewer than ``min_rows`` items), since shipping them costs
more than doing them. Connecting: an existing ``ray.init(...)`` is used as it is; otherwise
``address`` (or ``$RAY_ADDRESS``) names the cluster, and with neither a local one starts.
Ray is an optional extra: ``pip install 'fmviz[ray]'``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from fmviz.episodes import Episode
from fmviz.executors._ray_tails import TailStream
from fmviz.executors.base import ExecutorError, ExecutorFault, TailDecoder, decode_tail
from fmviz.offline.embeddings import Embedder
from fmviz.video import TailSpec

__all__ = ["DEFAULT_MIN_ROWS", "RayEmbedder", "RayExecutor", "require_ray"]

#: Below this many items a job runs in this process (``$FMVIZ_RAY_MIN_ROWS`` overrides it).
DEFAULT_MIN_ROWS = 500

_INSTALL = "the Ray executor needs Ray Data: pip install 'fmviz[ray]' (or pip install 'ray[data]>=2.40')"


def require_ray() -> Any:
    """The ``ray`` module with Ray Data, or one clear line saying how to install it."""
    try:
        import ray
        import ray.data  # Ray without the data extra lacks pyarrow and friends
    except ImportError as exc:
        raise ExecutorError(_INSTALL) from exc
    return ray


class RayExecutor:
    """Decode tails and embed texts on a Ray cluster with Ray Data actor pools.

    Parameters
    ----------
    address:
        Cluster address (``ray://...``, ``HOST:PORT`` or ``auto``); ``None`` uses a running
        ``ray.init`` session, else ``$RAY_ADDRESS``, else starts Ray on this machine.
    workers:
        Actors per job; ``None`` is one per CPU of the cluster.
    min_rows:
        Jobs smaller than this run in this process; ``None`` reads ``$FMVIZ_RAY_MIN_ROWS``
        (default :data:`DEFAULT_MIN_ROWS`).
    batch_size:
        Rows per ``map_batches`` call (per actor call).

    Examples
    --------
    >>> import ray; ray.init(address="auto")                        # doctest: +SKIP
    >>> run_pipeline(ds, options=EngineOptions(executor="ray"))      # doctest: +SKIP
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        min_rows: int | None = None,
        batch_size: int = 16,
    ) -> None:
        self.ray = require_ray()
        self.address = address
        self.workers = workers
        if min_rows is None:
            min_rows = int(os.environ.get("FMVIZ_RAY_MIN_ROWS", DEFAULT_MIN_ROWS))
        self.min_rows = max(0, int(min_rows))
        self.batch_size = max(1, int(batch_size))
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, workers={self.workers}, min_rows={self.min_rows})"

    # -- cluster --------------------------------------------------------------------------
    def connect(self) -> Any:
        """Join the cluster (once); an existing ``ray.init`` session is used as it is."""
        ray = self.ray
        with self._lock:
            if not ray.is_initialized():
                try:
                    ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
                except Exception as exc:  # Ray raises bare Exceptions for a node that fails to start
                    where = self.address or os.environ.get("RAY_ADDRESS") or "this machine"
                    raise ExecutorError(f"could not start or reach a Ray cluster at {where}: {exc}") from exc
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # fmviz shows its own bar as results stream back
            context.print_on_execution_start = False
            logging.getLogger("ray.data").setLevel(logging.WARNING)
        return ray

    def pool_size(self) -> int:
        """Actors per job: ``workers``, else one per CPU in the cluster."""
        if self.workers:
            return int(self.workers)
        return max(1, int(self.connect().cluster_resources().get("CPU", 1)))

    def compute(self) -> Any:
        """A fixed-size actor pool of :meth:`pool_size` actors."""
        return self.ray.data.ActorPoolStrategy(size=self.pool_size())

    def blocks(self, rows: int) -> int:
        """Blocks to split ``rows`` into: enough for every actor to have several batches."""
        return max(1, min(rows, max(self.pool_size() * 4, -(-rows // (self.batch_size * 4)))))

    # -- stage 1 --------------------------------------------------------------------------
    @contextmanager
    def tail_decoder(
        self, episodes: Sequence[Episode], tail: TailSpec, wanted: Callable[[Episode], bool]
    ) -> Iterator[TailDecoder]:
        """Start decoding the wanted tails on the cluster; the decoder waits for each one."""
        todo = [episode for episode in episodes if wanted(episode)]
        if len(todo) < max(1, self.min_rows):
            yield decode_tail
            return
        workers = self.pool_size()
        stream = TailStream(
            self.connect(),
            todo,
            tail,
            compute=self.compute(),
            blocks=self.blocks(len(todo)),
            batch_size=self.batch_size,
            buffer=max(64, workers * self.batch_size * 4),
        )
        try:
            yield stream.decode
        finally:
            stream.close()

    # -- embeddings -----------------------------------------------------------------------
    def embedder(self, embedder: Embedder) -> Embedder:
        """``embedder`` whose cache misses are encoded on the cluster."""
        if isinstance(embedder, RayEmbedder):
            return embedder
        return RayEmbedder(embedder, self)

    def encode(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` with ``embedder``'s model on an actor pool; rows in input order."""
        from tqdm.auto import tqdm

        ray = self.connect()
        rows = [{"index": i, "text": t} for i, t in enumerate(texts)]
        data = ray.data.from_items(rows, override_num_blocks=self.blocks(len(rows)))
        out = data.map_batches(
            _EmbedActor,
            fn_constructor_args=(embedder,),
            batch_size=max(self.batch_size, getattr(embedder, "batch_size", 64)),
            batch_format="numpy",
            compute=self.compute(),
        )
        vectors: list[np.ndarray | None] = [None] * len(rows)
        with tqdm(total=len(rows), desc="embedding on Ray", leave=False, dynamic_ncols=True) as bar:
            for batch in out.iter_batches(batch_format="numpy", batch_size=None):
                for index, vector in zip(batch["index"], batch["vector"], strict=True):
                    vectors[int(index)] = np.asarray(vector, dtype=np.float32)
                bar.update(len(batch["index"]))
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:  # a lost block is a cluster fault, not a bad text
            raise ExecutorFault(f"the Ray embedding job returned no vector for {len(missing)} text(s)")
        return np.stack(vectors).astype(np.float32)  # type: ignore[arg-type]


class _EmbedActor:
    """One Ray actor: loads the embedding model once, then encodes batch after batch."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        embedder._load()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        return {"index": batch["index"], "vector": self.embedder._encode(texts)}


class RayEmbedder(Embedder):
    """An :class:`~fmviz.offline.embeddings.Embedder` whose cache misses are encoded on Ray.

    Same model id, same disk cache and same vectors (within float tolerance) as the
    embedder it wraps; only large encodes (``min_rows`` texts or more) leave this process.
    """

    def __init__(self, inner: Embedder, executor: RayExecutor) -> None:
        self.__dict__.update(inner.__dict__)  # same model, cache file, batch size, progress settings
        self.inner = inner
        self.executor = executor

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __repr__(self) -> str:
        return f"RayEmbedder({self.inner!r})"

    def _load(self) -> Any:
        return self.inner._load()

    def _encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) < max(1, self.executor.min_rows):
            return self.inner._encode(texts)
        return self.executor.encode(self.inner, texts)
