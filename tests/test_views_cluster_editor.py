"""The cluster editor's Python side: browser requests reach the run's operation log.

Requests are written into the ``request`` trait exactly as the front end writes them (a dict
with an id, an action and an operation in ``op_to_dict`` form). The run is a real
:class:`fmviz.run.Run` over a small synthetic dataset (texts written for this test).
"""

from __future__ import annotations

import pytest
from _view_runs import TEXTS, make_run

from fmviz.results import ClusterSet, Merge, Split
from fmviz.views._widget import saved_size
from fmviz.views.cluster_editor import ClusterEditor, EditorLimits


def ask(editor: ClusterEditor, action: str, **extra: object) -> dict:
    request_id = (editor.reply.get("id") or 0) + 1
    editor.request = {"id": request_id, "action": action, **extra}
    assert editor.reply["id"] == request_id
    return editor.reply


def test_clusters_are_listed_in_natural_order_with_counts_and_examples() -> None:
    editor = ClusterEditor(make_run())
    assert [c["id"] for c in editor.clusters] == ["C1", "C2", "C10"]
    assert [c["count"] for c in editor.clusters] == [4, 4, 3]
    first = editor.clusters[0]
    assert first["examples"][0] == {"id": "glass-0", "text": TEXTS["glass"] + " (0)"}
    assert editor.outlier_total == 1
    assert editor.outliers[0]["id"] == "cable-3"


def test_a_merge_request_from_the_browser_appends_a_merge_to_the_log() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    reply = ask(editor, "apply", op={"kind": "merge", "clusters": ["C1", "C2"], "name": "Missed obstacles"})
    assert reply["ok"], reply
    entry = run.clusters.log.applied[-1]
    assert isinstance(entry.op, Merge)
    assert entry.op.clusters == ("C1", "C2")
    assert run.clusters.names() == {"C10": "Cables", "C11": "Missed obstacles"}
    assert [c["id"] for c in editor.clusters] == ["C10", "C11"]
    assert [c["count"] for c in editor.clusters] == [3, 8]
    assert editor.log["applied"][0]["summary"].startswith("merge C1, C2")
    assert editor.version == run.clusters.version


def test_undo_and_redo_restore_the_state_and_the_log() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    before = run.clusters.version
    ask(editor, "apply", op={"kind": "update", "cluster": "C2", "name": "Thin legs"})
    assert editor.clusters[1]["name"] == "Thin legs"
    reply = ask(editor, "undo")
    assert reply["ok"]
    assert reply["message"].startswith("undo: update C2")
    assert run.clusters.version == before
    assert editor.clusters[1]["name"] == "Chairs"
    undone = [{"index": 1, "kind": "update", "summary": reply["message"][6:], "touched": 0}]
    assert editor.log == {"applied": [], "undone": undone}
    ask(editor, "redo")
    assert editor.clusters[1]["name"] == "Thin legs"
    assert len(run.clusters.log) == 1


def test_moves_and_confirmed_outliers_empty_the_outlier_queue() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    ask(editor, "apply", op={"kind": "outlier", "episodes": ["glass-3"]})
    queue = {o["id"]: o["pinned"] for o in editor.outliers}
    assert queue == {"cable-3": False, "glass-3": True}
    assert editor.outliers[0]["id"] == "cable-3"  # unconfirmed first
    ask(editor, "apply", op={"kind": "move", "episodes": ["cable-3"], "to": "C10"})
    assert [o["id"] for o in editor.outliers] == ["glass-3"]
    assert run.current_assignments["cable-3"].pinned
    assert editor.clusters[2]["count"] == 4


