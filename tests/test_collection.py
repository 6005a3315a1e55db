"""The targeted collection plan: budget split, conditions from member episodes, files out.

The episodes are made in the test (synthetic metadata), so every expected number follows from them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fmviz.episodes import Dataset, Episode
from fmviz.results import Assignment, Assignments, Cluster, ClusterSet
from fmviz.stages.collection import allocate, collection_plan


def setup() -> tuple[ClusterSet, Assignments, Dataset]:
    # SYNTHETIC: 6 glass-door failures (mostly dim), 3 chair-leg failures, 1 outlier.
    rows = [("g", "glass_door", "dim")] * 5 + [("g", "glass_door", "bright")] + [("c", "chair", "normal")] * 3
    episodes = [
        Episode(f"e{i}", narrative="hit something", metadata={"scene": scene, "lighting": light})
        for i, (_, scene, light) in enumerate(rows)
    ] + [Episode("e9", narrative="odd", metadata={"scene": "other", "lighting": "normal"})]
    clusters = ClusterSet(
        [
            Cluster("C1", "Glass doors", "Transparent doors", ["glass", "door"], frequency=0.6),
            Cluster("C2", "Chair legs", "Thin legs", ["chair"], frequency=0.3),
        ]
    )
    labels = ["C1"] * 6 + ["C2"] * 3 + ["outlier"]
    scores = [0.5, 0.9, 0.7, 0.6, 0.55, 0.4, 0.8, 0.3, 0.9, None]
    assignments = Assignments(
        [Assignment(f"e{i}", lab, score=s) for i, (lab, s) in enumerate(zip(labels, scores, strict=True))]
    )
    return clusters, assignments, Dataset(episodes, domain="navigation")


def test_allocate_is_proportional_and_always_sums_to_the_budget() -> None:
    assert allocate(9, {"a": 2, "b": 1}) == {"a": 6, "b": 3}
    assert sum(allocate(10, {"a": 1, "b": 1, "c": 1}).values()) == 10
    assert allocate(5, {"a": 1, "b": 0}) == {"a": 5, "b": 0}
    with pytest.raises(ValueError, match="non-negative"):
        allocate(-1, {"a": 1})


def test_the_budget_follows_member_frequency_and_severity() -> None:
    clusters, assignments, dataset = setup()
    plain = collection_plan(clusters, assignments, dataset, budget=9)
    assert {i.cluster_id: i.episodes for i in plain.items} == {"C1": 6, "C2": 3}
    weighted = collection_plan(clusters, assignments, dataset, budget=9, severity={"C2": 4})
    assert {i.cluster_id: i.episodes for i in weighted.items} == {"C1": 3, "C2": 6}


def test_conditions_come_from_the_members_with_share_and_lift() -> None:
    clusters, assignments, dataset = setup()
    plan = collection_plan(clusters, assignments, dataset, budget=10)
    glass = next(i for i in plan.items if i.cluster_id == "C1")
    assert glass.conditions["scene"] == [("glass_door", 1.0, 1.67)]
    assert glass.conditions["lighting"][0] == ("dim", 0.833, 1.67)  # 5/6 of members, 5/10 of all
    assert "lighting = dim (83%, x1.7)" in glass.condition_text()
    assert glass.examples == ["e1", "e2", "e3"]  # highest assignment scores first
    assert plan.draws("scene") == {"glass_door": 7, "chair": 3}  # 10 x 6/9 and 10 x 3/9, rounded


def test_the_plan_is_a_dataframe_a_csv_and_json(tmp_path: Path) -> None:
    clusters, assignments, dataset = setup()
    plan = collection_plan(clusters, assignments, dataset, budget=12, n_examples=1)
    frame = plan.to_frame()
    assert frame["episodes_to_collect"].sum() == 12
    assert list(frame["name"]) == ["Glass doors", "Chair legs"]
    back = pd.read_csv(plan.to_csv(tmp_path / "plan.csv"))
    assert back["episodes_to_collect"].tolist() == frame["episodes_to_collect"].tolist()
    payload = json.loads(plan.to_json(tmp_path / "plan.json").read_text())
    assert payload["budget"] == 12
    assert payload["items"][0]["examples"] == ["e1"]


def test_unknown_severity_ids_and_negative_budgets_are_refused() -> None:
    clusters, assignments, dataset = setup()
    with pytest.raises(ValueError, match="unknown cluster id"):
        collection_plan(clusters, assignments, dataset, budget=3, severity={"C7": 2})
    with pytest.raises(ValueError, match="non-negative"):
        collection_plan(clusters, assignments, dataset, budget=-3)
