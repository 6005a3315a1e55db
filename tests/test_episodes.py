"""Episodes and datasets: construction, lookups and the DataFrame round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmviz.episodes import Dataset, Episode, EpisodeError


def test_action_plan_parses_json_and_separators() -> None:
    assert Episode("a", action_plan='["pick up apple", "put in bowl"]').action_plan == [
        "pick up apple",
        "put in bowl",
    ]
    assert Episode("b", action_plan="open fridge; take egg").action_plan == ["open fridge", "take egg"]
    assert Episode("c", action_plan="").action_plan == []


def test_known_text_prefers_narrative_then_expert_reason() -> None:
    assert Episode("a", narrative="  hit a chair ", expert_reason="x").known_text == "hit a chair"
    assert Episode("b", expert_reason="dropped the pot").known_text == "dropped the pot"
    assert Episode("c", narrative="   ").known_text is None


def test_context_fills_every_template_variable() -> None:
    context = Episode("a", task="boil water", action_plan=["pick pot", "fill pot"]).context()
    assert context["task"] == "boil water"
    assert context["action_plan"] == "pick pot; fill pot"
    assert context["success_condition"] == ""


def test_dataset_rejects_duplicate_ids_and_looks_up_by_id() -> None:
    with pytest.raises(ValueError, match="duplicate episode id 'a'"):
        Dataset([Episode("a"), Episode("a")])
    ds = Dataset([Episode("a"), Episode("b", label="x")], name="demo")
    assert ds["b"].label == "x"
    assert ds[0].id == "a"
    assert "b" in ds
    with pytest.raises(KeyError, match="no episode 'zz'"):
        ds["zz"]


def test_frame_round_trip_keeps_fields_metadata_and_paths(tmp_path) -> None:
    ds = Dataset(
        [
            Episode(
                "e1",
                source="clips/e1.mp4",
                fps=30.0,
                failure_time=3.5,
                task="t",
                action_plan=["a", "b"],
                label="glass door",
                metadata={"company": "ACME", "speed": 3},
            ),
            Episode("e2", narrative="bumped a box"),
        ],
        name="demo",
    )
    frame = ds.to_frame()
    assert list(frame.columns[:3]) == ["id", "source", "fps"]
    assert frame.loc[0, "company"] == "ACME"
    back = Dataset.from_frame(frame, name="demo", root=tmp_path)
    e1 = back["e1"]
    assert e1.source == str(tmp_path / "clips/e1.mp4")
    assert e1.failure_time == 3.5
    assert e1.action_plan == ["a", "b"]
    assert e1.metadata == {"company": "ACME", "speed": 3}
    assert back["e2"].source is None
    assert back["e2"].metadata == {}
    assert back["e2"].narrative == "bumped a box"


def test_array_sources_are_summarised_not_copied_into_tables() -> None:
    frames = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    frame = Dataset([Episode("a", source=frames, fps=10)]).to_frame()
    assert frame.loc[0, "source"] == "<array (4, 8, 8, 3) uint8>"
    back = Dataset.from_frame(frame)
    assert back["a"].source is None


def test_from_frame_needs_id_column() -> None:
    with pytest.raises(ValueError, match="'id' column"):
        Dataset.from_frame(pd.DataFrame({"narrative": ["x"]}))


def test_episode_error_names_the_episode() -> None:
    error = EpisodeError("crash-17", "video is empty")
    assert "crash-17" in str(error)
    assert error.episode_id == "crash-17"


def test_summary_counts() -> None:
    ds = Dataset([Episode("a", narrative="x", label="l"), Episode("b", source="v.mp4")])
    assert ds.summary() | {} == {
        "name": "dataset",
        "domain": "generic",
        "episodes": 2,
        "with_frames": 1,
        "with_known_text": 1,
        "with_label": 1,
    }
