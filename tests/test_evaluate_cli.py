"""``fmviz eval`` end to end on a tiny run folder (SYNTHETIC data), and the report section it feeds."""

from __future__ import annotations

import json
import re

import pandas as pd
import plotly.io as pio
import pytest

from fmviz.cli import main
from fmviz.loaders import save_manifest
from fmviz.testing import LoopbackServer, RecordedRequest
from fmviz.views.evaluation import render_evaluation_section
from tests.conftest import synthetic_dataset


@pytest.fixture
def run_dir(tmp_path):
    data = tmp_path / "data"
    save_manifest(synthetic_dataset(per_cause=6), data)
    out = tmp_path / "run"
    assert main(["run", str(data), "--out", str(out), "--no-report", "--map-method", "pca"]) == 0
    return out


def test_eval_writes_the_summary_tables_and_figures(run_dir, tmp_path, capsys) -> None:
    taxonomy = tmp_path / "causes.json"
    categories = [
        {"name": "Glass <b>doors</b>", "description": "transparent glass walls and doors"},
        {"name": "Chair legs", "description": "thin metal legs of chairs"},
        {"name": "Floor clutter", "description": "cables and backpacks on the floor"},
    ]
    taxonomy.write_text(json.dumps({"name": "causes", "categories": categories}))
    code = main(["eval", str(run_dir), "--taxonomy", str(taxonomy), "--baselines", "ea,ra"])
    assert code == 0
    out = capsys.readouterr().out
    assert "EA" in out
    assert "RA" in out
    folder = run_dir / "evaluation"
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["method"]) == ["fmviz (offline)", "EA", "RA"]
    assert (summary["labels"] == "label").all()
    assert summary["weighted_f1_optimal"].between(0, 1).all()
    assert summary.loc[0, "alignment"] > 0  # the run's clusters against the causes
    assert (folder / "summary.md").read_text().startswith("# Evaluation")
    for name in ("assignment.csv", "taxonomy.csv", "stability_reruns.csv", "assignment_f1.plotly.json"):
        assert (folder / name).exists(), name
    figure = pio.read_json(folder / "assignment_f1.plotly.json")
    assert len(figure.data) == 1
    section = render_evaluation_section(run_dir)
    assert section.startswith('<section id="evaluation">')
    assert "Glass <b>doors</b>" not in section  # taxonomy text is escaped in tables and figures
    assert "EA" in section


def test_a_run_that_was_not_evaluated_has_no_section(run_dir) -> None:
    assert render_evaluation_section(run_dir) == ""


def test_an_unknown_label_column_is_one_clear_line(run_dir, capsys) -> None:
    assert main(["eval", str(run_dir), "--labels", "Nope", "--no-stability"]) == 2
    err = capsys.readouterr().err
    assert "no episode has a value in label column 'Nope'" in err
    assert "Traceback" not in err


def test_an_unknown_baseline_is_one_clear_line(run_dir, capsys) -> None:
    assert main(["eval", str(run_dir), "--baselines", "kmeans", "--no-stability"]) == 2
    assert "unknown baseline" in capsys.readouterr().err


def scripted_judge(request: RecordedRequest) -> str:
    """Scores 8 for any pair sharing a word of four letters or more (scripted, not a model)."""
    first, second = (
        set(re.findall(r"[a-z]{4,}", t.lower())) for t in re.findall(r"<<<(.*?)>>>", request.prompt)
    )
    return json.dumps({"rationale": "scripted", "score": 8 if first & second else 2})


def test_eval_with_a_judge_scores_the_taxonomy_through_the_provider_and_caches(
    run_dir, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    cache = tmp_path / "judge.sqlite"
    taxonomy = tmp_path / "causes.csv"
    pd.DataFrame({"name": ["glass door collisions", "chair legs hit"]}).to_csv(taxonomy, index=False)
    with LoopbackServer(scripted_judge) as server:
        args = [
            "eval",
            str(run_dir),
            "--taxonomy",
            str(taxonomy),
            "--judge",
            "openai:judge-test",
            "--base-url",
            server.openai_base_url,
            "--cache",
            str(cache),
            "--no-stability",
        ]
        assert main(args) == 0
        n_categories = len(pd.read_csv(run_dir / "evaluation" / "taxonomy_matches__fmviz__offline.csv"))
        clusters = json.loads((run_dir / "clusters.json").read_text())["clusters"]
        assert server.count == 2 * len(clusters)  # one call per (cluster, category) pair
        assert all(r.model == "judge-test" for r in server.requests)
        server.reset()
        assert main(args) == 0
        assert server.count == 0
    taxonomy_table = pd.read_csv(run_dir / "evaluation" / "taxonomy.csv")
    assert taxonomy_table.loc[0, "judge"] == "llm"
    assert taxonomy_table.loc[0, "threshold"] == 7.0
    assert n_categories == 2
    assert "judge openai:judge-test" in capsys.readouterr().err


def test_eval_brings_an_existing_report_up_to_date(run_dir) -> None:
    assert main(["report", str(run_dir)]) == 0
    assert 'id="evaluation"' not in (run_dir / "report.html").read_text(encoding="utf-8")
    assert main(["eval", str(run_dir), "--baselines", "ea,ra", "--no-stability"]) == 0
    assert 'id="evaluation"' in (run_dir / "report.html").read_text(encoding="utf-8")
