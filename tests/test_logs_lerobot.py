"""LeRobot folders in (v3.0 shared videos, v2.1 per-episode videos), read without ``lerobot``.

Every dataset here is SYNTHETIC, written by fmviz.synth.export_lerobot into tmp_path.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fmviz
from fmviz.cli import main
from fmviz.episodes import EpisodeError
from fmviz.logs import LogError, camera_keys, load_lerobot
from fmviz.synth.export_lerobot import CAMERA_KEY, export_navigation_lerobot
from fmviz.synth.export_logs import navigation_episodes
from fmviz.video import TailSpec, select_tail

CAUSES = ("glass_door", "dark_box")
SPEC = TailSpec(frames=4, fps=2.0, max_side=None)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lerobot")
    options = {
        "n_per_cause": 1,
        "n_safe": 2,
        "causes": CAUSES,
        "size": (64, 48),
        "frames": 24,
        "progress": False,
    }
    return {
        v: (export_navigation_lerobot(root / v, version=v, **options), root / v)[1] for v in ("v3.0", "v2.1")
    }


@pytest.fixture(scope="module")
def runs() -> list:
    return list(navigation_episodes(1, 2, causes=CAUSES, size=(64, 48), frames=24, progress=False))


def _close(frame: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(frame.astype(int) - reference.astype(int)).mean())


@pytest.mark.parametrize("version", ["v3.0", "v2.1"])
def test_failed_episodes_with_tasks_and_tails_from_their_own_frames(written, runs, version: str) -> None:
    dataset = fmviz.load_dataset(written[version], camera=CAMERA_KEY)
    failed = [i for i, run in enumerate(runs) if run.collided]
    assert [e.metadata["episode_index"] for e in dataset] == failed  # safe runs are marked successful
    assert all(e.metadata["success"] is False for e in dataset)
    for episode in dataset:
        run = runs[episode.metadata["episode_index"]]
        assert episode.task == run.task
        assert episode.label == run.label
        assert episode.narrative == run.narrative
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clip = select_tail(episode, SPEC)
        last = len(run.frames) - 1
        assert list(clip.indices) == [last - 15, last - 10, last - 5, last]
        assert clip.source_times[-1] == pytest.approx(last / 10.0)
        for frame, index in zip(clip.frames, clip.indices, strict=True):
            assert _close(frame, run.frames[index]) < 6.0  # h264 at crf 20


def test_a_v3_tail_never_reaches_into_the_previous_episode(written, runs) -> None:
    dataset = load_lerobot(written["v3.0"])
    episode = next(e for e in dataset if e.metadata["episode_index"] > 0)
    assert episode.metadata["video_segment_start"] > 0  # shares the file with earlier episodes
    with pytest.warns(fmviz.errors.InputWarning, match="only 3 of 8"):
        clip = select_tail(episode, TailSpec(frames=8, fps=1.0, max_side=None))
    run, previous = runs[episode.metadata["episode_index"]], runs[episode.metadata["episode_index"] - 1]
    assert clip.short
    assert clip.source_times[0] >= 0
    assert _close(clip.frames[0], run.frames[clip.indices[0]]) < _close(clip.frames[0], previous.frames[-1])


def test_success_comes_from_the_frames_when_the_episode_table_has_none(written) -> None:
    table = pd.read_json(written["v2.1"] / "meta" / "episodes.jsonl", lines=True)
    assert "success" not in table.columns  # v2.1 here marks success only in next.success
    assert len(load_lerobot(written["v2.1"])) == 2
    assert "success marks" in load_lerobot(written["v2.1"]).description


def test_cameras_and_bad_input(written, tmp_path: Path) -> None:
    info = json.loads((written["v3.0"] / "meta" / "info.json").read_text())
    assert camera_keys(info) == [CAMERA_KEY]
    with pytest.raises(LogError, match=r"no video camera 'observation\.images\.top'"):
        load_lerobot(written["v3.0"], camera="observation.images.top")
    with pytest.raises(LogError, match="--camera, not --topic"):
        fmviz.load_dataset(written["v3.0"], topic="/camera/front")
    broken = tmp_path / "broken"
    (broken / "meta").mkdir(parents=True)
    (broken / "meta" / "info.json").write_text("{not json")
    with pytest.raises(LogError, match="cannot read LeRobot"):
        fmviz.load_dataset(broken)
    (episode,) = list(load_lerobot(written["v3.0"]))[:1]
    late = type(episode)(episode.id, source=episode.source, failure_time=60.0, metadata=episode.metadata)
    with pytest.raises(EpisodeError, match="outside the episode's"):
        select_tail(late, SPEC)


@pytest.mark.slow  # loads the offline engine's embedding model
def test_cli_run_on_a_lerobot_folder(written, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["run", str(written["v3.0"]), "--camera", CAMERA_KEY, "--out", str(out), "--no-report"]
    assert main([*argv, "--map-method", "pca"]) == 0
    assert (out / "run.json").is_file()
    saved = pd.read_csv(out / "dataset" / "manifest.csv")
    assert set(saved["lerobot_camera"]) == {CAMERA_KEY}
    assert main(["run", str(written["v3.0"]), "--camera", "nope", "--out", str(out)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("fmviz: error: LeRobot dataset")
    assert "no video camera 'nope'" in line
