"""The fast paths of the offline engine: the default embedder, and the map laid out on landmarks.

Behaviour only (speed is measured in ``benchmarks/bench_offline_scale.py``). All texts and
vectors here are synthetic, made up for these tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fmviz.engine import EngineOptions
from fmviz.episodes import Dataset, Episode
from fmviz.offline import OfflineEngine
from fmviz.offline.embeddings import Embedder
from fmviz.offline.reducers import MAP_METHODS, project_2d
from fmviz.offline.static import DEFAULT_ENGINE_MODEL, STATIC_MODEL, StaticEmbedder, make_embedder
from fmviz.pipeline import compute_embedding_map

ROOT = Path(__file__).resolve().parents[1]


def clustered_vectors(n: int, groups: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic unit vectors around ``groups`` random centres, and each row's group."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, 64))
    labels = rng.integers(groups, size=n)
    x = centres[labels] + 0.3 * rng.normal(size=(n, 64))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_the_default_engine_embedder_is_the_static_model_the_readme_names():
    assert DEFAULT_ENGINE_MODEL == STATIC_MODEL
    assert isinstance(make_embedder(None, cache_dir=False), StaticEmbedder)
    assert isinstance(OfflineEngine(cache_dir=False).embedder, StaticEmbedder)
    transformer = make_embedder("minilm", cache_dir=False)
    assert type(transformer) is Embedder  # the bundled MiniLM as a transformer, by name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    offline = readme[readme.index("- **Offline**") :].split("\n- **", 1)[0]
    assert re.search(rf"`{STATIC_MODEL}`[^.]*default|default[^.]*`{STATIC_MODEL}`", offline), offline
    assert "--embedding-model minilm" in offline


def test_the_default_map_layout_is_the_landmark_one():
    assert EngineOptions().map_method == "tsne"
    assert EngineOptions().map_method in MAP_METHODS


def test_a_map_laid_out_on_a_landmark_sample_places_every_row():
    x, labels = clustered_vectors(400)
    xy = project_2d(x, seed=0, method="tsne", landmarks=80)
    assert xy.shape == (400, 2)
    assert np.isfinite(xy).all()
    np.testing.assert_array_equal(xy, project_2d(x, seed=0, method="tsne", landmarks=80))
    # rows placed from their landmarks land next to their own group: nearest centre is their group's
    centres = np.stack([xy[labels == g].mean(axis=0) for g in range(5)])
    nearest = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == labels).mean() > 0.9


def test_small_inputs_and_bad_methods():
    x, _ = clustered_vectors(6)
    assert project_2d(x[:2]).shape == (2, 2)
    assert project_2d(x, method="tsne").shape == (6, 2)  # under 10 rows: PCA
    with pytest.raises(ValueError, match="map method"):
        project_2d(x, method="mds")


def test_the_pipeline_map_has_a_row_with_coordinates_for_every_reason(tmp_path):
    causes = ["lidar missed the glass door", "battery ran flat mid route", "wheels slipped on wet tiles"]
    episodes = [
        Episode(f"e{i}", narrative=f"Run {i}: the {causes[i % 3]} near bay {i % 7}.") for i in range(30)
    ]
    dataset = Dataset(episodes, name="synthetic-map")
    engine = OfflineEngine(cache_dir=tmp_path, seed=0)
    reasons = engine.infer_reasons(dataset)
    clusters = engine.discover_clusters(reasons)
    assignments = engine.assign(reasons, clusters)
    engines = {"reasons": engine, "clusters": engine, "assign": engine}
    frame = compute_embedding_map(reasons, clusters, assignments, engines, EngineOptions(map_method="tsne"))
    assert frame is not None
    assert sorted(frame["episode_id"]) == sorted(r.episode_id for r in reasons)
    assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    assert frame["x"].std() > 0
    assert set(frame["cluster_id"]) <= set(assignments.labels().values())
