"""Tests for fmviz.video: which tail frames are selected, from every kind of source."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image as PILImage

from fmviz.episodes import Episode, EpisodeError
from fmviz.errors import InputWarning
from fmviz.video import (
    TailSpec,
    check_sources,
    data_uri,
    encode_frames,
    frame_number_gaps,
    image_files,
    probe,
    select_tail,
    thumbnails,
    write_video,
)

BITS = 11  # frame numbers up to 2047, written as black/white vertical stripes


def coded_frame(index: int, width: int = 320, height: int = 180) -> np.ndarray:
    """A frame whose stripes spell ``index`` in binary (robust to lossy codecs and resizing)."""
    frame = np.zeros((height, width, 3), np.uint8)
    for bit in range(BITS):
        if index >> bit & 1:
            frame[:, bit * width // BITS : (bit + 1) * width // BITS] = 255
    return frame


def read_code(frame: np.ndarray) -> int:
    width = frame.shape[1]
    centres = [(2 * bit + 1) * width // (2 * BITS) for bit in range(BITS)]
    return sum(int(frame[:, x].mean() > 128) << bit for bit, x in enumerate(centres))


def codes(clip) -> list[int]:
    return [read_code(frame) for frame in clip.frames]


def coded_video(path, count: int, fps: float = 30, width: int = 320, height: int = 180, **kwargs):
    return write_video((coded_frame(i, width, height) for i in range(count)), path, fps, **kwargs)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """40 s at 30 fps (1200 frames); small frames keep encoding around a second."""
    return coded_video(tmp_path_factory.mktemp("video") / "long.mp4", 1200)


def test_tail_of_long_video_is_the_last_frames_at_reduced_rate_and_seeks(long_video):
    clip = select_tail(Episode("ep-long", source=long_video), TailSpec(frames=8, fps=1.0, max_side=None))
    expected = [1199 - 30 * k for k in range(7, -1, -1)]
    assert codes(clip) == expected
    assert clip.indices.tolist() == expected
    assert np.allclose(clip.times, np.arange(8.0))
    assert np.allclose(clip.source_times, np.array(expected) / 30)
    assert clip.failure_index == 7
    assert not clip.short
    assert clip.episode_id == "ep-long"
    assert clip.frames.shape == (8, 180, 320, 3)
    assert clip.frames.dtype == np.uint8
    # the 7 s window plus at most one 2 s GOP: far fewer than the 1200 frames of the file
    assert 210 <= clip.decoded_frames <= 300


def test_probe_reports_frames_rate_duration_and_size(long_video):
    info = probe(long_video)
    assert info["frames"] == 1200
    assert info["fps"] == pytest.approx(30.0)
    assert info["duration"] == pytest.approx(40.0, abs=0.1)
    assert (info["width"], info["height"]) == (320, 180)


def test_failure_time_and_failure_frame_select_the_same_clip(long_video):
    spec = TailSpec(frames=4, fps=2.0, max_side=None)
    by_time = select_tail(Episode("t", source=long_video, failure_time=10.0), spec)
    by_frame = select_tail(Episode("f", source=long_video, failure_frame=300), spec)
    assert codes(by_time) == codes(by_frame) == [255, 270, 285, 300]
    assert by_time.decoded_frames < 120


def test_failure_near_start_returns_a_short_clip_and_says_so(long_video):
    with pytest.warns(InputWarning, match=r"episode 'early': only 2 of 8 tail frame"):
        clip = select_tail(Episode("early", source=long_video, failure_frame=40), TailSpec(frames=8, fps=1.0))
    assert clip.short
    assert codes(clip) == [10, 40]
    assert clip.failure_index == 1


def test_fps_above_source_rate_takes_consecutive_frames(tmp_path):
    path = coded_video(tmp_path / "slow.mp4", 20, fps=5)
    clip = select_tail(Episode("slow", source=path), TailSpec(frames=3, fps=30.0))
    assert codes(clip) == [17, 18, 19]


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".avi"])
def test_other_containers_seek_too(tmp_path, suffix):
    path = coded_video(tmp_path / f"clip{suffix}", 100, fps=10, width=160, height=96)
    clip = select_tail(Episode("c", source=path, failure_time=6.0), TailSpec(frames=3, fps=1.0))
    assert codes(clip) == [40, 50, 60]
    assert clip.decoded_frames <= 45  # from the keyframe at 4 s, not from 0 s
    assert codes(select_tail(Episode("c", source=path), TailSpec(frames=2, fps=2.0))) == [94, 99]


def test_raw_stream_without_timing_falls_back_to_bounded_decode(tmp_path):
    path = coded_video(tmp_path / "raw.h264", 90, codec="libx264")
    clip = select_tail(Episode("raw", source=path, fps=30), TailSpec(frames=3, fps=1.0))
    assert codes(clip) == [29, 59, 89]
    assert (
        select_tail(Episode("raw2", source=path, fps=30, failure_time=2.0), TailSpec(3, 1.0)).indices[-1]
        == 60
    )


def test_resize_respects_max_side_and_aspect(tmp_path):
    path = coded_video(tmp_path / "wide.mp4", 31, width=1280, height=720)
    clip = select_tail(Episode("wide", source=path), TailSpec(frames=2, fps=1.0, max_side=256))
    assert clip.size == (256, 144)
    assert codes(clip) == [0, 30]
    tall = np.zeros((3, 400, 100, 3), np.uint8)
    assert select_tail(Episode("tall", source=tall), TailSpec(frames=1, max_side=100)).size == (25, 100)
    small = np.zeros((3, 40, 60, 3), np.uint8)
    assert select_tail(Episode("small", source=small), TailSpec(frames=1, max_side=512)).size == (60, 40)


def test_image_folder_is_sorted_naturally(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(12):
        suffix = ".jpg" if i % 3 == 0 else ".png"
        PILImage.fromarray(coded_frame(i)).save(folder / f"frame{i}{suffix}", quality=95)
    (folder / "notes.txt").write_text("not an image")
    assert [p.stem for p in image_files(folder)][:3] == ["frame0", "frame1", "frame2"]
    clip = select_tail(Episode("seq", source=folder, fps=2), TailSpec(frames=3, fps=1.0, max_side=None))
    assert codes(clip) == [7, 9, 11]
    assert clip.decoded_frames == 3  # only the chosen images are read
    by_time = select_tail(Episode("seq", source=folder, fps=2, failure_time=3.0), TailSpec(frames=2))
    assert codes(by_time) == [4, 6]


def test_image_folder_without_fps_takes_frames_as_samples(tmp_path):
    folder = tmp_path / "keyframes"
    folder.mkdir()
    for i in range(5):
        PILImage.fromarray(coded_frame(i)).save(folder / f"{i}.png")
    clip = select_tail(Episode("kf", source=folder, failure_frame=3), TailSpec(frames=3, fps=1.0))
    assert codes(clip) == [1, 2, 3]
    assert clip.times.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(EpisodeError, match=r"kf.*failure_time.*fps"):
        select_tail(Episode("kf", source=folder, failure_time=1.0))


def test_arrays_rgb_and_grayscale():
    rgb = np.stack([coded_frame(i, 110, 20) for i in range(100)])
    clip = select_tail(Episode("arr", source=rgb, fps=10), TailSpec(frames=4, fps=2.0))
    assert clip.indices.tolist() == [84, 89, 94, 99]
    assert codes(clip) == [84, 89, 94, 99]
    assert np.allclose(clip.times, [0, 0.5, 1.0, 1.5])
    gray = rgb[..., 0]
    clip = select_tail(Episode("gray", source=gray, fps=10, failure_frame=50), TailSpec(frames=2, fps=1.0))
    assert codes(clip) == [40, 50]
    assert clip.frames.shape[-1] == 3


def test_short_array_returns_what_exists():
    array = np.stack([coded_frame(i, 110, 20) for i in range(3)])
    with pytest.warns(InputWarning, match="only 3 of 8"):
        clip = select_tail(Episode("short", source=array), TailSpec(frames=8))
    assert clip.short
    assert len(clip) == 3
    assert codes(clip) == [0, 1, 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.mp4", "not found"),
        (lambda p: _write(p / "empty.mp4", b""), "empty"),
        (lambda p: _write(p / "corrupt.mp4", os.urandom(4096)), "cannot (open|decode)"),
        (lambda p: _mkdir(p / "nothing"), "no images"),
        (lambda p: _write(_mkdir(p / "bad") / "0.png", b"not a png"), "cannot read image"),
    ],
)
def test_bad_sources_raise_episode_errors_naming_the_episode(tmp_path, make, message):
    source = make(tmp_path)
    if source.name == "0.png":
        source = source.parent
    with pytest.raises(EpisodeError, match=message) as info:
        select_tail(Episode("bad-ep-7", source=source))
    assert "bad-ep-7" in str(info.value)
    assert info.value.episode_id == "bad-ep-7"
    assert source.name in str(info.value)


def test_failure_beyond_the_end_raises(tmp_path, long_video):
    for episode in (
        Episode("late-frame", source=long_video, failure_frame=1200),
        Episode("late-time", source=long_video, failure_time=45.0),
        Episode("late-array", source=np.zeros((5, 4, 4, 3), np.uint8), failure_frame=5),
    ):
        with pytest.raises(EpisodeError, match="beyond the end") as info:
            select_tail(episode)
        assert episode.id in str(info.value)
    assert select_tail(Episode("at-end", source=long_video, failure_time=40.0)).indices[-1] == 1199


def test_invalid_arrays_and_text_only_episodes_raise():
    with pytest.raises(EpisodeError, match="uint8"):
        select_tail(Episode("f32", source=np.zeros((2, 4, 4, 3), np.float32)))
    with pytest.raises(EpisodeError, match="no frames"):
        select_tail(Episode("empty", source=np.zeros((0, 4, 4, 3), np.uint8)))
    with pytest.raises(EpisodeError, match="text"):
        select_tail(Episode("text", source=None))


def test_encode_frames_and_thumbnails():
    array = np.stack([coded_frame(i, 320, 180) for i in range(4)])
    clip = select_tail(Episode("enc", source=array), TailSpec(frames=2))
    jpegs = encode_frames(clip)
    assert len(jpegs) == 2
    assert all(image.mime_type == "image/jpeg" for image in jpegs)
    decoded = np.asarray(PILImage.open(io.BytesIO(jpegs[-1].data)))
    assert decoded.shape == (180, 320, 3)
    assert read_code(decoded) == 3
    pngs = encode_frames(clip, format="png")
    assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(pngs[0].data))), clip.frames[0])
    thumbs = thumbnails(clip, max_side=64)
    assert PILImage.open(io.BytesIO(thumbs[0].data)).size == (64, 36)
    assert data_uri(thumbs[0]).startswith("data:image/jpeg;base64,")
    with pytest.raises(ValueError, match="gif"):
        encode_frames(clip, format="gif")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def test_a_half_second_clip_sends_one_frame_and_warns(tmp_path):
    path = write_video([coded_frame(i) for i in range(15)], tmp_path / "half.mp4", fps=30)
    with pytest.warns(InputWarning, match=r"episode 'half': only 1 of 8 tail frame"):
        clip = select_tail(Episode("half", source=path), TailSpec(frames=8, fps=2.0))
    assert len(clip) == 1
    assert codes(clip) == [14]


def test_a_full_tail_raises_no_warning(long_video, recwarn):
    select_tail(Episode("full", source=long_video), TailSpec(frames=4, fps=1.0))
    assert not [w for w in recwarn if issubclass(w.category, InputWarning)]


def test_an_image_sequence_with_missing_frames_warns_naming_them(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in (1, 2, 3, 5, 6, 9):
        PILImage.fromarray(coded_frame(i, 110, 20)).save(folder / f"frame_{i:04d}.png")
    with pytest.warns(InputWarning, match=r"episode 'gappy'.* 3 missing frame number\(s\) \(4, 7, 8\)"):
        select_tail(Episode("gappy", source=folder), TailSpec(frames=3))


def test_frame_number_gaps_judges_only_numbered_increasing_sequences():
    from pathlib import Path

    assert frame_number_gaps([Path("a_1.png"), Path("a_2.png")]) == []
    assert frame_number_gaps([Path("cam0_f10.png"), Path("cam0_f12.png")]) == [11]
    assert frame_number_gaps([Path("start.png"), Path("f_3.png")]) == []


def test_one_reformat_per_frame_gives_the_same_frames_as_a_full_size_resize(tmp_path):
    frames = [np.kron(coded_frame(i, 128, 72), np.ones((10, 10, 1), np.uint8)) for i in range(40)]
    path = write_video(frames, tmp_path / "hd.mp4", fps=10, crf=10)
    clip = select_tail(Episode("hd", source=path), TailSpec(frames=4, fps=2.0, max_side=640))
    assert clip.size == (640, 360)
    assert codes(clip) == [24, 29, 34, 39]
    for frame, index in zip(clip.frames, [24, 29, 34, 39], strict=True):
        reference = np.asarray(
            PILImage.fromarray(frames[index]).resize((640, 360), PILImage.Resampling.LANCZOS)
        )
        assert np.abs(frame.astype(int) - reference.astype(int)).mean() < 8


def test_check_sources_names_missing_empty_and_broken_files(tmp_path, long_video):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "broken.mp4").write_bytes(b"not a video" * 100)
    episodes = [
        Episode("fine", source=long_video),
        Episode("missing", source=tmp_path / "gone.mp4"),
        Episode("empty", source=tmp_path / "empty.mp4"),
        Episode("broken", source=tmp_path / "broken.mp4"),
        Episode("text", narrative="no frames at all"),
    ]
    problems = check_sources(episodes)
    assert set(problems) == {"missing", "empty", "broken"}
    assert "not found" in problems["missing"]
    assert "empty" in problems["empty"]
    assert "broken.mp4" in problems["broken"]
