"""Editing a run: the fluent editor, re-assignment of touched episodes only, files and the CLI.

LLM answers come from a loopback server driven through the real ``openai`` client; the
responder picks the cluster whose listed name contains the episode's object word (scripted
text, not a model's output). Datasets are SYNTHETIC, built in the tests.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest

from fmviz.cli import main
from fmviz.engine import EngineOptions
from fmviz.episodes import Dataset, Episode
from fmviz.offline import OfflineEngine
from fmviz.pipeline import load_run, run_pipeline
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.results import OUTLIER, Cluster, ClusterSet, Reason, Reasons, StaleResultsWarning
from fmviz.run import Run
from fmviz.stages import LLMEngine
from fmviz.testing import LoopbackServer, RecordedRequest
from tests.conftest import synthetic_dataset

OBJECTS = ("glass", "chair", "cable", "stair")
REASON = re.compile(r"Failure reason: .*?\b(glass|chair|cable|stair)\b")
LISTING = re.compile(r"^- (C\d+) \| ([^|]*)\|", re.MULTILINE)


def responder(request: RecordedRequest) -> str:
    found = REASON.search(request.text)
    word = found.group(1) if found else ""
    for cluster_id, name in LISTING.findall(request.text):
        if word and word in name.lower():
            return json.dumps({"cluster_id": cluster_id, "rationale": f"mentions {word}"})
    return json.dumps({"cluster_id": "outlier", "rationale": "no cluster mentions it"})


def _llm_run(n: int, server: LoopbackServer, cache) -> Run:
    """A SYNTHETIC run of ``n`` episodes with an LLM-shaped cluster set, assigned by the LLM."""
    episodes = [Episode(f"ep-{i:04d}", narrative=f"hit the {OBJECTS[i % 4]} ({i})") for i in range(n)]
    dataset = Dataset(episodes, name="synthetic-edits", domain="navigation")
    reasons = Reasons([Reason(e.id, "drove on", e.narrative or "", engine="test") for e in episodes])
    clusters = ClusterSet(
        [
            Cluster(f"C{i + 1}", f"{word.title()} collisions", f"Contact with a {word}.")
            for i, word in enumerate(OBJECTS)
        ],
        provenance={"engine": "openai:o4-test"},
    )
    engine = _engine(server, cache)
    assignments = engine.assign(reasons, clusters)
    assignments.cluster_set_version = clusters.version
    run = Run(dataset, reasons, clusters, assignments)
    run.use_engine("assign", engine)
    return run


def _engine(server: LoopbackServer, cache) -> LLMEngine:
    provider = OpenAIProvider("o4-test", base_url=server.openai_base_url, api_key="test-key")
    return LLMEngine(LLM(provider, cache=cache, backoff_base=0.001, backoff_max=0.01, max_retries=1))


def test_split_of_one_cluster_reasks_at_most_its_members_and_a_rerun_makes_no_calls(tmp_path) -> None:
    cache = tmp_path / "calls.sqlite"
    with LoopbackServer(responder) as server:
        run = _llm_run(1000, server, cache)
        assert server.count == 1000
        members = run.assignments.members("C2")
        assert len(members) == 250
        run.edit().split("C2", groups=[members[:100], members[100:]], names=["Chair legs", "Chair seats"])
        run.save(tmp_path / "run", report=False)
        server.reset()
        outcome = run.reassign()
        assert outcome["reasked"] == 250
        assert 0 < server.count <= len(members)
        assert not run.stale
        labels = run.assignments.labels()
        assert {labels[m] for m in members} <= {"C5", "C6"}  # the split's new ids
        assert all(labels[e] == "C1" for e in run.assignments.members("C1"))
        # a rerun of the same re-assignment (from the saved, edited folder) is served by the cache
        again = load_run(tmp_path / "run")
        again.use_engine("assign", _engine(server, cache))
        server.reset()
        assert again.reassign()["reasked"] == 250
        assert server.count == 0
        assert again.assignments.labels() == labels


def test_merge_rename_and_move_make_no_calls_and_pins_survive(tmp_path) -> None:
    with LoopbackServer(responder) as server:
        run = _llm_run(40, server, tmp_path / "calls.sqlite")
        server.reset()
        glass = run.assignments.members("C1")
        run.edit().merge("C3", "C4", name="Floor hazards").rename("C2", "Thin legs").move(glass[:2], "C2")
        assert run.current_assignments.pending_ids == []
        assert run.reassign()["reasked"] == 0
        assert server.count == 0
        run.edit().delete("C2")  # C2's members (incl. the two pinned there) are re-asked
        run.reassign()
        assert run.assignments[glass[0]].cluster_id == "C1"  # pin to a deleted cluster is gone
        run.edit().move([glass[0]], "C5")
        run.edit().delete("C1")
        run.reassign()
        assert run.assignments[glass[0]].cluster_id == "C5"  # a pin is never overridden
        assert run.assignments[glass[0]].pinned


def test_editor_chains_logs_undoes_and_redoes() -> None:
    run = run_pipeline(synthetic_dataset(), options=EngineOptions(domain="navigation", map_method="pca"))
    first, second = run.clusters.ids[:2]
    original = run.clusters.version
    editor = run.edit().merge(first, second, name="Merged").rename(run.clusters.ids[-1], "Renamed")
    assert list(editor.log["kind"]) == ["merge", "update"]
    editor.undo()
    assert list(editor.log["undone"]) == [False, True]
    editor.redo().undo().undo()
    assert run.clusters.version == original
    with pytest.raises(ValueError, match="nothing to undo"):
        editor.undo()


def test_offline_split_by_engine_names_parts_and_reassigns_only_its_members() -> None:
    run = run_pipeline(
        synthetic_dataset(per_cause=10), options=EngineOptions(domain="navigation", map_method="pca")
    )
    biggest = max(run.clusters.ids, key=lambda c: len(run.assignments.members(c)))
    members = set(run.assignments.members(biggest))
    before = run.assignments.labels()
    run.edit().split(biggest, into=2)
    entry = run.clusters.log.applied[-1]
    assert entry.op.by == "offline"
    assert len(entry.op.centroids) == 2
    assert all(name.strip() for name in entry.op.names)
    assert set(run.current_assignments.pending_ids) == members
    assert run.reassign()["reasked"] == len(members)
    after = run.assignments.labels()
    assert {after[e] for e in members} <= set(entry.op.new_ids) | {OUTLIER}
    assert all(after[e] == before[e] for e in before if e not in members)


def test_results_made_before_an_edit_say_so(tmp_path) -> None:
    run = run_pipeline(synthetic_dataset(), options=EngineOptions(domain="navigation", map_method="pca"))
    run.save(tmp_path / "run")
    run.edit().delete(run.clusters.ids[0])
    run.save_clusters(tmp_path / "run")  # as `fmviz edit` does: assignments are now behind
    stale = load_run(tmp_path / "run")
    assert stale.stale
    with pytest.warns(StaleResultsWarning, match="await"):
        summary = stale.summary()
    assert summary["pending"].sum() > 0
    assert summary["assigned"].sum() == len(stale.dataset)  # every episode still counted
    html = stale.write_report(tmp_path / "report.html").read_text()
    assert "Out of date" in html


def test_llm_shaped_cluster_set_without_assignments_maps_and_assigns_offline() -> None:
    """Regression: the offline map read ``provenance["members"]`` and crashed on LLM sets."""
    reasons = Reasons([Reason(f"e{i}", "drove", f"hit the {OBJECTS[i % 4]}") for i in range(12)])
    clusters = ClusterSet(
        [Cluster(f"C{i + 1}", f"{w} collisions", f"contact with a {w}") for i, w in enumerate(OBJECTS)],
        provenance={"engine": "openai:o4-mini", "members": [{"index": 0, "clusters": {"clusters": []}}]},
    )
    engine = OfflineEngine()
    frame = engine.embedding_map(reasons, clusters, method="pca")
    assert len(frame) == 12
    assert set(engine.assign(reasons, clusters).labels()) == set(reasons.ids)


def test_cli_edit_then_assign_reasks_only_touched_episodes(tmp_path, capsys) -> None:
    run = run_pipeline(synthetic_dataset(), options=EngineOptions(domain="navigation", map_method="pca"))
    folder = tmp_path / "run"
    run.save(folder)
    target = run.clusters.ids[0]
    n = len(run.assignments.members(target))
    episode = run.assignments.members(run.clusters.ids[1])[0]
    assert main(["edit", str(folder), "--split", target, "--rename", f"{run.clusters.ids[1]}=Thin legs"]) == 0
    assert main(["edit", str(folder), "--move", f"{episode}={run.clusters.ids[2]}", "--show-log"]) == 0
    out = capsys.readouterr()
    assert "split" in out.out
    assert "await re-assignment" in out.err
    assert main(["assign", str(folder)]) == 0
    assert f"re-asked {n} episode(s)" in capsys.readouterr().out
    back = load_run(folder)
    assert not back.stale
    assert back.assignments[episode].pinned
    assert main(["edit", str(folder), "--undo"]) == 0
    assert len(load_run(folder).clusters.log.undone) == 1
    assert main(["report", str(folder)]) == 0
    assert main(["edit", str(folder), "--merge", "C1,C1"]) == 2
    assert "two or more different clusters" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StaleResultsWarning)
        assert "Thin legs" in (folder / "report.html").read_text()


NUMBERED = re.compile(r"^(\d+)\. .*?\b(legs|seat)\b", re.MULTILINE)


def split_responder(request: RecordedRequest) -> str:
    """Scripted split: members mentioning legs vs seats; the first answer has one part too many."""
    parts: dict[str, list[int]] = {"legs": [], "seat": []}
    for number, word in NUMBERED.findall(request.text):
        parts[word].append(int(number))
    clusters = [
        {"name": f"Chair {word} struck", "description": f"Contact with chair {word}.", "members": members}
        for word, members in parts.items()
    ]
    if "Give exactly" not in request.text:
        clusters.append({"name": "Extra", "description": "", "members": []})
    return json.dumps({"clusters": clusters})


def test_llm_split_proposal_is_repaired_and_covers_every_member(tmp_path) -> None:
    texts = [f"hit the chair {'legs' if i % 3 else 'seat'} ({i})" for i in range(9)]
    reasons = Reasons([Reason(f"e{i}", "drove", t) for i, t in enumerate(texts)])
    clusters = ClusterSet([Cluster("C1", "Chair collisions", "Contact with chairs.")])
    dataset = Dataset([Episode(f"e{i}", narrative=t) for i, t in enumerate(texts)], name="synthetic-split")
    with LoopbackServer(split_responder) as server:
        engine = _engine(server, tmp_path / "calls.sqlite")
        run = Run(dataset, reasons, clusters, _all_in(reasons))
        run.use_engine("clusters", engine)
        op = run.split_proposal("C1", 2)
        assert server.count == 2  # the first answer had 3 parts and was re-asked
        assert op.by == "openai:o4-test"
        assert sorted(e for g in op.groups for e in g) == sorted(reasons.ids)
        assert set(op.groups[0]) == {f"e{i}" for i in range(9) if i % 3}
        assert op.names == ("Chair legs struck", "Chair seat struck")
        run.apply(op)
        assert sorted(run.current_assignments.pending_ids) == sorted(reasons.ids)


def _all_in(reasons: Reasons):
    from fmviz.results import Assignment, Assignments

    return Assignments([Assignment(r.episode_id, "C1") for r in reasons])
