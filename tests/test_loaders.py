"""Tests for fmviz.loaders: manifests, dataset folders and their round trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

from fmviz.episodes import Dataset, Episode
from fmviz.errors import InputWarning
from fmviz.loaders import DatasetError, load_dataset, save_manifest
from fmviz.video import TailSpec, select_tail, write_video


def _frames(count: int, value: int = 0):
    return (np.full((32, 48, 3), (value + 10 * i) % 256, np.uint8) for i in range(count))


@pytest.fixture
def media(tmp_path) -> Path:
    """A dataset folder with two small videos and one image-sequence folder."""
    root = tmp_path / "data"
    write_video(_frames(20), root / "videos" / "ep2.mp4", fps=10)
    write_video(_frames(20), root / "videos" / "ep10.mp4", fps=10)
    sequence = root / "seq_a"
    sequence.mkdir(parents=True)
    for i in range(4):
        PILImage.fromarray(np.full((16, 16, 3), 60 * i, np.uint8)).save(sequence / f"f{i}.png")
    return root


def _dataset(root: Path) -> Dataset:
    return Dataset(
        [
            Episode(
                "007",
                source=root / "videos" / "ep2.mp4",
                fps=10.0,
                failure_frame=12,
                task="pick up the mug",
                success_condition="mug on the shelf",
                action_plan=["reach", "grasp; firmly", "lift"],
                narrative="the gripper slipped",
                label="grasp slip",
                metadata={"robot": "ur5", "speed": 0.5},
            ),
            Episode("b", source=root / "seq_a", fps=2.0, failure_time=1.0, expert_reason="hit the table"),
            Episode("c", narrative="text only", metadata={"robot": "franka"}),
        ],
        name="demo",
        domain="manipulation",
        description="synthetic test data",
    )


def _comparable(dataset: Dataset) -> pd.DataFrame:
    frame = dataset.to_frame().astype(object)
    frame = frame.where(frame.notna(), None)
    frame["source"] = frame["source"].map(lambda s: None if s is None else str(Path(s).resolve()))
    return frame.sort_index(axis=1)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_manifest_round_trip(media, suffix):
    original = _dataset(media)
    path = save_manifest(original, media / "meta" / f"episodes{suffix}")
    loaded = load_dataset(path, domain="manipulation")
    assert loaded.ids == ["007", "b", "c"]
    assert loaded.domain == "manipulation"
    assert loaded.name == "episodes"
    pd.testing.assert_frame_equal(_comparable(loaded), _comparable(original), check_dtype=False)
    first = loaded["007"]
    assert first.action_plan == ["reach", "grasp; firmly", "lift"]
    assert first.metadata == {"robot": "ur5", "speed": 0.5}
    assert first.failure_frame == 12
    assert isinstance(first.failure_frame, int)
    # sources are written relative to the manifest and resolve back to real files
    stored = pd.read_parquet(path) if suffix == ".parquet" else None
    if stored is not None:
        assert stored["source"][0] == "../videos/ep2.mp4"
    assert select_tail(first, TailSpec(frames=2, fps=5.0)).indices.tolist() == [10, 12]
    assert len(select_tail(loaded["b"], TailSpec(frames=2, fps=2.0))) == 2


def test_folder_with_manifest_and_dataset_json(media):
    original = _dataset(media)
    manifest = save_manifest(original, media)
    assert manifest.name == "manifest.csv"
    assert json.loads((media / "dataset.json").read_text())["domain"] == "manipulation"
    loaded = load_dataset(media)
    assert (loaded.name, loaded.domain, loaded.description) == ("demo", "manipulation", "synthetic test data")
    assert loaded["b"].source == str(media / "seq_a")
    assert load_dataset(media, name="renamed").name == "renamed"


def test_hand_written_csv_with_semicolon_plan_and_extra_columns(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "manifest.csv").write_text(
        "id,source,task,action_plan,weather\n"
        "001,clip.mp4,park the car,slow down; turn left; stop,rain\n"
        "002,,drive,,\n"
    )
    with pytest.warns(InputWarning, match="episode '001': video file is empty"):
        loaded = load_dataset(tmp_path / "manifest.csv")
    assert loaded.ids == ["001", "002"]
    assert loaded["001"].action_plan == ["slow down", "turn left", "stop"]
    assert loaded["001"].source == str(tmp_path / "clip.mp4")
    assert loaded["001"].metadata == {"weather": "rain"}
    assert loaded["002"].source is None
    assert loaded["002"].action_plan == []
    assert loaded.name == tmp_path.name


def test_jsonl_plan_as_list_and_fps_argument(tmp_path):
    lines = [
        {"id": 1, "narrative": "bumped a wall", "action_plan": ["go", "turn"]},
        {"id": 2, "narrative": "lost track", "fps": 15},
    ]
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    loaded = load_dataset(path, fps=30)
    assert loaded.ids == ["1", "2"]
    assert loaded["1"].action_plan == ["go", "turn"]
    assert loaded["1"].fps == 30.0
    assert loaded["2"].fps == 15.0


def test_folder_of_videos_and_image_sequences(media):
    loaded = load_dataset(media / "videos", fps=10)
    assert loaded.ids == ["ep2", "ep10"]  # natural order
    assert all(episode.fps == 10.0 for episode in loaded)
    assert loaded.name == "videos"
    clip = select_tail(loaded["ep10"], TailSpec(frames=3, fps=5.0))
    assert clip.indices.tolist() == [15, 17, 19]
    mixed = load_dataset(media)  # no manifest yet: the image-sequence folder is the only episode
    assert mixed.ids == ["seq_a"]
    assert Path(mixed["seq_a"].source) == media / "seq_a"


def test_missing_path_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DatasetError, match=r"unknown manifest format '\.xlsx'"):
        load_dataset(tmp_path / "data.xlsx")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="nothing to load"):
        load_dataset(empty)
    with pytest.raises(DatasetError, match="unknown manifest format"):
        save_manifest(Dataset([Episode("a")]), tmp_path / "out.txt")


def test_bad_manifests(tmp_path):
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("name,source\na,x.mp4\n")
    with pytest.raises(DatasetError, match="no 'id' column"):
        load_dataset(no_id)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,narrative\na,one\nb,two\na,three\n")
    with pytest.raises(DatasetError, match="duplicate ids: 'a'"):
        load_dataset(dup)
    blank = tmp_path / "blank.csv"
    blank.write_text("id,narrative\na,one\n,two\n")
    with pytest.raises(DatasetError, match="without an id"):
        load_dataset(blank)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a"}\n{"id": \n')
    with pytest.raises(DatasetError, match=r"line 2 of .*broken\.jsonl"):
        load_dataset(broken)
    folder = tmp_path / "bad_info"
    folder.mkdir()
    (folder / "manifest.jsonl").write_text('{"id": "a"}\n')
    (folder / "dataset.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match=r"dataset\.json"):
        load_dataset(folder)


def test_array_sources_are_not_written(tmp_path):
    dataset = Dataset([Episode("a", source=np.zeros((2, 4, 4, 3), np.uint8), narrative="x")])
    with pytest.warns(UserWarning, match="in-memory frames"):
        path = save_manifest(dataset, tmp_path / "m.jsonl")
    assert load_dataset(path)["a"].source is None


def test_dataset_json_group_column_reaches_the_dataset(tmp_path):
    folder = tmp_path / "crashes"
    folder.mkdir()
    narratives = ["hit a pole", "rear-ended", "scraped a curb"]
    frame = pd.DataFrame({"id": ["r1", "r2", "r3"], "narrative": narratives, "company": list("ABA")})
    frame.to_csv(folder / "manifest.csv", index=False)
    info = {"name": "crashes", "domain": "driving", "group_column": "company"}
    (folder / "dataset.json").write_text(json.dumps(info), encoding="utf-8")
    dataset = load_dataset(folder)
    assert dataset.group_column == "company"
    assert dataset["r2"].metadata["company"] == "B"
    assert dataset.subset(["r3", "r1"]).group_column == "company"
    again = load_dataset(save_manifest(dataset, tmp_path / "copy").parent)
    assert again.group_column == "company"


def test_dataset_json_group_column_must_name_a_column(tmp_path):
    folder = tmp_path / "crashes"
    folder.mkdir()
    pd.DataFrame({"id": ["r1"], "narrative": ["hit a pole"]}).to_csv(folder / "manifest.csv", index=False)
    (folder / "dataset.json").write_text(json.dumps({"group_column": "Reporting Entity"}), encoding="utf-8")
    with pytest.raises(DatasetError, match="Reporting Entity"):
        load_dataset(folder)


def test_missing_and_broken_videos_are_named_in_one_warning_at_load(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"garbage" * 100)
    rows = "".join(f"m{i},gone{i}.mp4,crashed into a wall\n" for i in range(5))
    (tmp_path / "manifest.csv").write_text("id,source,narrative\nb,broken.mp4,hit a pole\n" + rows)
    with pytest.warns(InputWarning) as caught:
        dataset = load_dataset(tmp_path)
    assert len(dataset) == 6
    (warning,) = [w for w in caught if issubclass(w.category, InputWarning)]
    message = str(warning.message)
    assert message.startswith("6 of 6 episodes")
    assert "episode 'b'" in message
    assert "... and 3 more episodes" in message


def test_check_false_skips_the_source_check(tmp_path, recwarn):
    (tmp_path / "manifest.csv").write_text("id,source\na,gone.mp4\n")
    load_dataset(tmp_path, check=False)
    assert not [w for w in recwarn if issubclass(w.category, InputWarning)]


def test_a_header_only_manifest_is_a_dataset_error(tmp_path):
    (tmp_path / "manifest.csv").write_text("id,source,narrative\n")
    with pytest.raises(DatasetError, match="lists no episodes"):
        load_dataset(tmp_path)
