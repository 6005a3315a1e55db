"""Taxonomy alignment (the paper's Fig. 4): built-in taxonomies, matching, coverage, the LLM judge.

The judge runs through the real ``openai`` client against the loopback server, whose scripted
scores come from keywords in the prompt (scripted text, not a model's).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from fmviz import LLM
from fmviz.evaluate.taxonomy import (
    DEFAULT_THRESHOLDS,
    Category,
    Taxonomy,
    align_taxonomy,
    load_taxonomy,
    similarity_matrix,
)
from fmviz.offline.embeddings import Embedder
from fmviz.providers.openai import OpenAIProvider
from fmviz.results import Cluster, ClusterSet
from fmviz.testing import LoopbackServer, RecordedRequest

# Hand-written pairs of "name: description" texts (the measurement behind the embedding threshold).
SAME_TYPE = [
    (
        "Drop: The robot drops the object it is carrying.",
        "Dropped objects: the gripper lets go of the pot while moving to the stove.",
    ),
    (
        "Rear-end collision: the vehicle hits the car in front that stopped.",
        "Lead Vehicle Stopped: Pre-crash scenario group: rear-end.",
    ),
    (
        "Glass door: the robot drives into a transparent door.",
        "Transparent surfaces: collisions with glass doors and windows that depth sensing misses.",
    ),
    (
        "Missing step: the plan omits a necessary step.",
        "Planning omission errors: the robot forgot to open the fridge or skipped picking up the object.",
    ),
    (
        "Wrong order: steps done in the wrong order.",
        "Planning sequencing errors: actions out of sequence, before/after swapped.",
    ),
]
OTHER_TYPE = [
    ("Drop: The robot drops the object it is carrying.", "Wrong order: steps done in the wrong order."),
    (
        "Rear-end collision: the vehicle hits the car in front that stopped.",
        "Pedestrian Crash Without Prior Vehicle Maneuver: Pre-crash scenario group: pedestrian.",
    ),
    (
        "Glass door: the robot drives into a transparent door.",
        "Low clutter: cables and backpacks on the floor stop the wheels.",
    ),
    (
        "Missing step: the plan omits a necessary step.",
        "Blocked object: the target is occluded by another object.",
    ),
    (
        "Wrong perception: the robot misidentifies an object.",
        "Occupied receptacle: the container is already full.",
    ),
]


def _matrix(values: list[list[float]], method: str = "embedding") -> pd.DataFrame:
    frame = pd.DataFrame(
        values,
        index=[f"C{i + 1}" for i in range(len(values))],
        columns=[f"T{j + 1}" for j in range(len(values[0]))],
    )
    frame.attrs["method"] = method
    return frame


def test_builtin_taxonomies_ship_with_their_sources() -> None:
    robofail = load_taxonomy("robofail")
    volpe = load_taxonomy("volpe")
    assert len(robofail) == 8
    assert "REFLECT" in robofail.source
    assert len(volpe) == 37
    assert "DOT HS 810 767" in volpe.source
    assert volpe.categories[-1].name == "Other"
    assert len(set(volpe.ids)) == 37


def test_a_taxonomy_file_loads_and_a_bad_one_is_one_clear_error(tmp_path) -> None:
    good = tmp_path / "mine.csv"
    pd.DataFrame({"name": ["Glass", "Chairs"], "description": ["transparent", ""]}).to_csv(good, index=False)
    assert load_taxonomy(good).categories[1].name == "Chairs"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"categories": [{"description": "no name"}]}))
    with pytest.raises(ValueError, match="category 1 has no name"):
        load_taxonomy(bad)
    with pytest.raises(FileNotFoundError, match="robofail, volpe"):
        load_taxonomy(tmp_path / "missing.json")


def test_a_permuted_diagonal_is_fully_covered_and_scores_its_mean() -> None:
    matrix = _matrix([[0.1, 0.9, 0.2], [0.8, 0.1, 0.1], [0.2, 0.3, 0.7]])
    matches, summary = align_taxonomy(matrix)
    assert list(matches["cluster"]) == ["C2", "C1", "C3"]
    assert summary.loc[0, "coverage"] == pytest.approx(1.0)
    assert summary.loc[0, "alignment"] == pytest.approx((0.8 + 0.9 + 0.7) / 3)


def test_one_merged_cluster_leaves_a_category_uncovered() -> None:
    # two clusters for three categories: C1 is good for T1 and T2 (merged), C2 for T3
    matrix = _matrix([[0.8, 0.7, 0.1], [0.1, 0.2, 0.9]])
    matches, summary = align_taxonomy(matrix)
    assert matches["cluster"].isna().sum() == 1
    assert summary.loc[0, "coverage"] == pytest.approx(2 / 3)
    assert summary.loc[0, "coverage_any"] == pytest.approx(1.0)  # many-to-one, T2 is near C1
    assert summary.loc[0, "alignment"] == pytest.approx((0.8 + 0.9) / 3)
    assert summary.loc[0, "cluster_fit"] == pytest.approx((0.8 + 0.9) / 2)


def test_llm_scores_are_scaled_from_one_to_ten() -> None:
    matrix = _matrix([[10, 1], [1, 7]], method="llm")
    _, summary = align_taxonomy(matrix)
    assert summary.loc[0, "threshold"] == DEFAULT_THRESHOLDS["llm"]
    assert summary.loc[0, "alignment"] == pytest.approx((1.0 + 6 / 9) / 2)
    assert summary.loc[0, "coverage"] == pytest.approx(1.0)


def test_embedding_threshold_separates_hand_written_same_and_other_type_pairs() -> None:
    embedder = Embedder(cache_dir=False, show_progress=False)

    def cosines(pairs: list[tuple[str, str]]) -> np.ndarray:
        a = embedder.embed([p[0] for p in pairs])
        b = embedder.embed([p[1] for p in pairs])
        return np.sum(a * b, axis=1)

    threshold = DEFAULT_THRESHOLDS["embedding"]
    same, other = cosines(SAME_TYPE), cosines(OTHER_TYPE)
    assert (same >= threshold).all()
    assert (other < threshold).sum() >= 4
    assert other.mean() < same.mean() - 0.2


def test_offline_similarity_puts_a_cluster_nearest_its_own_category() -> None:
    clusters = ClusterSet(
        [
            Cluster("C1", "Dropped objects", "the robot lets go of what it carries while moving"),
            Cluster("C2", "Occupied container", "the receptacle already holds something, so the put fails"),
        ]
    )
    matrix = similarity_matrix(clusters, load_taxonomy("robofail"))
    assert matrix.shape == (2, 8)
    assert matrix.loc["C1"].idxmax() == "R1"  # Drop
    assert matrix.loc["C2"].idxmax() == "R8"  # Occupied receptacle
    assert matrix.attrs["row_names"]["C1"] == "Dropped objects"


def scripted_score(request: RecordedRequest) -> str:
    """Score 9 when both fenced texts share a keyword, else 2 (scripted, not a model)."""
    first, second = re.findall(r"<<<(.*?)>>>", request.prompt, flags=re.DOTALL)
    shared = {"glass", "chair"} & set(first.lower().split()) & set(second.lower().split())
    return json.dumps({"rationale": f"shared: {sorted(shared)}", "score": 9 if shared else 2})


def make_llm(server: LoopbackServer, cache) -> LLM:
    provider = OpenAIProvider("judge-test", base_url=server.openai_base_url, api_key="test-key")
    return LLM(provider, cache=cache, backoff_base=0.001, backoff_max=0.01, max_retries=1)


def test_the_llm_judge_scores_every_pair_once_and_a_rerun_is_free(tmp_path) -> None:
    clusters = ClusterSet([Cluster("C1", "glass doors"), Cluster("C2", "chair legs")])
    reference = Taxonomy(
        "ref",
        [
            Category("T1", "chair collisions"),
            Category("T2", "glass surfaces"),
        ],
    )
    cache = tmp_path / "judge.sqlite"
    with LoopbackServer(scripted_score) as server:
        matrix = similarity_matrix(clusters, reference, method="llm", llm=make_llm(server, cache))
        assert server.count == 4
        assert matrix.loc["C1", "T2"] == 9
        assert matrix.loc["C1", "T1"] == 2
        assert "glass" in matrix.attrs["rationales"]["C1|T2"]
        server.reset()
        again = similarity_matrix(clusters, reference, method="llm", llm=make_llm(server, cache))
        assert server.count == 0
        assert again.equals(matrix)
    matches, summary = align_taxonomy(matrix)
    assert dict(zip(matches["category"], matches["cluster"], strict=True)) == {"T1": "C2", "T2": "C1"}
    assert summary.loc[0, "coverage"] == 1.0


def test_the_llm_method_without_a_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="needs a judge model"):
        similarity_matrix(ClusterSet([Cluster("C1", "x")]), load_taxonomy("robofail"), method="llm")
