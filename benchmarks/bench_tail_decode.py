"""Benchmark: seek-and-decode the tail of a dashcam-like clip, against a lean whole decode.

Run with ``python benchmarks/bench_tail_decode.py`` (one command; about a minute on two
cores, most of it encoding the clip). It writes a synthetic clip encoded like real dashcam
footage: 40 s of 1280x720 at 30 fps, H.264 (libx264) with B-frames, about 4 Mbit/s, a
keyframe every 2 s, and textured moving content (a camera panning over a detailed scene,
objects crossing it, sensor noise), so decoding costs what it costs on real logs. The
tail is the paper's default at the issue's rate: 8 frames at 2 fps, 512 px.

* fmviz: :func:`fmviz.video.select_tail` (seek to the keyframe before the window, decode
  to the failure frame, skipping the unreferenced pictures it does not keep, one
  ``reformat`` per chosen frame).
* Baseline in the same run: a lean whole decode, the same decoder loop started at the
  first frame, with the same frame choice, the same codec threads and the same one-step
  conversion, so the two differ only in what is decoded. Both must return the same
  frames (``same_frames``).
* The physical ceiling of the speedup is set by the frames each path must decode: all
  frames of the clip, against the frames from the keyframe before the window to the
  failure frame (counted from the packets). ``ratio_of_ceiling`` = speedup / ceiling is
  the target. Because fmviz also skips unreferenced pictures it does not keep (B-frames
  no other frame uses), the ceiling *with* that skip is reported too
  (``ceiling_skipping_unreferenced``: all frames / the references and kept frames in that
  span); it counts frames, and skipped B-frames are the cheapest to decode, so the
  measured speedup stays below it.

The clip is synthetic (generated here, no real footage). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmviz.episodes import Episode
from fmviz.video import TailSpec, select_tail
from fmviz.video.clip import TOLERANCE, targets
from fmviz.video.decode import decode_until, decoder_threads, open_video, rgb_frames, stream_origin
from fmviz.video.nal import disposable_checker

TARGET_RATIO = 0.8


def dashcam_frames(count: int, width: int, height: int, fps: float, seed: int = 0):
    """Synthetic textured footage: a pan over a detailed scene, crossing objects, sensor noise."""
    rng = np.random.default_rng(seed)
    # A detailed "world" twice the frame size: multi-scale noise, like foliage, asphalt, signs.
    world_h, world_w = height * 2, width * 3
    world = np.zeros((world_h, world_w), np.float32)
    for scale, weight in ((64, 90.0), (16, 45.0), (4, 25.0), (1, 12.0)):
        coarse = rng.normal(0, 1, (world_h // scale + 1, world_w // scale + 1)).astype(np.float32)
        world += weight * np.kron(coarse, np.ones((scale, scale), np.float32))[:world_h, :world_w]
    world = np.clip(world + 120, 0, 255)
    world = np.stack([world, world * 0.95, world * 0.85], axis=-1).astype(np.uint8)
    noise = [rng.integers(-4, 5, (height, width, 1), dtype=np.int16) for _ in range(7)]  # sensor noise
    cars = [
        (rng.integers(0, width), rng.integers(height // 3, height - 80), rng.integers(-9, 10))
        for _ in range(6)
    ]
    for index in range(count):
        t = index / fps
        x0 = int(40 * t * 8) % (world_w - width)  # the camera moves forward and sways
        y0 = int((height // 2) + 40 * np.sin(t * 0.7))
        frame = world[y0 : y0 + height, x0 : x0 + width].astype(np.int16) + noise[index % len(noise)]
        for cx, cy, speed in cars:
            x = int(cx + speed * index) % width
            frame[cy : cy + 60, x : x + 120] = (200, 30 + (x % 90), 40)
        yield np.clip(frame, 0, 255).astype(np.uint8)


def write_dashcam_clip(path: Path, seconds: float, fps: float, width: int, height: int, bitrate: int) -> None:
    """H.264 with B-frames, fixed 2 s GOP, constrained bitrate: how dashcams and loggers encode."""
    gop = round(2 * fps)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(
            "libx264",
            rate=Fraction(fps).limit_denominator(1001),
            options={
                "preset": "veryfast",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=3:b-pyramid=normal",
            },
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.bit_rate = bitrate
        for array in dashcam_frames(round(seconds * fps), width, height, fps):
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def clip_facts(path: Path) -> dict[str, object]:
    """Frame count, keyframe times, B-frame share and bitrate, from packets (no decoding)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = float(stream.time_base)
        origin = stream_origin(container, stream)
        unreferenced = disposable_checker(stream)
        packets = [(p.pts, p.is_keyframe, p.size) for p in container.demux(stream) if p.size]
        container.seek(0, stream=stream)
        disposable = {
            (p.pts - origin) * time_base
            for p in container.demux(stream)
            if p.size and unreferenced is not None and unreferenced(bytes(p))
        }
        duration = float(stream.duration * stream.time_base) if stream.duration else None
    times = sorted((pts - origin) * time_base for pts, _, _ in packets)
    keyframes = sorted((pts - origin) * time_base for pts, key, _ in packets if key)
    size = sum(s for _, _, s in packets)
    kinds = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            kinds.append(av.video.frame.PictureType(frame.pict_type).name)
            if len(kinds) == 300:
                break
    return {
        "times": times,
        "keyframes": keyframes,
        "unreferenced_times": disposable,
        "bitrate_mbit_s": round(8 * size / (duration or times[-1]) / 1e6, 2),
        "b_frame_share": round(kinds.count("B") / len(kinds), 3),
    }


