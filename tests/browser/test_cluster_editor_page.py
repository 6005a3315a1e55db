"""The cluster editor's ES module in Chromium with a fake model; requests go back to Python.

The run is synthetic (tests/_view_runs.py). Each browser action must write one request into
the ``request`` trait; feeding that request to the Python editor must reach the run's log.
"""

from __future__ import annotations

import pytest
from _view_runs import make_run

from fmviz.results import Cluster, ClusterSet, MarkOutlier, Merge, Move, Split, Update
from fmviz.views.cluster_editor import ClusterEditor
from tests.browser.conftest import INJECTIONS

pytestmark = pytest.mark.e2e


def request_of(probe) -> dict:
    return probe.page.evaluate("window.fmvizModel.get('request')")


STATE = ("clusters", "members", "outliers", "outlier_total", "log", "pending_count", "version", "proposal")


def round_trip(probe, editor: ClusterEditor) -> dict:
    """What a kernel does: apply the page's request in Python, sync the state and reply back."""
    editor.request = request_of(probe)
    probe.page.evaluate(
        "([state, reply]) => { for (const [k, v] of Object.entries(state)) window.fmvizModel.set(k, v);"
        " window.fmvizModel.set('reply', reply); }",
        [{k: getattr(editor, k) for k in STATE}, editor.reply],
    )
    return editor.reply


def card(probe, cluster_id: str):
    return probe.page.locator(f'.fmviz-editor-card[data-cluster="{cluster_id}"]')


def test_the_editor_renders_clusters_in_natural_order_and_says_it_is_read_only(probe, mount) -> None:
    editor = ClusterEditor(make_run())
    mount(probe, editor, "editor_render")
    page = probe.page
    ids = page.locator(".fmviz-editor-card .fmviz-editor-id").all_inner_texts()
    assert ids == ["C1", "C2", "C10"]
    names = [
        page.locator(".fmviz-editor-card-top .fmviz-editor-input").nth(i).input_value() for i in range(3)
    ]
    assert names == ["Glass", "Chairs", "Cables"]
    assert request_of(probe)["action"] == "hello"
    banner = page.locator(".fmviz-editor-banner")
    banner.wait_for(state="visible", timeout=5000)  # nothing replies to the hello: no kernel
    assert "Read-only" in banner.inner_text()
    assert "Outlier queue: 1 to triage" in page.locator(".fmviz-editor-queue").inner_text()
    probe.screenshot("cluster_editor_render")
    assert probe.errors == []
    assert probe.blocked == []


def test_a_merge_in_the_browser_writes_the_operation_and_python_logs_it(probe, mount) -> None:
    run = make_run()
    editor = ClusterEditor(run)
    mount(probe, editor, "editor_merge")
    page = probe.page
    merge = page.locator(".fmviz-editor-merge")
    assert merge.is_disabled()
    card(probe, "C1").locator(".fmviz-editor-tick").check()
    card(probe, "C2").locator(".fmviz-editor-tick").check()
    assert merge.inner_text() == "Merge 2 selected"
    page.locator(".fmviz-editor-tools .fmviz-editor-input").fill("Missed obstacles")
    merge.click()
    request = request_of(probe)
    assert request["action"] == "apply"
    assert request["op"] == {"kind": "merge", "clusters": ["C1", "C2"], "name": "Missed obstacles"}
    probe.screenshot("cluster_editor_merge_request")
    reply = round_trip(probe, editor)
    assert reply["ok"], reply
    assert run.clusters.log.applied[-1].op == Merge(("C1", "C2"), name="Missed obstacles", new_id="C11")
    assert page.locator(".fmviz-editor-card .fmviz-editor-id").all_inner_texts() == ["C10", "C11"]
    assert page.locator(".fmviz-editor-status").inner_text().startswith("merge C1, C2")
    assert page.locator(".fmviz-editor-banner").is_hidden()
    page.locator(".fmviz-editor-log summary").click()
    assert "merge C1, C2" in page.locator(".fmviz-editor-log").inner_text()
    probe.screenshot("cluster_editor_merged")
    assert probe.errors == []


def test_rename_move_and_outlier_triage_write_their_operations(probe, mount) -> None:
    run = make_run()
    editor = ClusterEditor(run)
    mount(probe, editor, "editor_ops")
    page = probe.page
    name = card(probe, "C2").locator(".fmviz-editor-card-top .fmviz-editor-input")
    name.fill("Thin legs")
    name.press("Enter")
    name.blur()
    assert request_of(probe)["op"] == {"kind": "update", "cluster": "C2", "name": "Thin legs"}
    round_trip(probe, editor)
    assert run.clusters.log.applied[-1].op == Update("C2", name="Thin legs")

    outlier = page.locator('.fmviz-editor-outlier[data-episode="cable-3"]')
    outlier.locator("select").select_option("C10")
    outlier.get_by_role("button", name="Move").click()
    assert request_of(probe)["op"] == {"kind": "move", "episodes": ["cable-3"], "to": "C10"}
    round_trip(probe, editor)
    assert run.clusters.log.applied[-1].op == Move(("cable-3",), "C10")

    assert page.locator('.fmviz-editor-outlier[data-episode="cable-3"]').count() == 0  # left the queue
    glass = page.locator('.fmviz-editor-outlier[data-episode="glass-3"]')
    assert glass.count() == 0
    card(probe, "C1").get_by_role("button", name="Members").click()
    card(probe, "C1").locator('.fmviz-editor-member input[value="glass-3"]').check()
    card(probe, "C1").locator(".fmviz-editor-members").get_by_role("button", name="Mark outlier").click()
    assert request_of(probe)["op"] == {"kind": "outlier", "episodes": ["glass-3"]}
    round_trip(probe, editor)
    assert run.clusters.log.applied[-1].op == MarkOutlier(("glass-3",))
    assert "confirmed outlier" in page.locator('.fmviz-editor-outlier[data-episode="glass-3"]').inner_text()

    members = card(probe, "C1").locator(".fmviz-editor-member input")
    assert members.count() == 3
    members.nth(0).check()
    card(probe, "C1").locator(".fmviz-editor-members").get_by_role("button", name="Split off").click()
    op = request_of(probe)["op"]
    assert op["kind"] == "split"
    assert op["groups"][1] == ["glass-0"]
    assert sorted(op["groups"][0]) == ["glass-1", "glass-2"]

    page.get_by_role("button", name="Undo").click()
    assert request_of(probe)["action"] == "undo"
    card(probe, "C10").locator(".fmviz-editor-id").click()
    assert page.evaluate("window.fmvizModel.get('selected_cluster')") == "C10"
    probe.screenshot("cluster_editor_members")
    assert probe.errors == []


