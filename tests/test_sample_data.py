"""Tests of the shipped case-study datasets in sample_data/ (never reads ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pandas as pd
import pytest

from fmviz.loaders import load_dataset
from fmviz.synth import CAUSES, plan_episodes, simulate_episode

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
CASES = {"driving": 300, "manipulation": 31, "navigation": 80}
BUDGET_BYTES = 4_000_000


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(("case", "count"), CASES.items())
def test_case_loads_with_expected_counts(case, count):
    dataset = load_dataset(SAMPLE / case)
    info = json.loads((SAMPLE / case / "dataset.json").read_text())
    assert len(dataset) == count
    assert dataset.domain == info["domain"] == case
    assert dataset.name == case
    assert dataset.description
    assert len(set(dataset.ids)) == count
    for episode in dataset:
        assert episode.known_text, episode.id
        if episode.source is not None:
            assert Path(episode.source).is_file(), episode.id


@pytest.mark.parametrize("case", CASES)
def test_readme_states_source_licence_and_rebuild_command(case):
    text = (SAMPLE / case / "README.md").read_text()
    assert "Licence" in text
    assert "python scripts/build_sample_data.py" in text
    marks = {"driving": ["REAL"], "manipulation": ["REAL", "SIMULATED"], "navigation": ["SYNTHETIC"]}[case]
    assert all(mark in text for mark in marks)
    assert ("SYNTHETIC" in text) == (case == "navigation")


def test_total_size_within_budget():
    assert _size(SAMPLE) < BUDGET_BYTES


def test_driving_is_real_text_from_many_reporters():
    frame = load_dataset(SAMPLE / "driving").to_frame()
    entities = frame["Reporting Entity"].value_counts()
    assert len(entities) >= 10
    assert entities.iloc[0] / len(frame) < 0.4  # not one company only
    assert frame["label"].nunique() >= 10
    assert frame["source"].isna().all()
    assert frame["narrative"].str.len().min() >= 200
    assert frame["id"].str.fullmatch(r"\d+-\d+").all()
    assert frame["notes"].str.contains("added by fmviz").all()


def test_manipulation_has_real_context_and_one_simulated_video():
    dataset = load_dataset(SAMPLE / "manipulation")
    assert (SAMPLE / "manipulation" / "LICENSE").read_text().startswith("MIT License")
    with_video = [e for e in dataset if e.source is not None]
    assert [e.id for e in with_video] == ["thor-boilWater-1"]
    thor = with_video[0]
    assert thor.fps == 1.0
    assert thor.failure_time == 31.0
    assert "simulated" in thor.metadata["origin"]
    with av.open(str(thor.source)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 46
    assert frames[0].shape == (320, 320, 3)
    real = [e for e in dataset if e.source is None]
    assert len(real) == 30
    assert all(e.expert_reason and e.task and e.success_condition and e.action_plan for e in real)
    assert all(e.label is None for e in dataset)  # no invented taxonomy
    ranged = next(e for e in real if e.id == "putAppleBowl1")
    assert json.loads(ranged.metadata["gt_failure_step"]) == ["01:00", "01:09"]
    assert ranged.failure_time == 60.0


def test_navigation_is_balanced_synthetic_and_decodes():
    root = SAMPLE / "navigation"
    dataset = load_dataset(root)
    labels = pd.Series([e.label for e in dataset]).value_counts()
    assert sorted(labels.index) == sorted(CAUSES)
    assert (labels == 10).all()
    assert all(e.metadata["synthetic"] in (True, "True") for e in dataset)
    assert all(e.failure_frame == 31 for e in dataset)
    safe = pd.read_csv(root / "safe_runs.csv")
    assert len(safe) == 20
    assert (safe["label"] == "safe").all()
    assert safe["failure_frame"].isna().all()
    for source in [*list(safe["source"][:2]), dataset[0].source]:
        with av.open(str(root / source)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == 32
        assert frames[0].shape == (96, 128, 3)


def test_navigation_manifest_matches_the_generator():
    """The committed narratives are what the current generator writes (no stale data)."""
    dataset = load_dataset(SAMPLE / "navigation")
    plan = {episode_id: (cause, seed) for episode_id, cause, seed in plan_episodes(10, 20, seed=0)}
    for episode in dataset.head(2):
        cause, seed = plan[episode.id]
        rerun = simulate_episode(cause, seed, size=(128, 96), fps=10.0, frames=32)
        assert rerun.label == episode.label
        assert rerun.narrative == episode.narrative
