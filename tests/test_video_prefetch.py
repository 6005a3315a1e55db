"""Stage 1 on video: tails are prepared ahead of the model calls, and the fast path is exact.

Two promises behind "stage 1 at the provider's speed": frames of later episodes are
decoded and encoded while earlier requests wait for the (slow, loopback) server, and the
optimised decoder (seek, skipped unreferenced pictures, one codec thread) yields the same
JPEG bytes as a lean decode of the whole clip. The clips and the server's answers are
synthetic.
"""

from __future__ import annotations

import json
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import fmviz.stages.reasons as reasons_module
from fmviz.episodes import Dataset, Episode
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.stages import infer_reasons
from fmviz.testing import LoopbackServer, RecordedRequest, Reply
from fmviz.video import TailSpec, decoder_threads, encode_frames, select_tail, write_video
from fmviz.video.clip import TOLERANCE, Clip, build_clip, targets
from fmviz.video.decode import rgb_frames, stream_origin

SLOW_S = 1.5  # far above the ~0.1 s a small tail takes, even on a loaded machine
TAIL = TailSpec(frames=4, fps=2.0, max_side=160)


def textured_clip(path: Path, seconds: float = 6.0, fps: int = 30, bframes: int = 3) -> Path:
    """H.264 with B-frames (a pyramid, so about half the pictures are unreferenced), 1 s GOP."""
    rng = np.random.default_rng(7)
    world = rng.integers(0, 255, (240, 960, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(
            "libx264",
            rate=Fraction(fps),
            options={
                "preset": "veryfast",
                "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:"
                f"bframes={bframes}:b-adapt=0:b-pyramid=normal",
            },
        )
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(int(seconds * fps)):
            frame = np.roll(world, -4 * index, axis=1)[:, :320].copy()
            frame[100:140, (9 * index) % 280 :][:, :40] = (255, 40, 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def lean_reference(episode: Episode, spec: TailSpec) -> Clip:
    """Decode every frame from the start (no seek, no skipping) and apply the selection rule."""
    with av.open(str(episode.source)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        origin = stream_origin(container, stream)
        shown = [
            ((frame.pts - origin) * float(stream.time_base), frame) for frame in container.decode(stream)
        ]
    fail_t = float(episode.failure_time) if episode.failure_time is not None else shown[-1][0]
    picked: list[tuple[float, object]] = []
    for target in targets(fail_t, spec, fps):
        candidates = [(t, f) for t, f in shown if t <= target + TOLERANCE / fps]
        if candidates and (not picked or candidates[-1][0] > picked[-1][0]):
            picked.append(candidates[-1])
    frames = rgb_frames([frame for _, frame in picked], spec)
    times = [t for t, _ in picked]
    return build_clip(
        episode,
        frames,
        [round(t * fps) for t in times],
        fps,
        fps,
        len(shown),
        False,
        spec,
        source_times=times,
    )


def digests(clip: Clip) -> list[str]:
    return [image.sha256 for image in encode_frames(clip)]


@pytest.fixture(scope="module")
def b_frame_clip(tmp_path_factory) -> Path:
    return textured_clip(tmp_path_factory.mktemp("prefetch") / "bframes.mp4")


@pytest.mark.parametrize("failure_time", [None, 0.9, 2.0, 3.37, 4.52, 5.9])
def test_fast_tail_path_gives_the_same_jpeg_bytes_as_a_lean_whole_decode(b_frame_clip, failure_time):
    episode = Episode("e", source=b_frame_clip, failure_time=failure_time)
    spec = TailSpec(frames=8, fps=2.0, max_side=256)
    reference = digests(lean_reference(episode, spec))
    with decoder_threads(1):
        single = select_tail(episode, spec)
    default = select_tail(episode, spec)
    assert digests(single) == reference
    assert digests(default) == reference


def test_unreferenced_pictures_are_skipped_only_where_they_exist(tmp_path, b_frame_clip):
    """A B-frame clip decodes fewer frames than its span; an all-P clip decodes all of it."""
    world = np.random.default_rng(3).integers(0, 255, (96, 640, 3), dtype=np.uint8)
    frames = (np.roll(world, -3 * i, axis=1)[:, :128] for i in range(180))
    p_only = write_video(frames, tmp_path / "p_only.mp4", fps=30)  # ultrafast: no B-frames
    spec = TailSpec(frames=8, fps=2.0, max_side=None)
    with_b = select_tail(Episode("b", source=b_frame_clip, failure_time=5.0), spec)
    without_b = select_tail(Episode("p", source=p_only, failure_time=5.0), spec)
    assert without_b.decoded_frames >= 5.0 * 30  # all from the keyframe at 0 s (2 s GOP) to 5 s
    assert with_b.decoded_frames < 0.75 * (5.0 - 1.0) * 30  # of those from the keyframe at 1 s (1 s GOP)
    assert digests(with_b) == digests(
        lean_reference(Episode("b", source=b_frame_clip, failure_time=5.0), spec)
    )


def test_tails_of_later_episodes_are_ready_before_the_first_answer_arrives(
    tmp_path, b_frame_clip, monkeypatch
):
    received: dict[str, float] = {}
    prepared: dict[str, tuple[float, str]] = {}
    lock = threading.Lock()

    def slow(request: RecordedRequest) -> Reply:
        case = request.prompt.split("synthetic case ", 1)[1].split(":", 1)[0]
        with lock:
            received[case] = time.monotonic()
        answer = {"trajectory": f"synthetic {case}", "failure_reason": f"synthetic reason {case}"}
        return Reply(text=json.dumps(answer), delay=SLOW_S)

    real_build = reasons_module.build_reason_request

    def timed_build(episode: Episode, *args: object, **kwargs: object):
        request = real_build(episode, *args, **kwargs)
        with lock:
            prepared[episode.id] = (time.monotonic(), threading.current_thread().name)
        return request

    monkeypatch.setattr(reasons_module, "build_reason_request", timed_build)
    episodes = [
        Episode(
            f"v{i}", source=b_frame_clip, failure_time=2.0 + 0.5 * i, narrative=f"synthetic case {i}: a stall"
        )
        for i in range(6)
    ]
    with LoopbackServer(slow) as server:
        provider = OpenAIProvider("gpt-test", base_url=server.openai_base_url, api_key="test-key")
        llm = LLM(provider, cache=tmp_path / "calls.sqlite", concurrency=2, backoff_base=0.001, max_retries=1)
        reasons = infer_reasons(Dataset(episodes), llm, tail=TAIL)
        images = [request.n_images for request in server.requests]
    assert len(reasons) == 6
    assert not reasons.errors
    assert images == [TAIL.frames] * 6
    first_answer = min(received.values()) + SLOW_S
    # two requests in flight, and the next two tails already decoded and encoded while they wait
    assert prepared["v2"][0] < first_answer
    assert prepared["v3"][0] < first_answer
    assert all(name.startswith("fmviz-prep") for _, name in prepared.values()), prepared


def test_start_coded_streams_skip_unreferenced_pictures_too(tmp_path, b_frame_clip, monkeypatch):
    """The B-frame clip remuxed to MPEG-TS (Annex B start codes, no avcC): same frames as decoding all."""
    import fmviz.video.decode as decode_module

    remuxed = tmp_path / "bframes.ts"
    with av.open(str(b_frame_clip)) as source, av.open(str(remuxed), mode="w") as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = stream
                target.mux(packet)
    spec = TailSpec(frames=8, fps=2.0, max_side=None)
    episode = Episode("ts", source=remuxed, failure_time=5.0)
    skipping = select_tail(episode, spec)
    monkeypatch.setattr(decode_module, "disposable_checker", lambda stream: None)  # decode every picture
    everything = select_tail(episode, spec)
    assert digests(skipping) == digests(everything)
    assert skipping.decoded_frames < 0.75 * everything.decoded_frames


def test_a_window_too_long_to_plan_is_decoded_whole_with_the_same_frames(b_frame_clip, monkeypatch):
    import fmviz.video.decode as decode_module

    episode = Episode("long", source=b_frame_clip, failure_time=5.0)
    spec = TailSpec(frames=8, fps=2.0, max_side=None)
    planned = select_tail(episode, spec)
    monkeypatch.setattr(decode_module, "_PLAN_BYTES", 1)  # any window is "too long" to hold
    whole = select_tail(episode, spec)
    assert digests(whole) == digests(planned)
    assert whole.decoded_frames > planned.decoded_frames
