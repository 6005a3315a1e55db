"""Cluster edits as data: each operation, its edge cases, undo/redo, reconcile, and properties."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmviz.results import (
    OUTLIER,
    Add,
    Assignment,
    Assignments,
    Cluster,
    ClusterSet,
    Delete,
    MarkOutlier,
    Merge,
    Move,
    Split,
    Update,
    apply_edits,
    reconcile,
    redo,
    replay,
    undo,
)

EPISODES = [f"e{i}" for i in range(12)]


def _state() -> tuple[ClusterSet, Assignments]:
    """Three clusters of four episodes; C3 carries discovery membership and centroids like offline sets."""
    clusters = ClusterSet(
        [
            Cluster("C1", "Glass missed", "transparent doors", ["glass"], 0.34),
            Cluster("C2", "Chair legs", "thin obstacles", ["legs"], 0.33),
            Cluster("C3", "Dark floor", "low light", ["dark"], 0.33),
        ],
        provenance={"engine": "test"},
        centroids={"C1": [1.0, 0.0], "C2": [0.0, 1.0], "C3": [0.6, 0.8]},
        embedding_model="m",
        membership={e: f"C{i // 4 + 1}" for i, e in enumerate(EPISODES)},
    )
    rows = [Assignment(e, f"C{i // 4 + 1}", "engine", 0.5) for i, e in enumerate(EPISODES)]
    return clusters, Assignments(rows, cluster_set_version=clusters.version)


def _labels(assignments: Assignments | None) -> dict[str, str]:
    assert assignments is not None
    return assignments.labels()


def test_merge_makes_a_new_id_and_keeps_memberships() -> None:
    clusters, assignments = _state()
    result = apply_edits(clusters, assignments, [Merge(("C1", "C2"), name="Missed obstacles")])
    assert result.clusters.ids == ["C4", "C3"]
    assert result.clusters["C4"].name == "Missed obstacles"
    assert result.clusters["C4"].frequency == pytest.approx(0.67)
    assert result.touched == []
    assert result.added == ["C4"]
    assert {_labels(result.assignments)[e] for e in EPISODES[:8]} == {"C4"}
    assert result.clusters.centroids["C4"] == pytest.approx([0.707107, 0.707107])
    assert result.clusters.version != clusters.version
    assert result.assignments.cluster_set_version == result.clusters.version


def test_merge_of_a_cluster_with_itself_is_refused() -> None:
    clusters, assignments = _state()
    with pytest.raises(ValueError, match="two or more different clusters"):
        apply_edits(clusters, assignments, [Merge(("C1", "C1"))])


def test_split_marks_only_the_split_clusters_members_pending() -> None:
    clusters, assignments = _state()
    op = Split("C3", (("e8", "e9"), ("e10",)), names=("Dark carpet", "Dark tiles"))
    result = apply_edits(clusters, assignments, [op])
    assert result.clusters.ids == ["C1", "C2", "C4", "C5"]
    assert sorted(result.touched) == ["e10", "e11", "e8", "e9"]
    labels = _labels(result.assignments)
    assert labels["e8"] == labels["e9"] == "C4"
    assert labels["e10"] == "C5"
    assert labels["e11"] == "C4"  # not listed: first part until re-assignment
    assert result.assignments["e0"].pending is False
    assert result.clusters.membership["e10"] == "C5"
    assert "e11" not in result.clusters.membership
    assert "C3" not in result.clusters.centroids


def test_split_refuses_an_empty_part_and_strangers() -> None:
    clusters, assignments = _state()
    with pytest.raises(ValueError, match="part 2 is empty"):
        apply_edits(clusters, assignments, [Split("C3", (("e8",), ()))])
    with pytest.raises(ValueError, match="not members of C3"):
        apply_edits(clusters, assignments, [Split("C3", (("e8",), ("e0",)))])
    with pytest.raises(ValueError, match="two or more groups"):
        apply_edits(clusters, assignments, [Split("C3", (("e8",),))])


def test_move_and_outlier_are_pins() -> None:
    clusters, assignments = _state()
    result = apply_edits(clusters, assignments, [Move(("e0",), "C2"), MarkOutlier(("e1",))])
    assert result.assignments["e0"].cluster_id == "C2"
    assert result.assignments["e0"].pinned
    assert result.assignments["e1"].cluster_id == OUTLIER
    assert result.assignments["e1"].pinned
    assert result.touched == []


def test_move_to_a_cluster_that_does_not_exist_is_refused() -> None:
    clusters, assignments = _state()
    with pytest.raises(ValueError, match="no cluster 'C9'"):
        apply_edits(clusters, assignments, [Move(("e0",), "C9")])
    with pytest.raises(ValueError, match="unknown episode"):
        apply_edits(clusters, assignments, [Move(("nope",), "C1")])


def test_delete_sends_members_to_reassignment_or_outlier() -> None:
    clusters, assignments = _state()
    result = apply_edits(clusters, assignments, [Delete("C2")])
    assert "C2" not in result.clusters
    assert sorted(result.touched) == ["e4", "e5", "e6", "e7"]
    assert all(result.assignments[e].pending for e in ("e4", "e5", "e6", "e7"))
    outliers = apply_edits(clusters, assignments, [Delete("C2", "outlier")])
    assert outliers.touched == []
    assert {outliers.assignments[e].cluster_id for e in ("e4", "e5")} == {OUTLIER}


def test_add_reasks_outliers_and_the_scope_only() -> None:
    clusters, assignments = _state()
    edited = apply_edits(clusters, assignments, [MarkOutlier(("e0",)), Delete("C2", "outlier")])
    result = apply_edits(edited.clusters, edited.assignments, [Add("Wet floor", "slippery", scope=("e8",))])
    assert result.added == ["C4"]
    # e0 is a pinned outlier: never re-asked; C2's former members are plain outliers: re-asked
    assert sorted(result.touched) == ["e4", "e5", "e6", "e7", "e8"]
    assert "e8" not in result.clusters.membership


def test_ids_are_never_reused_after_undo() -> None:
    clusters, assignments = _state()
    first = apply_edits(clusters, assignments, [Merge(("C1", "C2"))])
    back = undo(first.clusters, first.assignments)
    again = apply_edits(back.clusters, back.assignments, [Merge(("C2", "C3"))])
    assert again.added == ["C5"]


def test_rename_describe_and_keywords_touch_nobody() -> None:
    clusters, assignments = _state()
    result = apply_edits(
        clusters, assignments, [Update("C1", name="Glass doors", keywords=("glass", "door"))]
    )
    assert result.clusters["C1"].name == "Glass doors"
    assert result.clusters["C1"].keywords == ["glass", "door"]
    assert result.clusters["C1"].description == "transparent doors"
    assert _labels(result.assignments) == _labels(assignments)
    with pytest.raises(ValueError, match="cannot be empty"):
        apply_edits(clusters, assignments, [Update("C1", name="  ")])


def test_undo_past_the_start_and_redo_after_a_new_edit_are_refused() -> None:
    clusters, assignments = _state()
    with pytest.raises(ValueError, match="nothing to undo"):
        undo(clusters, assignments)
    first = apply_edits(clusters, assignments, [Update("C1", name="x")])
    back = undo(first.clusters, first.assignments)
    assert back.clusters.state_dict() == clusters.state_dict()
    forward = redo(back.clusters, back.assignments)
    assert forward.clusters.version == first.clusters.version
    branched = apply_edits(back.clusters, back.assignments, [Update("C2", name="y")])
    with pytest.raises(ValueError, match="nothing to redo"):
        redo(branched.clusters, branched.assignments)


def test_reconcile_brings_old_assignments_forward_and_back() -> None:
    clusters, assignments = _state()
    split = Split("C3", (("e8", "e9"), ("e10", "e11")))
    edited = apply_edits(clusters, None, [split])  # as `fmviz edit` on a set with no assignments
    forward = reconcile(edited.clusters, assignments)  # assignments made before the split
    assert sorted(forward.touched) == ["e10", "e11", "e8", "e9"]
    assert forward.assignments.cluster_set_version == edited.clusters.version
    with_rows = apply_edits(clusters, assignments, [split])
    later = with_rows.assignments  # made at the split version
    backward = reconcile(undo(with_rows.clusters).clusters, later)
    assert _labels(backward.assignments) == _labels(assignments)
    # with no record of what was there before, episodes of clusters gone are re-asked
    orphaned = reconcile(undo(edited.clusters).clusters, later)
    assert sorted(orphaned.touched) == ["e10", "e11", "e8", "e9"]
    assert all(orphaned.assignments[e].pending for e in ("e8", "e9", "e10", "e11"))


def test_assignments_of_unknown_origin_keep_existing_clusters() -> None:
    clusters, _ = _state()
    hand = Assignments([Assignment("e0", "C1"), Assignment("e1", "C99")])
    result = reconcile(clusters, hand)
    assert result.assignments["e0"].cluster_id == "C1"
    assert not result.assignments["e0"].pending
    assert result.assignments["e1"].pending
    assert result.touched == ["e1"]


def test_the_log_saves_with_the_set_and_replays_identically(tmp_path) -> None:
    clusters, assignments = _state()
    ops = [
        Merge(("C1", "C2"), name="m"),
        Split("C3", (("e8",), ("e9", "e10", "e11"))),
        Update("C4", name="n"),
    ]
    result = apply_edits(clusters, assignments, ops)
    back = ClusterSet.load(result.clusters.save(tmp_path / "clusters.json"))
    assert back.version == result.clusters.version
    assert back.state_dict() == result.clusters.state_dict()
    assert replay(back).state_dict() == result.clusters.state_dict()
    assert [e.op for e in back.log.applied] == [e.op for e in result.clusters.log.applied]


def test_a_schema_1_file_loads_with_state_moved_out_of_provenance(tmp_path) -> None:
    path = tmp_path / "clusters.json"
    path.write_text(
        '{"schema_version": 1, "kind": "cluster_set", "clusters": [{"id": "C1", "name": "a"}],'
        ' "provenance": {"engine": "offline", "embedding_model": "m", "members": {"C1": ["e1"]},'
        ' "centroids": {"C1": [1.0, 0.0]}, "member_text_hash": {"e1": "abc"}}}'
    )
    loaded = ClusterSet.load(path)
    assert loaded.membership == {"e1": "C1"}
    assert loaded.centroids == {"C1": [1.0, 0.0]}
    assert loaded.embedding_model == "m"
    assert "members" not in loaded.provenance
    assert "centroids" not in loaded.provenance


# -- properties over random operation sequences -------------------------------------------------


@st.composite
def operations(draw: st.DrawFn, clusters: ClusterSet, assignments: Assignments) -> list:
    """A random sequence of valid operations, each drawn against the state it applies to."""
    ops = []
    state, rows = clusters, assignments
    for _ in range(draw(st.integers(1, 6))):
        ids = state.ids
        kind = draw(st.sampled_from(["merge", "split", "update", "move", "outlier", "delete", "add"]))
        if kind == "merge" and len(ids) >= 2:
            op = Merge(tuple(draw(st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True))))
        elif kind == "split":
            candidates = [c for c in ids if len(rows.members(c)) >= 2]
            if not candidates:
                continue
            members = rows.members(draw(st.sampled_from(candidates)))
            cut = draw(st.integers(1, len(members) - 1))
            op = Split(rows[members[0]].cluster_id, (tuple(members[:cut]), tuple(members[cut:])))
        elif kind == "move" and ids:
            op = Move(
                tuple(draw(st.lists(st.sampled_from(EPISODES), min_size=1, max_size=3, unique=True))),
                draw(st.sampled_from(ids)),
            )
        elif kind == "outlier":
            op = MarkOutlier(
                tuple(draw(st.lists(st.sampled_from(EPISODES), min_size=1, max_size=2, unique=True)))
            )
        elif kind == "delete" and len(ids) >= 2:
            op = Delete(draw(st.sampled_from(ids)), draw(st.sampled_from(["reassign", "outlier"])))
        elif kind == "add":
            op = Add(draw(st.sampled_from(["Wet floor", "Glare"])))
        elif ids:
            op = Update(draw(st.sampled_from(ids)), name=draw(st.sampled_from(["a", "b"])))
        else:
            continue
        result = apply_edits(state, rows, [op])
        state, rows = result.clusters, result.assignments
        ops.append(op)
    return ops


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_START = _state()


@_SETTINGS
@given(operations(*_START))
def test_every_episode_ends_in_exactly_one_cluster_or_outlier(ops) -> None:
    clusters, assignments = _START
    result = apply_edits(clusters, assignments, ops)
    labels = _labels(result.assignments)
    assert sorted(labels) == sorted(EPISODES)
    assert set(labels.values()) <= {*result.clusters.ids, OUTLIER}
    assert len(set(result.clusters.ids)) == len(result.clusters.ids)


@_SETTINGS
@given(operations(*_START))
def test_undoing_every_step_restores_the_original_exactly(ops) -> None:
    clusters, assignments = _START
    result = apply_edits(clusters, assignments, [])
    for op in ops:
        result = apply_edits(result.clusters, result.assignments, [op])
    for _ in ops:
        result = undo(result.clusters, result.assignments)
    assert result.clusters.state_dict() == clusters.state_dict()
    assert result.clusters.version == clusters.version
    restored = {a.episode_id: asdict(a) for a in result.assignments}
    assert restored == {a.episode_id: asdict(a) for a in assignments}


@_SETTINGS
@given(operations(*_START))
def test_save_load_and_replay_give_the_same_result(tmp_path_factory, ops) -> None:
    clusters, assignments = _START
    result = apply_edits(clusters, assignments, ops)
    folder = tmp_path_factory.mktemp("edits")
    loaded = ClusterSet.load(result.clusters.save(folder / "clusters.json"))
    assert loaded.state_dict() == result.clusters.state_dict()
    assert replay(loaded).state_dict() == result.clusters.state_dict()
    reloaded = Assignments.load(result.assignments.save(folder / "assignments.json"))
    assert reconcile(loaded, reloaded).touched == []
    assert _labels(reloaded) == _labels(result.assignments)
