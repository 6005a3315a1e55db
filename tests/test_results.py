"""Result types: DataFrames and JSON/Parquet round trips with a schema version."""

from __future__ import annotations

import json

import pytest

from fmviz.results import (
    OUTLIER,
    SCHEMA_VERSION,
    Assignment,
    Assignments,
    Cluster,
    ClusterSet,
    Reason,
    Reasons,
)


def _clusters() -> ClusterSet:
    return ClusterSet(
        [
            Cluster("C1", "Thin obstacles", "chair legs", ["chair leg", "thin"], 0.4),
            Cluster("C2", "Glass", "transparent doors", ["glass door"], 0.2),
        ],
        provenance={"engine": "test", "members": [{"clusters": ["a", "b"]}]},
    )


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_cluster_set_round_trip(tmp_path, suffix) -> None:
    clusters = _clusters()
    path = clusters.save(tmp_path / f"clusters{suffix}")
    back = ClusterSet.load(path)
    assert back.to_frame().equals(clusters.to_frame())
    assert back.provenance == clusters.provenance


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_reasons_and_assignments_round_trip(tmp_path, suffix) -> None:
    reasons = Reasons(
        [Reason("e1", "drove on", "hit glass", "raw text", "offline")], errors={"e2": "no text"}
    )
    back = Reasons.load(reasons.save(tmp_path / f"r{suffix}"))
    assert back.to_frame().equals(reasons.to_frame())
    assert back.errors == {"e2": "no text"}
    assignments = Assignments(
        [Assignment("e1", "C2", "glass", 0.71), Assignment("e3", OUTLIER, "nothing fits", None)],
        errors={"e4": "bad id"},
    )
    back_a = Assignments.load(assignments.save(tmp_path / f"a{suffix}"))
    assert back_a.labels() == {"e1": "C2", "e3": OUTLIER}
    assert back_a["e1"].score == pytest.approx(0.71)
    assert back_a["e3"].score is None
    assert back_a["e3"].is_outlier
    assert back_a.errors == {"e4": "bad id"}


def test_json_files_carry_schema_version_and_kind(tmp_path) -> None:
    payload = json.loads(_clusters().save(tmp_path / "c.json").read_text())
    assert payload["schema_version"] == SCHEMA_VERSION
    assert payload["kind"] == "cluster_set"


def test_loading_the_wrong_kind_or_a_newer_schema_fails_clearly(tmp_path) -> None:
    path = _clusters().save(tmp_path / "c.json")
    with pytest.raises(ValueError, match="holds 'cluster_set', not 'assignments'"):
        Assignments.load(path)
    payload = json.loads(path.read_text())
    payload["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="newer fmviz"):
        ClusterSet.load(path)
    with pytest.raises(ValueError, match=r"\.json or \.parquet"):
        _clusters().save(tmp_path / "c.txt")


def test_cluster_ids_must_be_unique_and_not_outlier() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ClusterSet([Cluster("C1", "a"), Cluster("C1", "b")])
    with pytest.raises(ValueError, match="reserved"):
        ClusterSet([Cluster(OUTLIER, "a")])


def test_reason_text_is_the_cause_else_the_trajectory() -> None:
    assert Reason("e", "moved forward", "  hit wall ").text == "hit wall"
    assert Reason("e", "moved forward", "").text == "moved forward"


def test_describe_lists_every_cluster_for_prompts() -> None:
    text = _clusters().describe()
    assert "C1 | Thin obstacles" in text
    assert "keywords: glass door" in text


def test_counts() -> None:
    assignments = Assignments([Assignment("a", "C1"), Assignment("b", "C1"), Assignment("c", OUTLIER)])
    assert assignments.counts().to_dict() == {"C1": 2, OUTLIER: 1}