def test_model_text_with_injections_stays_inert_in_the_editor(probe, mount) -> None:
    run = make_run()
    run.clusters = ClusterSet(
        [
            Cluster(c.id, INJECTIONS[i], INJECTIONS[(i + 1) % 4], [INJECTIONS[(i + 2) % 4]])
            for i, c in enumerate(run.clusters)
        ],
    )
    run.assignments.cluster_set_version = run.clusters.version
    for k, reason in enumerate(run.reasons):
        reason.failure_reason = INJECTIONS[k % 4]
    editor = ClusterEditor(run)
    mount(probe, editor, "editor_injection")
    page = probe.page
    text = page.locator(".fmviz-editor").inner_text()
    assert INJECTIONS[0] in text
    assert INJECTIONS[1] in text
    assert (
        page.locator(".fmviz-editor img, .fmviz-editor svg, .fmviz-editor script, .fmviz-editor a").count()
        == 0
    )
    card(probe, "C1").get_by_role("button", name="Members").click()
    page.wait_for_timeout(300)
    probe.screenshot("cluster_editor_injection")
    assert probe.dialogs == []
    assert probe.errors == []


def test_an_engine_split_proposal_is_shown_and_applying_it_sends_its_operation(probe, mount) -> None:
    def splitter(cluster_id: str, n: int) -> Split:
        return Split(
            cluster_id, (("glass-0", "glass-1"), ("glass-2", "glass-3")), names=("Doors", "Walls"), by="test"
        )

    run = make_run()
    editor = ClusterEditor.from_results(run.clusters, run.assignments, run.reasons, splitter=splitter)
    mount(probe, editor, "editor_split")
    page = probe.page
    c1 = card(probe, "C1")
    c1.locator(".fmviz-editor-n").fill("2")
    c1.get_by_role("button", name="Split by engine into").click()
    assert request_of(probe) | {"id": 0} == {"id": 0, "action": "propose_split", "cluster": "C1", "n": 2}
    assert round_trip(probe, editor)["ok"]
    proposal = c1.locator(".fmviz-editor-proposal")
    assert "Doors (2)" in proposal.inner_text()
    assert "Walls (2)" in proposal.inner_text()
    probe.screenshot("cluster_editor_split_proposal")
    proposal.get_by_role("button", name="Apply split").click()
    assert request_of(probe)["op"] == editor.proposal["op"]
    round_trip(probe, editor)
    assert isinstance(editor.run.clusters.log.applied[-1].op, Split)
    assert {"Doors", "Walls"} <= set(editor.run.clusters.names().values())

    page.get_by_role("button", name="Add cluster").click()
    form = page.locator(".fmviz-editor-add")
    form.locator("input").nth(0).fill("Glare")
    form.locator("input").nth(1).fill("Sunlight blinds the camera")
    form.get_by_role("button", name="Add", exact=True).click()
    assert request_of(probe)["op"] == {
        "kind": "add",
        "name": "Glare",
        "description": "Sunlight blinds the camera",
    }
    card(probe, "C2").get_by_role("button", name="Delete").click()
    assert request_of(probe)["op"] == {"kind": "delete", "cluster": "C2"}
    assert probe.dialogs == []
    assert probe.errors == []


def test_with_a_kernel_answering_there_is_no_banner_and_assign_shows_progress(probe, mount) -> None:
    run = make_run()
    editor = ClusterEditor(run)
    groups = [["glass-0", "glass-1"], ["glass-2", "glass-3"]]
    editor.request = {"id": 1, "action": "apply", "op": {"kind": "split", "cluster": "C1", "groups": groups}}
    mount(probe, editor, "editor_assign")
    page = probe.page
    round_trip(probe, editor)  # the hello is answered, as a live kernel does
    page.wait_for_timeout(3000)  # past the read-only timeout
    assert page.locator(".fmviz-editor-banner").is_hidden()
    assign = page.get_by_role("button", name="Assign (4)")
    assign.click()
    assert request_of(probe)["action"] == "assign"
    page.evaluate("window.fmvizModel.set('progress', {done: 1, total: 4, running: true})")
    bar = page.locator(".fmviz-editor-progress")
    assert bar.is_visible()
    assert bar.evaluate("b => [b.value, b.max]") == [1, 4]
    assert page.locator(".fmviz-editor-status").inner_text() == "re-assigning the touched episodes: 1 of 4"
    probe.screenshot("cluster_editor_assign_progress")
    page.evaluate("window.fmvizModel.set('progress', {done: 4, total: 4, running: false})")
    assert bar.is_hidden()
    assert probe.errors == []
