"""User-facing errors: one line naming the episodes, a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from fmviz.cli import main
from fmviz.errors import NoReasonsError, PromptTooLargeError, format_episode_errors


def test_format_episode_errors_lists_the_first_few_and_counts_the_rest():
    errors = {f"e{i}": f"episode 'e{i}': video file is empty" for i in range(8)}
    text = format_episode_errors(errors, limit=3)
    lines = text.splitlines()
    assert lines[:3] == [f"episode 'e{i}': video file is empty" for i in range(3)]
    assert lines[3] == "... and 5 more episodes with errors"


def test_format_episode_errors_names_episodes_the_message_does_not_name():
    text = format_episode_errors({"a": "timed out\nafter 5 s"}, separator="; ")
    assert text == "episode 'a': timed out after 5 s"


def test_no_reasons_error_carries_every_episode_error():
    errors = {"a": "episode 'a': source not found", "b": "episode 'b': timed out"}
    error = NoReasonsError("nav", errors, episodes=2)
    assert error.errors == errors
    assert "2 of 2 episodes failed" in str(error)
    assert "source not found" in str(error)
    assert "\n" not in str(error)
    assert "no episodes" in str(NoReasonsError("empty", {}, episodes=0))


def test_prompt_too_large_error_says_how_big_and_what_to_do():
    message = str(PromptTooLargeError("e1", "reasons", 250_000, 1_000_000, 128_000))
    assert "episode 'e1'" in message
    assert "250,000 tokens" in message
    assert "raise the cap" in message


def test_a_header_only_manifest_exits_non_zero_with_one_line(tmp_path, capsys):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id,source,narrative\n")
    code = main(["run", str(manifest), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    assert "lists no episodes" in err


def test_a_dataset_where_every_episode_fails_stage_1_exits_non_zero_with_one_line(tmp_path, capsys):
    (tmp_path / "manifest.csv").write_text("id,source\na,a.mp4\nb,b.mp4\n")
    code = main(["run", str(tmp_path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("fmviz: error:")]
    assert len(error_lines) == 1
    warning_lines = [line for line in err.splitlines() if line.startswith("fmviz: warning:")]
    assert any("source not found" in line and "'a'" in line for line in warning_lines)


def test_no_reasons_error_is_raised_by_the_pipeline_when_every_episode_fails(tmp_path):
    from fmviz.episodes import Dataset, Episode
    from fmviz.pipeline import run_pipeline
    from fmviz.results import Reasons

    class Failing:
        spec = "failing"

        def infer_reasons(self, dataset):
            return Reasons([], {e.id: f"episode {e.id!r}: unreadable" for e in dataset})

    dataset = Dataset([Episode("a"), Episode("b")], name="broken")
    with pytest.raises(NoReasonsError) as raised:
        run_pipeline(dataset, reasons=Failing(), embedding_map=False)
    assert set(raised.value.errors) == {"a", "b"}
