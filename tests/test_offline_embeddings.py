"""Tests for the cached sentence embedder (uses the bundled MiniLM model, no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmviz.offline.embeddings import DEFAULT_MODEL, Embedder, default_model_path


class CountingEmbedder(Embedder):
    """Counts what reaches the model, so the test sees cache hits without mocking the library."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[list[str]] = []

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super()._encode(texts)


def test_default_model_ships_in_the_package():
    path = default_model_path()
    assert (path / "modules.json").exists()
    assert (path / "model.safetensors").exists()


def test_embed_returns_normalised_float32_rows(tmp_path):
    embedder = Embedder(cache_dir=tmp_path)
    vectors = embedder.embed(["the robot hit a glass door", "the battery ran out"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.model_id.startswith(DEFAULT_MODEL)


def test_similar_texts_are_closer_than_unrelated_ones(tmp_path):
    a, b, c = Embedder(cache_dir=tmp_path).embed(
        ["the lidar missed the glass door", "a glass wall was invisible to the laser scanner", "I bake bread"]
    )
    assert a @ b > a @ c + 0.2


def test_second_embed_of_same_texts_does_not_call_the_model(tmp_path):
    texts = ["wheel slipped on wet floor", "localization drifted in a corridor", "wheel slipped on wet floor"]
    embedder = CountingEmbedder(cache_dir=tmp_path)
    first = embedder.embed(texts)
    assert embedder.calls == [["wheel slipped on wet floor", "localization drifted in a corridor"]]
    second = embedder.embed(texts)
    assert len(embedder.calls) == 1
    np.testing.assert_array_equal(first, second)

    # a new object (a new notebook session) reads the same disk cache; only unseen text is encoded
    fresh = CountingEmbedder(cache_dir=tmp_path)
    fresh.embed([*texts, "a person stepped in front of the robot"])
    assert fresh.calls == [["a person stepped in front of the robot"]]
    assert (tmp_path / "vectors.sqlite").exists()


def test_disabled_cache_encodes_every_time(tmp_path):
    embedder = CountingEmbedder(cache_dir=False)
    embedder.embed(["same text"])
    embedder.embed(["same text"])
    assert len(embedder.calls) == 2
    assert not list(tmp_path.iterdir())


def test_cache_dir_defaults_to_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FMVIZ_CACHE_DIR", str(tmp_path))
    embedder = Embedder()
    assert embedder.cache_path == tmp_path / "embeddings" / "vectors.sqlite"


def test_empty_input_gives_empty_matrix(tmp_path):
    embedder = Embedder(cache_dir=tmp_path)
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_unknown_model_fails_offline_with_a_clear_error(tmp_path):
    with pytest.raises(OSError, match="offline"):
        Embedder("no-such-org/no-such-model-fmviz", cache_dir=tmp_path).embed(["x"])


def test_the_embedding_cache_honours_xdg_cache_home(monkeypatch, tmp_path):
    from fmviz.offline.embeddings import default_cache_dir

    monkeypatch.delenv("FMVIZ_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "fmviz" / "embeddings"
    monkeypatch.setenv("FMVIZ_CACHE_DIR", str(tmp_path / "own"))
    assert default_cache_dir() == tmp_path / "own" / "embeddings"  # the project's variable wins
    monkeypatch.delenv("FMVIZ_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the spec says: ignore relative paths
    assert default_cache_dir() == Path.home() / ".cache" / "fmviz" / "embeddings"


def test_loading_the_model_names_no_folder_of_this_machine(capfd, monkeypatch):
    # transformers reports unexpected keys with the weights' folder; a shared notebook would carry it
    import logging

    from fmviz.offline import embeddings

    monkeypatch.setattr(embeddings, "_MODELS", {})
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("transformers").addHandler(handler)
    try:
        embeddings.Embedder(cache_dir=None, show_progress=False)._load()
    finally:
        logging.getLogger("transformers").removeHandler(handler)
    err = capfd.readouterr().err
    folder = str(embeddings.default_model_path())
    assert folder not in err
    assert not [r for r in records if folder in r.getMessage()]