def test_a_hand_split_marks_its_members_pending_and_assign_is_offered() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    groups = [["glass-0", "glass-1"], ["glass-2", "glass-3"]]
    reply = ask(editor, "apply", op={"kind": "split", "cluster": "C1", "groups": groups})
    assert reply["ok"], reply
    assert isinstance(run.clusters.log.applied[-1].op, Split)
    assert editor.pending_count == 4
    assert "4 episode(s) to re-assign" in reply["message"]
    assert "C1" not in [c["id"] for c in editor.clusters]


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        ({"action": "apply", "op": {"kind": "merge", "clusters": ["C1", "C1"]}}, "cannot merge C1, C1"),
        ({"action": "apply", "op": {"kind": "move", "episodes": ["glass-0"], "to": "C99"}}, "C99"),
        ({"action": "apply", "op": {"kind": "teleport"}}, "unknown edit operation 'teleport'"),
        ({"action": "apply", "op": {"kind": "merge"}}, "TypeError"),
        ({"action": "apply"}, "needs an operation"),
        ({"action": "undo"}, "nothing to undo"),
        ({"action": "redo"}, "nothing to redo"),
        ({"action": "propose_split", "cluster": "C1", "n": 40}, "split into 2 to 12 parts"),
        ({"action": "propose_split", "cluster": "C77", "n": 2}, "no cluster 'C77'"),
        ({"action": "fly"}, "unknown editor action 'fly'"),
    ],
)
def test_bad_requests_reply_with_one_line_and_change_nothing(request_body: dict, expected: str) -> None:
    run = make_run()
    editor = ClusterEditor(run)
    version = run.clusters.version
    reply = ask(editor, **request_body)
    assert reply["ok"] is False
    assert expected in reply["message"]
    assert "\n" not in reply["message"]
    assert "Traceback" not in reply["message"]
    assert run.clusters.version == version


def test_the_same_request_id_is_applied_once() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    body = {"id": 5, "action": "apply", "op": {"kind": "update", "cluster": "C1", "name": "X"}}
    editor.request = body
    editor.request = dict(body)  # a re-sync of the same request
    assert len(run.clusters.log) == 1


def test_assign_reassigns_only_the_touched_episodes_with_progress() -> None:
    seen: list[tuple[int, int]] = []

    def reassigner(reasons, clusters, assignments, progress):
        pending = assignments.pending_ids
        rows = {a.episode_id: a for a in assignments}
        for k, eid in enumerate(pending, start=1):
            first, second = clusters.log.applied[-1].op.new_ids
            target = second if eid.endswith(("2", "3")) else first
            rows[eid] = rows[eid].but(cluster_id=target, pending=False)
            progress(k, len(pending))
        return assignments.with_rows(list(rows.values()), cluster_set_version=clusters.version)

    run = make_run()
    editor = ClusterEditor.from_results(run.clusters, run.assignments, run.reasons, reassigner=reassigner)
    editor.observe(lambda change: seen.append((change["new"]["done"], change["new"]["total"])), "progress")
    groups = [["glass-0", "glass-1"], ["glass-2", "glass-3"]]
    ask(editor, "apply", op={"kind": "split", "cluster": "C1", "groups": groups})
    current = editor.run.current_assignments
    untouched = {a.episode_id: a for a in current if not a.episode_id.startswith("glass")}
    reply = ask(editor, "assign")
    assert reply["ok"], reply
    assert reply["message"] == "re-assigned 4 episode(s), 0 error(s)"
    assert editor.pending_count == 0
    assert (1, 4) in seen
    assert seen[-1] == (4, 4)
    assert editor.progress["running"] is False
    after = {a.episode_id: a for a in editor.run.assignments}
    assert all(after[e] == a for e, a in untouched.items())
    counts = {c["id"]: c["count"] for c in editor.clusters}
    assert counts == {"C2": 4, "C10": 3, "C11": 2, "C12": 2}


def test_assign_and_engine_split_without_an_engine_say_so() -> None:
    run = make_run()
    editor = ClusterEditor.from_results(run.clusters, run.assignments, run.reasons)
    assert "no assignment engine" in ask(editor, "assign")["message"]
    assert "no engine is attached" in ask(editor, "propose_split", cluster="C1", n=2)["message"]


