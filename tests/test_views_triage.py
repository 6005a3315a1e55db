"""The triage view: map, scrubber and editor of one run, linked with browser-side links."""

from __future__ import annotations

import ipywidgets
import pytest
from _view_runs import make_run, run_with_map

from fmviz.results import Merge
from fmviz.views.triage import Triage


def link_pairs(view: Triage) -> set[tuple[str, str, str, str]]:
    return {
        (type(s[0]).__name__, s[1], type(t[0]).__name__, t[1])
        for s, t in ((link.source, link.target) for link in view.links)
    }


def test_the_three_views_are_joined_by_browser_side_links() -> None:
    view = Triage.from_run(run_with_map())
    assert all(isinstance(link, ipywidgets.widgets.widget_link.DirectionalLink) for link in view.links)
    assert link_pairs(view) == {
        ("EmbeddingMap", "selected_ids", "Scrubber", "filter_ids"),
        ("ClusterEditor", "selected_cluster", "EmbeddingMap", "highlight_cluster"),
        ("ClusterEditor", "selected_cluster", "Scrubber", "cluster_filter"),
    }
    assert view.children[-1] is view.editor
    assert len(view.scrubber.episodes) == 12


def test_a_read_only_triage_has_no_editor_and_one_link() -> None:
    view = Triage.from_run(run_with_map(), editor=False)
    assert view.editor is None
    assert link_pairs(view) == {("EmbeddingMap", "selected_ids", "Scrubber", "filter_ids")}


def test_an_edit_in_the_editor_recolours_the_map_and_renames_in_the_scrubber() -> None:
    view = Triage.from_run(run_with_map())
    assert [c["id"] for c in view.map.clusters] == ["C1", "C2", "C10", "outlier"]
    view.editor.request = {
        "id": 1,
        "action": "apply",
        "op": {"kind": "merge", "clusters": ["C1", "C2"], "name": "Both"},
    }
    assert view.editor.reply["ok"]
    assert [(c["id"], c["count"]) for c in view.map.clusters] == [("C10", 3), ("C11", 8), ("outlier", 1)]
    names = {e["id"]: e["cluster_name"] for e in view.scrubber.episodes}
    assert names["glass-0"] == "Both"
    assert names["chair-1"] == "Both"


def test_the_map_starts_with_the_current_clusters_after_edits_made_in_python() -> None:
    run = run_with_map()
    run.apply(Merge(("C2", "C10"), name="Floor and legs"))
    view = Triage.from_run(run)
    assert "Floor and legs" in [c["name"] for c in view.map.clusters]


def test_a_run_without_an_embedding_map_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="no embedding map"):
        Triage.from_run(make_run())
