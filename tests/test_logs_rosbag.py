"""ROS 1 bags in (rosbags): tails equal what was written, failure time, text, index reads, CLI.

Every bag here is SYNTHETIC, written by fmviz.synth.export_logs (rosbags' writer) into tmp_path.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _log_files import FPS, long_episode, nav_episode
from rosbags.rosbag1 import Writer
from rosbags.typesys import Stores, get_typestore

import fmviz
from fmviz.cli import main
from fmviz.logs import LogError, load_log_dataset, open_log, read_tail
from fmviz.synth.export_logs import write_episode_log
from fmviz.video import TailSpec, select_tail

LOSSLESS = TailSpec(frames=8, fps=2.0, max_side=None)


@pytest.mark.parametrize("compression", ["raw", "png"])
def test_bag_tail_frames_are_the_written_frames(tmp_path: Path, compression: str) -> None:
    nav = nav_episode()
    path = write_episode_log(nav, tmp_path / "run.bag", FPS, compression=compression, post_roll=1.0)
    (episode,) = fmviz.load_dataset(path, topic="/camera/front")
    contact = len(nav.frames) - 1
    assert episode.metadata["log_format"] == "rosbag"
    assert episode.failure_time == pytest.approx(contact / FPS)
    assert episode.narrative == " ".join(nav.narrative.split())
    clip = select_tail(episode, LOSSLESS)
    assert list(clip.indices) == [contact - 5 * i for i in range(7, -1, -1)]
    for frame, index in zip(clip.frames, clip.indices, strict=True):
        np.testing.assert_array_equal(frame, nav.frames[index])


def test_bag_end_of_recording_and_manifest_failure_time(tmp_path: Path) -> None:
    nav = nav_episode()
    path = write_episode_log(nav, tmp_path / "run.bag", FPS, compression="png", marker=False, post_roll=0.5)
    (episode,) = load_log_dataset(path)
    assert episode.failure_time is None
    assert select_tail(episode, LOSSLESS).indices[-1] == len(nav.frames) - 1 + 5
    pd.DataFrame([{"id": "at-2s", "source": "run.bag", "failure_time": 2.0}]).to_csv(
        tmp_path / "manifest.csv", index=False
    )
    (listed,) = fmviz.load_dataset(tmp_path / "manifest.csv")
    clip = select_tail(listed, TailSpec(frames=2, fps=1.0, max_side=None))
    assert list(clip.indices) == [10, 20]
    np.testing.assert_array_equal(clip.frames[-1], nav.frames[20])


def test_bag_tail_reads_only_the_window(tmp_path: Path) -> None:
    nav = long_episode(30.0)
    path = write_episode_log(nav, tmp_path / "long.bag", FPS, compression="png")
    (episode,) = load_log_dataset(path)
    with open_log(path) as log:
        total = sum(info.count for info in log.topics.values())
        before = log.stats.bytes_read
        clip = read_tail(log, episode, LOSSLESS)
        tail_bytes = log.stats.bytes_read - before
        read = log.stats.messages_read
    for frame, index in zip(clip.frames, clip.indices, strict=True):
        np.testing.assert_array_equal(frame, nav.frames[index])
    assert read <= 50 < total
    # 3.5 s of a 31 s bag (11 %) plus the edges of its 256 KiB chunks, not the whole bag
    assert tail_bytes < path.stat().st_size / 4


@pytest.mark.slow  # loads the offline engine's embedding model
def test_cli_runs_a_folder_of_bags(tmp_path: Path) -> None:
    for cause in ("glass_door", "dark_box"):
        write_episode_log(nav_episode(cause, frames=24), tmp_path / "bags" / f"{cause}.bag", FPS)
    out = tmp_path / "run"
    argv = ["run", str(tmp_path / "bags"), "--out", str(out), "--no-report", "--map-method", "pca"]
    assert main([*argv, "--text-topic", "/operator_notes"]) == 0
    reasons = json.loads((out / "reasons.json").read_text())
    assert len(json.dumps(reasons)) > 0
    assert (out / "run.json").is_file()
    assert (out / "assignments.json").is_file()
    saved = pd.read_csv(out / "dataset" / "manifest.csv")
    assert sorted(saved["id"]) == ["dark_box", "glass_door"]


def test_bad_bags_are_one_line_or_skipped_with_a_warning(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "logs" / "broken.bag"
    bad.parent.mkdir()
    bad.write_bytes(b"#ROSBAG V2.0\n" + b"\x01" * 100)
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("fmviz: error:")
    assert str(bad) in line
    empty = tmp_path / "empty.bag"
    empty.write_bytes(b"")
    with pytest.raises(LogError, match="bag file is empty"):
        load_log_dataset(empty)
    write_episode_log(nav_episode(), tmp_path / "logs" / "good.bag", FPS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_log_dataset(tmp_path / "logs")
    assert dataset.ids == ["good"]
    assert any("1 of 2 logs" in str(w.message) and "broken.bag" in str(w.message) for w in caught)
    text_only = tmp_path / "text.bag"
    store = get_typestore(Stores.ROS1_NOETIC)
    with Writer(text_only) as writer:
        connection = writer.add_connection("/notes", "std_msgs/msg/String", typestore=store)
        message = store.types["std_msgs/msg/String"](data="hello")
        writer.write(connection, 10**9, store.serialize_ros1(message, "std_msgs/msg/String"))
    with pytest.raises(LogError, match=r"no image topic .*/notes \(std_msgs/msg/String\)"):
        load_log_dataset(text_only)


def test_a_ros2_bag_folder_reads_like_a_file(tmp_path: Path) -> None:
    from rosbags.rosbag2 import Writer as Bag2Writer

    store = get_typestore(Stores.ROS2_HUMBLE)
    types = store.types
    frames = np.random.default_rng(0).integers(0, 255, (20, 8, 12, 3), dtype=np.uint8)  # SYNTHETIC noise
    folder = tmp_path / "run_ros2"
    with Bag2Writer(folder, version=8) as writer:
        connection = writer.add_connection("/cam", "sensor_msgs/msg/Image", typestore=store)
        for index, frame in enumerate(frames):
            stamp = 10**18 + index * 10**8
            time = types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9)
            header = types["std_msgs/msg/Header"](stamp=time, frame_id="cam")
            message = types["sensor_msgs/msg/Image"](
                header=header,
                height=8,
                width=12,
                encoding="rgb8",
                is_bigendian=0,
                step=36,
                data=frame.reshape(-1),
            )
            writer.write(connection, stamp, store.serialize_cdr(message, "sensor_msgs/msg/Image"))
    (episode,) = fmviz.load_dataset(folder)
    assert episode.metadata["log_topic"] == "/cam"
    assert episode.metadata["failure_from"] == "end of recording"
    clip = select_tail(episode, TailSpec(frames=3, fps=2.0, max_side=None))
    assert list(clip.indices) == [9, 14, 19]
    for frame, index in zip(clip.frames, clip.indices, strict=True):
        np.testing.assert_array_equal(frame, frames[index])
