"""``fmviz eval`` end to end on a tiny run folder (SYNTHETIC data), and the report section it feeds."""

from __future__ import annotations

import json

import pandas as pd
import plotly.io as pio
import pytest

from fmviz.cli import main
from fmviz.loaders import save_manifest
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
