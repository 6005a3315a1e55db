"""The ensemble view over a real LLM cluster set: stage 2 run through the real ``openai`` client.

The loopback server answers with scripted clusterings (text written for this test, not a
model's): the original prompt and the second paraphrase find four topics, the first
paraphrase lumps glass and walls together, and the aggregate keeps four.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import pytest

from fmviz.offline import OfflineEngine
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.results import ClusterSet, Reason, Reasons
from fmviz.stages import discover_clusters
from fmviz.testing import LoopbackServer, RecordedRequest
from fmviz.views._widget import saved_size
from fmviz.views.ensemble_view import EnsembleView, member_cluster_sets

TOPICS = {
    "glass": "Transparent surfaces",
    "chair": "Thin legs",
    "wall": "Featureless walls",
    "cable": "Floor clutter",
}


def clustering(groups: list[list[str]]) -> str:
    return json.dumps(
        {
            "clusters": [
                {
                    "name": " and ".join(TOPICS[t] for t in group),
                    "description": "Collisions with " + ", ".join(group) + ".",
                    "keywords": group,
                    "frequency": 1.0 / len(groups),
                }
                for group in groups
            ]
        }
    )


def responder(request: RecordedRequest) -> str:
    if "alternative versions" in request.text:
        original = request.text.split("<<<", 1)[1].split(">>>", 1)[0].strip()
        count = int(re.search(r"Write (\d+) alternative", request.text).group(1))
        return json.dumps({"prompts": [f"[Paraphrase {i}] {original}" for i in range(1, count + 1)]})
    if "[Paraphrase 1]" in request.prompt:
        return clustering([["glass", "wall"], ["chair"], ["cable"]])
    return clustering([[t] for t in TOPICS])


@pytest.fixture
def llm_clusters() -> Iterator[tuple[ClusterSet, Reasons]]:
    topics = list(TOPICS)
    reasons = Reasons(
        [Reason(f"ep{i:02d}", "", f"the robot hit a {topics[i % 4]} in room {i}") for i in range(16)]
    )
    with LoopbackServer(responder) as server:
        provider = OpenAIProvider("o4-test", base_url=server.openai_base_url, api_key="test-key")
        llm = LLM(provider, cache=False, backoff_base=0.001, backoff_max=0.01, max_retries=1)
        yield discover_clusters(reasons, llm, ensemble=2, seed=3), reasons


def keyword_partition(reasons: Reasons, clusters: ClusterSet) -> dict[str, str]:
    """Each reason to the cluster with the most of its keywords in the text (first on ties)."""
    out = {}
    for reason in reasons:
        hits = [sum(k in reason.text for k in c.keywords) for c in clusters]
        out[reason.episode_id] = clusters.ids[int(np.argmax(hits))]
    return out


def test_member_records_become_cluster_sets(llm_clusters) -> None:
    clusters, _ = llm_clusters
    members = member_cluster_sets(clusters)
    assert list(members) == ["member 0 (original prompt)", "member 1", "member 2"]
    assert [len(m) for m in members.values()] == [4, 3, 4]
    assert members["member 1"].ids == ["M1C1", "M1C2", "M1C3"]


def test_each_member_gets_a_heatmap_against_the_aggregate_and_the_ari(llm_clusters) -> None:
    clusters, reasons = llm_clusters
    view = EnsembleView.from_cluster_set(clusters, reasons, partition=keyword_partition)
    assert view.has_ensemble
    assert [m["label"] for m in view.members] == [
        "member 0 (original prompt)",
        "member 1",
        "member 2",
        "aggregate",
    ]
    ari = view.ari_frame()
    assert ari.loc["member 0 (original prompt)", "aggregate"] == pytest.approx(1.0)
    assert ari.loc["member 1", "aggregate"] < 0.9  # the member that lumped two topics
    assert ari.loc["member 1", "member 2"] == pytest.approx(ari.loc["member 1", "aggregate"])
    first = view.panels[1]
    assert first["n_rows"] == 3
    assert first["n_cols"] == 4
    counts = view.panel_values[first["offset"] : first["offset"] + 12].reshape(3, 4)
    assert counts.sum() == len(reasons)
    assert counts.sum(axis=1).max() == 8  # glass and wall reasons in one member cluster
    assert counts.max() == 4  # ...which the aggregate keeps apart
    matched = view.panel_matching[view.panel_matching[:, 0] == 1]
    assert len(matched) == 3  # three member clusters, each matched to one aggregate cluster
    assert "by the partition given" in view.message


def test_an_offline_cluster_set_says_it_has_no_ensemble(tiny_dataset) -> None:
    engine = OfflineEngine()
    reasons = engine.infer_reasons(tiny_dataset)
    clusters = engine.discover_clusters(reasons)
    view = EnsembleView.from_cluster_set(clusters, reasons)
    assert view.has_ensemble is False
    assert "not made by a prompt ensemble" in view.message
    assert view.panels == []


def test_the_default_partition_uses_embeddings_and_stays_small(llm_clusters) -> None:
    clusters, reasons = llm_clusters
    view = EnsembleView.from_cluster_set(clusters, reasons)
    assert "by embedding" in view.message
    diagonal = np.diag(view.ari_frame().to_numpy())
    assert np.allclose(diagonal, 1.0)
    assert saved_size(view) - len(view._esm) - len(view._css) < 30_000


def test_the_view_needs_the_reasons(llm_clusters) -> None:
    clusters, _ = llm_clusters
    with pytest.raises(ValueError, match="needs the reasons"):
        EnsembleView.from_cluster_set(clusters, Reasons())


def test_a_single_clustering_with_no_aggregate_says_so() -> None:
    reasons = Reasons([Reason(f"ep{i}", "", f"the robot hit a {t}") for i, t in enumerate(TOPICS)])
    with LoopbackServer(responder) as server:
        provider = OpenAIProvider("o4-test", base_url=server.openai_base_url, api_key="test-key")
        llm = LLM(provider, cache=False, backoff_base=0.001, backoff_max=0.01, max_retries=1)
        clusters = discover_clusters(reasons, llm, ensemble=0)
    view = EnsembleView.from_cluster_set(clusters, reasons, partition=keyword_partition)
    assert view.has_ensemble is False
    assert "single clustering" in view.message
    assert "ensemble=0" in view.message


def test_from_run_uses_the_runs_assignments_for_the_aggregate(llm_clusters) -> None:
    from fmviz.episodes import Dataset, Episode
    from fmviz.results import Assignment, Assignments
    from fmviz.run import Run

    clusters, reasons = llm_clusters
    # The run put every episode in C1 (not what the partition would say): the aggregate is one block.
    assignments = Assignments(
        [Assignment(r.episode_id, "C1") for r in reasons], cluster_set_version=clusters.version
    )
    run = Run(Dataset([Episode(r.episode_id) for r in reasons]), reasons, clusters, assignments)
    view = EnsembleView.from_run(run, partition=keyword_partition)
    assert view.ari_frame().loc["member 0 (original prompt)", "aggregate"] == pytest.approx(0.0)
    assert view.ari_frame().loc["member 0 (original prompt)", "member 2"] == pytest.approx(1.0)
    assert view.to_png()[:4] == b"\x89PNG"
