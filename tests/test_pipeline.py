"""The whole pipeline: offline end to end, engines mixed per stage, saving, the report.

Mixed runs drive the real OpenAI client against a loopback server whose answers are
scripted by the test from the prompt's content (scripted text, not a model's output).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fmviz.episodes import Dataset, Episode
from fmviz.evaluate.metrics import cluster_agreement
from fmviz.pipeline import EngineOptions, load_run, parse_spec, run_pipeline
from fmviz.results import OUTLIER, Assignment, Assignments, Cluster, ClusterSet, Reason, Reasons
from fmviz.testing import LoopbackServer, RecordedRequest
from fmviz.views.report import render_report
from tests.conftest import synthetic_dataset

FAST = {"map_method": "pca"}


@pytest.fixture(scope="module")
def offline_result():
    return run_pipeline(synthetic_dataset(), options=EngineOptions(domain="navigation", **FAST))


def test_offline_pipeline_assigns_every_episode_to_a_known_cluster(offline_result) -> None:
    result = offline_result
    assert len(result.reasons) == 24
    assert set(result.assignments.labels()) == set(result.dataset.ids)
    valid = set(result.clusters.ids) | {OUTLIER}
    assert set(result.assignments.labels().values()) <= valid
    assert result.engines == {"reasons": "offline", "clusters": "offline", "assign": "offline"}
    truth = {e.id: e.label for e in result.dataset}
    # three well-separated synthetic causes: the offline engine must mostly recover them
    assert cluster_agreement(result.assignments.labels(), truth)["nmi"] >= 0.6


def test_table_and_summary_line_up(offline_result) -> None:
    table = offline_result.table()
    assert len(table) == 24
    assert table["cluster_name"].notna().all()
    summary = offline_result.summary()
    assert summary["assigned"].sum() == 24
    assert summary["share"].sum() == pytest.approx(1.0)


def test_save_and_load_round_trip(offline_result, tmp_path) -> None:
    written = offline_result.save(tmp_path / "run")
    for kind in ("reasons", "clusters", "assignments", "table", "summary", "embedding_map", "report"):
        assert written[kind].exists(), kind
    back = load_run(tmp_path / "run")  # from the folder alone: its copy of the dataset, engines, options
    assert back.assignments.labels() == offline_result.assignments.labels()
    assert back.clusters.to_frame().equals(offline_result.clusters.to_frame())
    assert back.dataset.ids == offline_result.dataset.ids
    assert back.engines == offline_result.engines
    assert back.options["map_method"] == "pca"
    assert not back.stale
    html = written["report"].read_text()
    assert "Plotly" in html
    # standalone: no script is fetched from the network
    assert not re.search(r"<script[^>]+src=", html)


def _responder(request: RecordedRequest) -> str:
    """Scripted stage-2/3 answers derived from the words in the prompt."""
    text = request.text
    if "alternative versions" in text:
        count = int(re.search(r"Write (\d+) alternative", text).group(1))
        original = text.split("<<<", 1)[1].split(">>>", 1)[0].strip()
        return json.dumps({"prompts": [f"Variant {i}: {original}" for i in range(count)]})
    if "cluster_id must be exactly one of" in text:
        reason = request.prompt.split("Failure reason:", 1)[1].lower()
        for cid, word in (("C1", "glass"), ("C2", "chair"), ("C3", "cable")):
            if word in reason:
                return json.dumps({"cluster_id": cid, "rationale": f"mentions {word}"})
        return json.dumps({"cluster_id": "outlier", "rationale": "no keyword"})
    clusters = [
        {"name": "Transparent obstacles", "description": "glass", "keywords": ["glass"], "frequency": 0.34},
        {"name": "Thin legs", "description": "chair legs", "keywords": ["chair"], "frequency": 0.33},
        {"name": "Floor clutter", "description": "cables", "keywords": ["cable"], "frequency": 0.33},
    ]
    return json.dumps({"clusters": clusters})


def test_engines_mix_per_stage_and_a_rerun_makes_no_calls(tmp_path) -> None:
    dataset = synthetic_dataset(per_cause=4)
    with LoopbackServer(_responder) as server:
        options = EngineOptions(
            base_url=server.openai_base_url,
            cache=tmp_path / "calls.sqlite",
            domain="navigation",
            clean_text=False,  # keep every narrative distinct, so each assignment is its own call
            **FAST,
        )
        result = run_pipeline(
            dataset, clusters="openai:test-model", assign="openai:test-model", options=options
        )
        first = server.count
        again = run_pipeline(
            dataset, clusters="openai:test-model", assign="openai:test-model", options=options
        )
        assert server.count == first
    assert result.engines == {
        "reasons": "offline",
        "clusters": "openai:test-model",
        "assign": "openai:test-model",
    }
    # 1 paraphrase + 4 members + 1 aggregate, then one assignment call per episode
    assert first == 6 + len(dataset)
    assert [c.name for c in result.clusters] == ["Transparent obstacles", "Thin legs", "Floor clutter"]
    labels = result.assignments.labels()
    assert {labels[e.id] for e in dataset if e.label == "glass"} == {"C1"}
    assert again.assignments.labels() == labels
    ledger = result.ledger.summary()
    assert set(ledger["stage"]) >= {"clusters", "assign"}


def test_key_never_lands_in_results_cache_or_report(tmp_path, monkeypatch) -> None:
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    dataset = synthetic_dataset(per_cause=2)
    with LoopbackServer(_responder) as server:
        options = EngineOptions(base_url=server.openai_base_url, cache=tmp_path / "calls.sqlite", **FAST)
        result = run_pipeline(dataset, clusters="openai:m", assign="openai:m", options=options)
        assert {k.lower(): v for k, v in server.requests[0].headers.items()}.get(
            "authorization", ""
        ).endswith(secret)
    result.save(tmp_path / "out")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_report_escapes_untrusted_text() -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    dataset = Dataset([Episode(f"e{i}", narrative=evil) for i in range(3)], name=f"ds {evil}")
    reasons = Reasons([Reason(f"e{i}", evil, evil, evil, "test") for i in range(3)])
    clusters = ClusterSet([Cluster("C1", evil, evil, [evil], 1.0)])
    assignments = Assignments([Assignment(f"e{i}", "C1", evil) for i in range(3)])
    from fmviz.results import RunResult

    html = render_report(RunResult(dataset, reasons, clusters, assignments, {"reasons": evil}))
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert" in html


def test_no_text_and_no_provider_says_how_to_configure(tmp_path) -> None:
    dataset = Dataset([Episode("a", source=str(tmp_path / "a.mp4"))], name="clips")
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        run_pipeline(dataset, options=EngineOptions(**FAST))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("offline", ("offline", None)),
        ("gemini", ("gemini", None)),
        ("openai:llama3:8b", ("openai", "llama3:8b")),
    ],
)
def test_parse_spec(spec, expected) -> None:
    assert parse_spec(spec) == expected


def test_parse_spec_rejects_unknown_providers() -> None:
    with pytest.raises(ValueError, match="unknown engine 'claude'"):
        parse_spec("claude")


def test_sample_navigation_runs_offline(tmp_path) -> None:
    from fmviz.loaders import load_dataset

    dataset = load_dataset(Path(__file__).parents[1] / "sample_data" / "navigation")
    result = run_pipeline(dataset, options=EngineOptions(domain=dataset.domain, **FAST))
    assert len(result.assignments) == len(dataset)
    assert 3 <= len(result.clusters) <= 20


def test_report_shows_the_curve_the_number_of_modes_was_chosen_from() -> None:
    dataset = Dataset([Episode(f"e{i}", narrative="x") for i in range(3)], name="ds")
    reasons = Reasons([Reason(f"e{i}", "t", "r", "raw", "offline") for i in range(3)])
    selection = {
        "metric": "silhouette (cosine)",
        "rule": "knee",
        "applied": "knee <b>",
        "scores": {"2": 0.3, "3": 0.4},
        "chosen": 3,
    }
    signal = {
        "method": "centring + nullspace projection",
        "sources": 4,
        "removed_directions": 6,
        "balanced_accuracy": [0.4, 0.2],
        "chance": 0.25,
    }
    clusters = ClusterSet(
        [Cluster("C1", "n", "d", [], 1.0)], {"k_selection": selection, "source_signal": signal}
    )
    assignments = Assignments([Assignment(f"e{i}", "C1", "") for i in range(3)])
    from fmviz.results import RunResult

    html = render_report(
        RunResult(dataset, reasons, clusters, assignments, {"clusters": "offline"}), widgets=False
    )
    assert "How many failure modes" in html
    assert "chosen: k = 3" in html
    assert "6 directions removed" in html
    assert "knee <b>" not in html
    bare = ClusterSet([Cluster("C1", "n", "d", [], 1.0)])  # an LLM chose k: no curve, no section
    assert "How many failure modes" not in render_report(
        RunResult(dataset, reasons, bare, assignments, {"clusters": "openai"}), widgets=False
    )


def test_report_says_how_many_narratives_were_boilerplate_only() -> None:
    import pandas as pd

    from fmviz.results import BOILERPLATE_ONLY, RunResult

    dataset = Dataset([Episode(f"e{i}", narrative="x") for i in range(3)], name="ds")
    flags = [{BOILERPLATE_ONLY: True}, {BOILERPLATE_ONLY: True}, {}]
    reasons = Reasons([Reason(f"e{i}", "t", "r", "raw", "offline", flag) for i, flag in enumerate(flags)])
    clusters = ClusterSet([Cluster("C1", "n", "d", [], 1.0)])
    assignments = Assignments(
        [Assignment("e0", OUTLIER, ""), Assignment("e1", OUTLIER, ""), Assignment("e2", "C1", "")]
    )
    row = {"kind": "sentence", "pattern": "p", "group": None, "docs": 3, "doc_share": 1.0}
    cleaning = pd.DataFrame([row])
    run = RunResult(dataset, reasons, clusters, assignments, {"clusters": "offline"}, cleaning=cleaning)
    assert "2 narratives are reporting boilerplate and nothing else" in render_report(run, widgets=False)