def test_an_engine_split_proposal_is_shown_then_applied_from_its_op() -> None:
    def splitter(cluster_id: str, n: int) -> Split:
        members = [f"glass-{i}" for i in range(4)]
        groups = (tuple(members[:2]), tuple(members[2:]))
        return Split(cluster_id, groups, names=("Doors", "Walls"), by="test")

    run = make_run()
    editor = ClusterEditor.from_results(run.clusters, run.assignments, run.reasons, splitter=splitter)
    reply = ask(editor, "propose_split", cluster="C1", n=2)
    assert reply["ok"], reply
    assert [p["name"] for p in editor.proposal["parts"]] == ["Doors", "Walls"]
    assert len(editor.run.clusters.log) == 0  # a proposal is not an edit
    assert editor.proposal["op"]["groups"] == [["glass-0", "glass-1"], ["glass-2", "glass-3"]]  # plain JSON
    ask(editor, "apply", op=editor.proposal["op"])  # as the browser sends it back
    assert {"Doors", "Walls"} <= set(editor.run.clusters.names().values())


def test_a_real_run_edited_from_python_shows_after_refresh() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    run.apply(Merge(("C2", "C10")))
    assert len(editor.clusters) == 3
    editor.refresh()
    assert len(editor.clusters) == 2


def test_payload_stays_small_for_a_thousand_episodes() -> None:
    run = make_run(per_cause=334)
    editor = ClusterEditor(run, limits=EditorLimits(member_limit=200))
    assert all(len(m) <= 200 for m in editor.members.values())
    assert sum(c["count"] for c in editor.clusters) + editor.outlier_total == 1002
    size = saved_size(editor) - len(editor._esm) - len(editor._css)
    assert size < 250_000, size


def test_a_static_png_lists_the_clusters_for_viewers_without_javascript() -> None:
    png = ClusterEditor(make_run()).to_png()
    assert png is not None
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_editor_refuses_something_that_is_not_a_run() -> None:
    with pytest.raises(ValueError, match="needs a run with"):
        ClusterEditor(object())  # type: ignore[arg-type]


def test_limits_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="member_limit must be >= 0"):
        EditorLimits(member_limit=-1)


@pytest.mark.slow
def test_assign_and_split_proposal_through_a_real_run_and_the_offline_engine() -> None:
    run = make_run()
    editor = ClusterEditor(run)
    groups = [["glass-0", "glass-1"], ["glass-2", "glass-3"]]
    ask(editor, "apply", op={"kind": "split", "cluster": "C1", "groups": groups})
    others = {
        a.episode_id: a.cluster_id for a in run.current_assignments if not a.episode_id.startswith("glass")
    }
    reply = ask(editor, "assign")
    assert reply["message"] == "re-assigned 4 episode(s), 0 error(s)"
    assert editor.progress == {"done": 4, "total": 4, "running": False}
    assert editor.pending_count == 0
    after = run.assignments.labels()
    assert {e: after[e] for e in others} == others  # nothing else was re-asked
    assert {after[f"glass-{i}"] for i in range(4)} <= {"C11", "C12", "outlier"}
    reply = ask(editor, "propose_split", cluster="C2", n=2)
    assert reply["ok"], reply
    assert editor.proposal["cluster"] == "C2"
    assert sum(p["size"] for p in editor.proposal["parts"]) == 4
    assert len(run.clusters.log) == 1  # proposing is not editing


def test_edits_are_saved_to_the_run_folder_when_asked(tmp_path) -> None:
    run = make_run()
    run.save(tmp_path, report=False)
    editor = ClusterEditor(run, save_to=tmp_path)
    reply = ask(editor, "apply", op={"kind": "update", "cluster": "C1", "name": "Glass doors"})
    assert reply["message"].endswith(f"saved to {tmp_path}")
    saved = ClusterSet.load(tmp_path / "clusters.json")
    assert saved.names()["C1"] == "Glass doors"
    assert saved.version == run.clusters.version
    assert len(saved.log) == 1