def frames_needed(facts: dict[str, object], fail_t: float, spec: TailSpec, fps: float) -> tuple[int, int]:
    """Frames from the keyframe at or before the window's first target to the failure frame.

    Also, of those, the references and kept frames: what a decoder that skips unreferenced
    pictures it does not keep must still decode.
    """
    times, keyframes = facts["times"], facts["keyframes"]
    points = targets(fail_t, spec, fps)
    tolerance = TOLERANCE / fps
    start = max(k for k in keyframes if k <= max(0.0, float(points[0])) + tolerance)
    span = [t for t in times if start - 1e-9 <= t <= fail_t + tolerance]
    kept = {max((t for t in span if t <= target + tolerance), default=None) for target in points}
    needed = [t for t in span if t in kept or t not in facts["unreferenced_times"]]
    return len(span), len(needed)


def lean_whole_decode(path: Path, fail_t: float, spec: TailSpec) -> tuple[np.ndarray, int]:
    """Baseline: the same decoder loop and frame choice, from the first frame, no seeking."""
    container, stream = open_video("bench", path)  # codec threads as in select_tail
    with container:
        fps = float(stream.average_rate)
        origin = stream_origin(container, stream)
        points = targets(fail_t, spec, fps)
        chosen, decoded, _, _ = decode_until(container, stream, origin, points, TOLERANCE / fps)
        # the rest of the clip is decoded too: the baseline has no way to know where the tail starts
        try:
            for _ in container.decode(stream):
                decoded += 1
        except av.error.EOFError:  # the failure was the last frame: everything is decoded already
            pass
        unique = []
        for choice in chosen:
            if choice is not None and (not unique or choice[0] > unique[-1][0]):
                unique.append(choice)
        frames = rgb_frames([frame for _, frame in unique], spec)
    return np.stack(frames), decoded


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--bitrate", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clip", type=Path, help="reuse (or keep) the generated clip at this path")
    parser.add_argument(
        "--codec-threads", type=int, help="codec threads for both paths (default: FFmpeg's choice)"
    )
    args = parser.parse_args()

    spec = TailSpec(frames=8, fps=2.0, max_side=512)
    with tempfile.TemporaryDirectory() as folder:
        path = args.clip or Path(folder) / "dashcam.mp4"
        if not path.exists():
            start = time.perf_counter()
            write_dashcam_clip(path, args.seconds, args.fps, args.width, args.height, args.bitrate)
            print(f"wrote {path} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        facts = clip_facts(path)
        fail_t = float(facts["times"][-1])
        episode = Episode("bench", source=path)
        seek_times, full_times = [], []
        load_before = os.getloadavg()[0]
        with decoder_threads(args.codec_threads):
            for _ in range(args.repeats):  # interleaved, so load from other processes hits both alike
                start = time.perf_counter()
                clip = select_tail(episode, spec)
                seek_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                baseline, decoded_full = lean_whole_decode(path, fail_t, spec)
                full_times.append(time.perf_counter() - start)
        same = bool(np.array_equal(clip.frames, baseline))
    seek, full = statistics.median(seek_times), statistics.median(full_times)
    needed, needed_skipping = frames_needed(facts, fail_t, spec, args.fps)
    total = len(facts["times"])
    ceiling = total / needed
    ceiling_skipping = total / needed_skipping
    speedup = full / seek
    return {
        "benchmark": "tail_decode",
        "video": (
            f"{args.seconds:g}s {args.width}x{args.height} {args.fps:g}fps libx264 B-frames "
            f"gop=2s (synthetic, textured)"
        ),
        "bitrate_mbit_s": facts["bitrate_mbit_s"],
        "b_frame_share": facts["b_frame_share"],
        "spec": {"frames": spec.frames, "fps": spec.fps, "max_side": spec.max_side},
        "seek_seconds": round(seek, 4),
        "full_decode_seconds": round(full, 4),
        "speedup": round(speedup, 2),
        "decoded_frames_seek": clip.decoded_frames,
        "decoded_frames_full": decoded_full,
        "frames_needed": needed,
        "total_frames": total,
        "ceiling": round(ceiling, 2),
        "ratio_of_ceiling": round(speedup / ceiling, 3),
        "frames_needed_skipping_unreferenced": needed_skipping,
        "ceiling_skipping_unreferenced": round(ceiling_skipping, 2),
        "ratio_of_ceiling_skipping_unreferenced": round(speedup / ceiling_skipping, 3),
        "codec_threads": args.codec_threads or "ffmpeg default",
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "same_frames": same,
        "repeats": args.repeats,
        "target_ratio": TARGET_RATIO,
        "passed": same and speedup / ceiling >= TARGET_RATIO,
    }


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome))
    sys.exit(0 if outcome["passed"] else 1)
