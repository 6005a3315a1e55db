"""The embedding map's Python side: typed binary traits, selection as a DataFrame (synthetic)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fmviz.results import Cluster, ClusterSet
from fmviz.views._widget import saved_size
from fmviz.views.embedding_map import MAX_HOVER_CHARS, EmbeddingMap


def _frame(n: int = 12) -> pd.DataFrame:
    """A synthetic embedding-map frame: clusters C2, C10 and outliers."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "episode_id": [f"e{i}" for i in range(n)],
            "cluster_id": [["C10", "C2", "outlier"][i % 3] for i in range(n)],
            "cluster_name": [["Ten", "Two", "Outlier"][i % 3] for i in range(n)],
            "text": [f"reason {i}" for i in range(n)],
        }
    )


def test_coordinates_and_cluster_indices_travel_as_typed_binary():
    widget = EmbeddingMap.from_frame(_frame())
    state = widget._get_embed_state()
    paths = sorted(tuple(b["path"]) for b in state["buffers"])
    assert paths == [("cluster_index", "buffer"), ("x", "buffer"), ("y", "buffer")]
    assert state["state"]["x"]["dtype"] == "float32"
    assert state["state"]["x"]["shape"] == [12]
    assert state["state"]["cluster_index"]["dtype"] == "int32"
    assert widget.x.dtype == np.float32


def test_clusters_are_in_natural_order_with_counts_and_outliers_last():
    widget = EmbeddingMap.from_frame(_frame())
    assert [(c["id"], c["name"], c["count"]) for c in widget.clusters] == [
        ("C2", "Two", 4),
        ("C10", "Ten", 4),
        ("outlier", "Outlier", 4),
    ]
    assert widget.cluster_index.tolist()[:3] == [1, 0, -1]


def test_selected_frame_returns_the_selected_rows_in_point_order():
    widget = EmbeddingMap.from_frame(_frame())
    widget.selected_ids = ["e5", "e1", "nope"]
    selected = widget.selected_frame()
    assert selected["episode_id"].tolist() == ["e1", "e5"]
    assert selected["cluster_id"].tolist() == ["C2", "outlier"]
    assert selected["text"].tolist() == ["reason 1", "reason 5"]


def test_hover_texts_are_cut_so_large_maps_stay_small():
    frame = _frame(3)
    frame["text"] = "x" * 5000
    widget = EmbeddingMap.from_frame(frame)
    assert {len(t) for t in widget.texts} == {MAX_HOVER_CHARS}


def test_a_hundred_thousand_points_stay_far_below_the_message_limit():
    n = 100_000
    rng = np.random.default_rng(1)
    ids, clusters = [f"ep{i}" for i in range(n)], [f"c{i % 12}" for i in range(n)]
    widget = EmbeddingMap.from_points(
        rng.normal(size=n), rng.normal(size=n), ids, clusters, texts=["synthetic reason"] * n
    )
    assert saved_size(widget) < 10_000_000
    assert widget.point_size == 3.0


def test_bad_inputs_raise_one_clear_value_error():
    with pytest.raises(ValueError, match="one entry per point"):
        EmbeddingMap.from_points([0, 1], [0], ["a", "b"], ["c", "c"])
    with pytest.raises(ValueError, match="finite"):
        EmbeddingMap.from_points([0, np.nan], [0, 1], ["a", "b"], ["c", "c"])
    with pytest.raises(ValueError, match="lacks column"):
        EmbeddingMap.from_frame(pd.DataFrame({"x": [0.0]}))
    with pytest.raises(ValueError, match="no embedding map"):
        EmbeddingMap.from_run(SimpleNamespace(embedding_map=None, clusters=None))


def test_from_run_takes_names_from_the_cluster_set():
    frame = _frame().drop(columns="cluster_name")
    run = SimpleNamespace(
        embedding_map=frame, clusters=ClusterSet([Cluster("C2", "Glass doors"), Cluster("C10", "Chairs")])
    )
    widget = EmbeddingMap.from_run(run)
    assert [c["name"] for c in widget.clusters] == ["Glass doors", "Chairs", "Outlier"]


def test_the_png_fallback_sits_beside_the_widget_view():
    data, _ = EmbeddingMap.from_frame(_frame())._repr_mimebundle_()
    assert data["image/png"]
    assert "application/vnd.jupyter.widget-view+json" in data
