"""The command line: help texts, the main job, single stages, the dry run, clear errors."""

from __future__ import annotations

import json

import pytest

from fmviz.cli import build_parser, main
from fmviz.loaders import save_manifest
from fmviz.results import ClusterSet, Reasons
from tests.conftest import synthetic_dataset


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    save_manifest(synthetic_dataset(per_cause=5), folder)
    return folder


def test_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "reasons", "clusters", "assign", "estimate", "report", "prompts", "synth"):
        assert command in out


@pytest.mark.parametrize("command", ["run", "reasons", "clusters", "assign", "estimate", "report"])
def test_each_command_has_help(command, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "usage: fmviz " + command in capsys.readouterr().out


def test_run_writes_results_and_report(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["run", str(data_dir), "--out", str(out), "--no-report", "--map-method", "pca"])
    assert code == 0
    assert ClusterSet.load(out / "clusters.json").ids
    assert (out / "assignments.parquet").exists()
    assert not (out / "report.html").exists()
    assert "C1" in capsys.readouterr().out


def test_stages_one_by_one_chain_through_files(data_dir, tmp_path) -> None:
    out = tmp_path / "stages"
    assert main(["reasons", str(data_dir), "--out", str(out)]) == 0
    assert len(Reasons.load(out / "reasons.json")) == 15
    assert main(["clusters", str(out / "reasons.json"), "--out", str(out), "--max-clusters", "3"]) == 0
    assert len(ClusterSet.load(out / "clusters.json")) <= 3
    assert main(["assign", str(out / "reasons.json"), str(out / "clusters.json"), "--out", str(out)]) == 0
    payload = json.loads((out / "assignments.json").read_text())
    assert len(payload["assignments"]) == 15


def test_estimate_spends_nothing_and_needs_no_key(data_dir, capsys, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = main(
        ["estimate", str(data_dir), "--clusters", "openai:o4-mini", "--assign", "openai:o4-mini", "--json"]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    by_stage = {row["stage"]: row for row in rows}
    assert by_stage["reasons"]["calls"] == 0
    assert by_stage["assign"]["calls"] == 15
    assert by_stage["clusters"]["calls"] == 6
    assert by_stage["total"]["cost_usd"] > 0


def test_unknown_engine_is_a_usage_error(data_dir, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(data_dir), "--out", "x", "--engine", "claude"])
    assert exit_info.value.code == 2
    assert "unknown engine 'claude'" in capsys.readouterr().err


def test_missing_data_is_one_clear_line(tmp_path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fmviz: error:")
    assert "Traceback" not in err


def test_prompt_override_must_be_name_equals_file(data_dir) -> None:
    with pytest.raises(SystemExit, match="NAME=FILE"):
        main(["reasons", str(data_dir), "--out", "x", "--prompt", "reasons.md"])


def test_parser_builds() -> None:
    assert build_parser().prog == "fmviz"


def test_a_library_warning_under_the_cli_prints_as_python_prints_it(capsys):
    # warnings.showwarning is called with (message, category, filename, lineno, file, line): a
    # library's deprecation warning (Ray's, in a run on Ray) used to raise TypeError here
    import warnings

    from fmviz.cli import _one_line_warning
    from fmviz.errors import InputWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _one_line_warning
        warnings.warn_explicit("`old_knob` is deprecated", DeprecationWarning, "lib.py", 7)
        warnings.warn_explicit("episode e1: no\n  frames", InputWarning, "fmviz/x.py", 3)
    err = capsys.readouterr().err
    assert "lib.py:7: DeprecationWarning: `old_knob` is deprecated" in err
    assert "fmviz: warning: episode e1: no frames" in err
    assert "fmviz/x.py" not in err
