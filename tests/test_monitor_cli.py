"""``fmviz collect`` and ``fmviz monitor`` on a run folder: files written, clear one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fmviz.cli import main
from fmviz.loaders import save_manifest
from tests.conftest import synthetic_dataset


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor-cli")
    save_manifest(synthetic_dataset(per_cause=4), root / "data")
    out = root / "run"
    assert main(["run", str(root / "data"), "--out", str(out), "--no-report", "--map-method", "pca"]) == 0
    return out


def test_collect_writes_a_plan_that_spends_the_budget(run_dir, capsys) -> None:
    assert main(["collect", str(run_dir), "--budget", "17", "--severity", "C1=2"]) == 0
    plan = pd.read_csv(run_dir / "collection" / "plan.csv")
    assert plan["episodes_to_collect"].sum() == 17
    payload = json.loads((run_dir / "collection" / "plan.json").read_text())
    assert {i["cluster_id"] for i in payload["items"]} == set(plan["cluster_id"])
    assert "episodes_to_collect" in capsys.readouterr().out


def test_a_malformed_severity_is_one_clear_line(run_dir, capsys) -> None:
    assert main(["collect", str(run_dir), "--budget", "5", "--severity", "C1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fmviz: error: --severity takes CLUSTER=WEIGHT")
    assert "\n" not in err


def test_the_learned_monitor_without_safe_runs_is_one_clear_line(run_dir, capsys) -> None:
    assert main(["monitor", str(run_dir), "--source", "learned"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no safe_runs.csv" in err
    assert "Traceback" not in err


def test_monitor_on_a_missing_run_folder_is_one_clear_line(tmp_path, capsys) -> None:
    assert main(["monitor", str(tmp_path / "nope"), "--source", "llm"]) == 2
    assert capsys.readouterr().err.startswith("fmviz: error:")


def test_held_out_sets_are_generated_once_and_read_back_identically(tmp_path) -> None:
    from argparse import Namespace

    from fmviz.cli._monitor import _heldout

    args = Namespace(n_per_cause=1, n_safe=1, size="32x24", frames=8, seed=3)
    first = _heldout(args, tmp_path)
    assert len(list(tmp_path.glob("heldout-*.npz"))) == 1
    again = _heldout(args, tmp_path)
    assert set(again) == {"in_distribution", "out_of_distribution"}
    for half, episodes in first.items():
        assert [e.id for e in again[half]] == [e.id for e in episodes]
        for a, b in zip(episodes, again[half], strict=True):
            np.testing.assert_array_equal(a.frames, b.frames)
            assert (a.failed, a.failure_time, a.failure_mode) == (b.failed, b.failure_time, b.failure_mode)


def test_monitor_end_to_end_writes_table_ii_with_llm_rows_not_run_without_a_key(
    tmp_path, capsys, monkeypatch
) -> None:
    from fmviz.synth import generate_navigation

    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "nav"
    generate_navigation(data, n_per_cause=1, n_safe=4, size=(32, 24), frames=12, progress=False)
    run = tmp_path / "run"
    assert main(["run", str(data), "--out", str(run), "--no-report", "--map-method", "pca"]) == 0
    small = ["--n-per-cause", "1", "--n-safe", "2", "--size", "32x24", "--frames", "12"]
    assert main(["monitor", str(run), "--source", "learned", *small]) == 0
    cache = str(tmp_path / "calls.sqlite")
    assert main(["monitor", str(run), "--source", "llm", "--llm", "gemini", "--cache", cache, *small]) == 0
    table = pd.read_csv(run / "monitor" / "table.csv").set_index("method")
    assert table.loc["learned", "status"] == "ok"
    assert 0 <= table.loc["learned", "in_distribution_tpr"] <= 100
    assert table.loc["llm", "status"].startswith("not run:")
    assert pd.isna(table.loc["llm", "out_of_distribution_f1"])
    text = (run / "monitor" / "table.md").read_text()
    assert "| llm | not run |" in text
    metrics = pd.read_csv(run / "monitor" / "metrics.csv")
    assert set(metrics["method"]) == {"learned", "llm"}
