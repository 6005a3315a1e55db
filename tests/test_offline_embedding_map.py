"""Tests for the offline engine's 2-D embedding map (UMAP; its first call compiles numba code)."""

from __future__ import annotations

import pandas as pd
import pytest

from fmviz.episodes import Dataset, Episode
from fmviz.offline import OfflineEngine
from fmviz.results import OUTLIER, Reasons

# Synthetic one-line failure narratives, made up for this test: three causes, four wordings each.
NARRATIVES = {
    "glass": [
        "The lidar missed the glass door and the robot drove into it.",
        "A transparent glass panel was invisible to the depth camera.",
        "The laser scanner read straight through the glass wall.",
        "Its obstacle sensor never saw the glass partition it then hit.",
    ],
    "battery": [
        "The battery ran out in the middle of the route.",
        "Charge dropped to zero before the robot reached its goal.",
        "The battery pack was too low and the robot powered off.",
        "Power failed halfway through the delivery: the battery was flat.",
    ],
    "slip": [
        "The drive wheels lost traction on the wet floor.",
        "A puddle made the wheels spin and odometry drifted.",
        "The base skidded on freshly mopped tiles and missed the turn.",
        "The left wheel slipped on a slippery surface.",
    ],
}


def synthetic_dataset(per_cause: int = 4) -> Dataset:
    return Dataset(
        [
            Episode(f"{cause}-{i}", narrative=text, label=cause)
            for cause, texts in NARRATIVES.items()
            for i, text in enumerate(texts[:per_cause])
        ]
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return OfflineEngine(cache_dir=tmp_path_factory.mktemp("emb"), seed=0)


def test_embedding_map_is_deterministic(engine):
    reasons = engine.infer_reasons(synthetic_dataset())
    clusters = engine.discover_clusters(reasons)
    assignments = engine.assign(reasons, clusters)
    first = engine.embedding_map(reasons, clusters, assignments)
    assert list(first.columns[:4]) == ["x", "y", "episode_id", "cluster_id"]
    assert len(first) == len(reasons)
    assert set(first["cluster_id"]) <= set(clusters.ids) | {OUTLIER}
    pd.testing.assert_frame_equal(first, engine.embedding_map(reasons, clusters, assignments))
    tiny = engine.embedding_map(Reasons(list(reasons)[:3]), clusters)
    assert tiny.shape[0] == 3


def test_embedding_map_without_assignments_uses_discovery_members(engine):
    reasons = engine.infer_reasons(synthetic_dataset(per_cause=4))
    clusters = engine.discover_clusters(reasons)
    frame = engine.embedding_map(reasons, clusters)
    members = clusters.membership
    assert dict(zip(frame["episode_id"], frame["cluster_id"], strict=True)) == members
    assert set(frame["cluster_name"]) == {clusters[c].name for c in set(members.values())}


def test_pca_map_method_and_bad_method(engine):
    reasons = engine.infer_reasons(synthetic_dataset())
    frame = engine.embedding_map(reasons, method="pca")
    assert frame.shape[0] == len(reasons)
    assert frame["x"].std() > 0
    with pytest.raises(ValueError, match="map method"):
        engine.embedding_map(reasons, method="mds")
