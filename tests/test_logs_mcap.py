"""MCAP recordings in: tails equal what was written, failure time, text context, seeks, CLI, bad input.

Every file here is SYNTHETIC, written by fmviz.synth.export_logs into tmp_path.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _log_files import FPS, long_episode, nav_episode
from mcap.reader import make_reader
from PIL import Image as PILImage

import fmviz
from fmviz.cli import main
from fmviz.episodes import EpisodeError
from fmviz.loaders import DatasetError
from fmviz.logs import LogError, load_log_dataset, open_log
from fmviz.synth.export_logs import write_episode_log
from fmviz.video import TailSpec, select_tail
from fmviz.video.files import check_sources

LOSSLESS = TailSpec(frames=8, fps=2.0, max_side=None)


def _quiet_tail(episode, spec=LOSSLESS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return select_tail(episode, spec)


def test_tail_frames_are_the_written_frames_ending_at_the_failure_message(tmp_path: Path) -> None:
    nav = nav_episode()
    path = write_episode_log(nav, tmp_path / "run.mcap", FPS, compression="png", post_roll=1.0)
    (episode,) = fmviz.load_dataset(path, topic="/camera/front")
    contact = len(nav.frames) - 1
    assert episode.failure_time == pytest.approx(contact / FPS)  # the /failure message, not the end
    assert episode.metadata["failure_from"] == "first message on /failure"
    clip = select_tail(episode, LOSSLESS)
    assert list(clip.indices) == [contact - 5 * i for i in range(7, -1, -1)]  # 2 fps from 10 fps
    assert clip.source_times == pytest.approx(clip.indices / FPS)
    for frame, index in zip(clip.frames, clip.indices, strict=True):
        np.testing.assert_array_equal(frame, nav.frames[index])
    with open_log(path) as log:  # the stopped robot kept filming after the contact
        assert (log.end_ns - log.start_ns) / 1e9 > episode.failure_time + 0.9


def test_without_a_failure_topic_the_failure_is_the_last_image(tmp_path: Path) -> None:
    nav = nav_episode()
    path = write_episode_log(nav, tmp_path / "run.mcap", FPS, compression="png", marker=False, post_roll=1.0)
    (episode,) = load_log_dataset(path)
    assert episode.failure_time is None
    assert episode.metadata["failure_from"] == "end of recording"
    clip = select_tail(episode, LOSSLESS)
    last = len(nav.frames) - 1 + round(1.0 * FPS)
    assert clip.indices[-1] == last
    np.testing.assert_array_equal(clip.frames[-1], nav.frames[-1])  # post-roll repeats the contact frame


def test_failure_time_from_a_manifest_column(tmp_path: Path) -> None:
    nav = nav_episode()
    write_episode_log(nav, tmp_path / "logs" / "run.mcap", FPS, compression="png", marker=False)
    pd.DataFrame(
        [
            {"id": "early", "source": "logs/run.mcap", "failure_time": 2.0, "log_topic": "/camera/front"},
            {"id": "late", "source": "logs/run.mcap", "failure_time": 3.5, "label": "glass_door"},
        ]
    ).to_csv(tmp_path / "manifest.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # check_sources reads the logs' summaries: nothing to warn
        dataset = fmviz.load_dataset(tmp_path / "manifest.csv")
    early = select_tail(dataset["early"], TailSpec(frames=3, fps=2.0, max_side=None))
    assert list(early.indices) == [10, 15, 20]
    np.testing.assert_array_equal(early.frames[-1], nav.frames[20])
    late = select_tail(dataset["late"], TailSpec(frames=3, fps=2.0, max_side=None))
    assert list(late.indices) == [25, 30, 35]
    with pytest.raises(DatasetError, match="--topic: only for robot logs"):
        fmviz.load_dataset(tmp_path / "manifest.csv", topic="/camera/front")


def test_text_topics_become_the_narrative_and_metadata_records_the_task(tmp_path: Path) -> None:
    nav = nav_episode()
    path = write_episode_log(nav, tmp_path / "run.mcap", FPS)
    (episode,) = load_log_dataset(path)
    assert episode.narrative == " ".join(nav.narrative.split())
    assert episode.metadata["log_text_topics"] == "/operator_notes"
    assert episode.metadata["failure_message"] == "bumper contact: emergency stop"
    assert episode.task == nav.task
    assert episode.action_plan == nav.action_plan
    assert episode.label == "glass_door"
    assert episode.id == nav.id
    # No text topics, or a window that ends before the note (0.5 s after contact): no narrative.
    assert load_log_dataset(path, text_topics=[])[0].narrative is None
    assert load_log_dataset(path, text_window=0.2)[0].narrative is None
    with pytest.raises(LogError, match="no text topic '/planner'"):
        load_log_dataset(path, text_topics=["/planner"])


def test_jpeg_frames_are_close_and_ros1_messages_in_mcap_decode(tmp_path: Path) -> None:
    nav = nav_episode()
    jpeg = select_tail(load_log_dataset(write_episode_log(nav, tmp_path / "j.mcap", FPS))[0], LOSSLESS)
    errors = [
        np.abs(f.astype(int) - nav.frames[i].astype(int)).mean()
        for f, i in zip(jpeg.frames, jpeg.indices, strict=True)
    ]
    assert max(errors) < 4.0  # JPEG quality 90
    for compression in ("raw", "png"):
        path = write_episode_log(
            nav, tmp_path / f"ros1-{compression}.mcap", FPS, compression=compression, encoding="ros1"
        )
        (episode,) = load_log_dataset(path)
        assert episode.narrative
        assert episode.label == "glass_door"
        clip = select_tail(episode, LOSSLESS)
        for frame, index in zip(clip.frames, clip.indices, strict=True):
            np.testing.assert_array_equal(frame, nav.frames[index])


def test_a_tail_read_seeks_through_the_index_instead_of_scanning(tmp_path: Path) -> None:
    nav = long_episode(30.0)
    path = write_episode_log(nav, tmp_path / "long.mcap", FPS, compression="png", chunk_size=64 * 1024)
    (episode,) = load_log_dataset(path)
    size = path.stat().st_size
    with open_log(path) as log:
        total = sum(info.count for info in log.topics.values())
        before = log.stats.bytes_read
        clip = fmviz.logs.read_tail(log, episode, LOSSLESS)
        tail_bytes = log.stats.bytes_read - before
        read = log.stats.messages_read
    contact = len(nav.frames) - 1
    assert list(clip.indices) == [contact - 5 * i for i in range(7, -1, -1)]
    for frame, index in zip(clip.frames, clip.indices, strict=True):
        np.testing.assert_array_equal(frame, nav.frames[index])
    # The window is 3.5 s (36 frames at 10 fps) of a 31 s recording: a few chunks, not the file.
    assert read <= 50 < total
    with path.open("rb") as handle:
        summary = make_reader(handle).get_summary()
    start = summary.statistics.message_start_time
    low, high = (
        start + int((clip.source_times[0] - 0.2) * 1e9),
        start + int((clip.source_times[-1] + 0.1) * 1e9),
    )
    window = [c for c in summary.chunk_indexes if c.message_end_time >= low and c.message_start_time < high]
    assert len(window) < len(summary.chunk_indexes) / 4
    assert tail_bytes <= sum(c.chunk_length for c in window) + 64  # only the window's chunks are read
    assert tail_bytes < size / 4


def test_log_episodes_reach_the_scrubber_and_stage_one_as_images(tmp_path: Path) -> None:
    from fmviz.providers.openai import OpenAIProvider
    from fmviz.providers.runner import LLM
    from fmviz.stages import infer_reasons
    from fmviz.testing import LoopbackServer
    from fmviz.views._frames import tail_loader

    write_episode_log(nav_episode(), tmp_path / "a.mcap", FPS)
    dataset = load_log_dataset(tmp_path)
    clip = tail_loader(dataset, TailSpec(frames=4, fps=2.0, max_side=64))(dataset.ids[0])
    assert clip is not None
    assert len(clip.frames) == 4
    assert not clip.notes
    answer = '{"trajectory": "drove ahead", "failure_reason": "hit the glass door"}'
    with LoopbackServer(lambda request: answer) as server:
        provider = OpenAIProvider("gpt-test", base_url=server.openai_base_url, api_key="test-key")
        llm = LLM(provider, cache=False, backoff_base=0.001, backoff_max=0.01, max_retries=1)
        reasons = infer_reasons(dataset, llm, tail=TailSpec(frames=4, fps=2.0, max_side=32))
        (request,) = server.requests
    assert reasons.errors == {}
    assert request.n_images == 4
    image = PILImage.open(io.BytesIO(request.images[-1]))
    assert max(image.size) == 32


@pytest.mark.slow  # loads the offline engine's embedding model
def test_cli_synth_mcap_then_run_writes_a_run_folder(tmp_path: Path, capsys) -> None:
    logs, out = tmp_path / "logs", tmp_path / "run"
    # one recording per cause: 8 short SYNTHETIC collisions
    assert main(["synth", "navigation", "--format", "mcap", "--per-cause", "1", "--out", str(logs)]) == 0
    assert len(list(logs.glob("*.mcap"))) == 8
    code = main(
        [
            "run",
            str(logs),
            "--topic",
            "/camera/front",
            "--out",
            str(out),
            "--no-report",
            "--map-method",
            "pca",
        ]
    )
    assert code == 0
    for name in ("reasons.json", "clusters.json", "assignments.json", "run.json"):
        assert (out / name).is_file()
    saved = pd.read_csv(out / "dataset" / "manifest.csv")
    assert set(saved["log_topic"]) == {"/camera/front"}
    assert saved["source"].str.endswith(".mcap").all()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "MCAP file is empty"),
        (lambda p: p.write_bytes(b"\x89MCAP0\r\n" + b"\x00" * 64), "cannot read MCAP"),
        (
            lambda p: p.write_bytes(write_episode_log(nav_episode(), p, FPS).read_bytes()[:4000]),
            "cannot read MCAP",
        ),
    ],
    ids=["empty", "garbage", "truncated"],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path: Path, capsys, make, message: str) -> None:
    path = tmp_path / "bad.mcap"
    make(path)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("fmviz: error:")
    assert message in err[0]
    assert str(path) in err[0]


def test_missing_topic_and_ambiguous_topics_are_named(tmp_path: Path, capsys) -> None:
    path = write_episode_log(nav_episode(), tmp_path / "run.mcap", FPS)
    assert main(["run", str(path), "--topic", "/camera/rear", "--out", str(tmp_path / "o")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no topic '/camera/rear'" in line
    assert "image topics: /camera/front" in line
    with pytest.raises(LogError, match="not an image"):
        load_log_dataset(path, topic="/operator_notes")


def test_a_log_broken_after_loading_is_an_error_naming_the_episode(tmp_path: Path) -> None:
    path = write_episode_log(nav_episode(), tmp_path / "run.mcap", FPS)
    (episode,) = load_log_dataset(path)
    path.write_bytes(path.read_bytes()[:5000])
    assert "cannot read MCAP" in check_sources([episode])[episode.id]
    with pytest.raises(EpisodeError, match=f"episode '{episode.id}'.*cannot read MCAP"):
        select_tail(episode, LOSSLESS)
    late = type(episode)(episode.id, source=episode.source, failure_time=99.0, metadata=episode.metadata)
    path.unlink()
    write_episode_log(nav_episode(), path, FPS)
    with pytest.raises(EpisodeError, match=r"failure_time 99\.000s has no image at or before it"):
        _quiet_tail(late)
