"""Benchmark: seek-and-decode-the-tail versus decoding a whole video to take its tail.

Run with ``python benchmarks/bench_tail_decode.py``. It writes a synthetic 40 s 1280x720
30 fps clip (a moving bar; libx264 ultrafast, 2 s keyframe interval) to a temporary folder,
then times :func:`fmviz.video.select_tail` (seeks to the keyframe before the window, decodes
only until the failure frame) against a baseline that decodes every frame from the start
and then picks the same tail frames. Both must return identical frames. The last line
printed is one JSON object with the timings and decoded-frame counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmviz.episodes import Episode
from fmviz.video import TailSpec, _targets, fit, select_tail, write_video


def synthetic_frames(count: int, width: int, height: int):
    """Synthetic content: a grey gradient with a bar that moves one step per frame."""
    base = np.tile(np.linspace(40, 200, width, dtype=np.uint8)[None, :, None], (height, 1, 3))
    for index in range(count):
        frame = base.copy()
        x = (index * 7) % (width - 40)
        frame[:, x : x + 40] = (255, 64, 0)
        frame[: height // 10, : (index % 100) * width // 100] = 255
        yield frame


def full_decode_tail(path: Path, spec: TailSpec) -> tuple[np.ndarray, int]:
    """Baseline: decode every frame from the start, keep the recent ones, pick the tail."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate)
        keep = int(np.ceil(spec.window_seconds * fps)) + 2
        recent: deque = deque(maxlen=keep)
        decoded = 0
        for frame in container.decode(stream):
            recent.append((float(frame.pts * stream.time_base), frame))
            decoded += 1
    last_t = recent[-1][0]
    chosen = []
    for target in _targets(last_t, spec, fps):
        candidates = [item for item in recent if item[0] <= target + 0.25 / fps]
        if candidates and (not chosen or candidates[-1][0] > chosen[-1][0]):
            chosen.append(candidates[-1])
    images = [fit(frame.to_image(), spec.max_side) for _, frame in chosen]
    return np.stack([np.asarray(image) for image in images]), decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spec = TailSpec(frames=8, fps=1.0, max_side=512)
    total = round(args.seconds * args.fps)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.mp4"
        start = time.perf_counter()
        write_video(synthetic_frames(total, args.width, args.height), path, args.fps)
        encode_seconds = time.perf_counter() - start
        print(f"wrote {total} frames {args.width}x{args.height} in {encode_seconds:.1f}s", file=sys.stderr)

        episode = Episode("bench", source=path)
        seek_times, full_times = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            clip = select_tail(episode, spec)
            seek_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            baseline, decoded_full = full_decode_tail(path, spec)
            full_times.append(time.perf_counter() - start)
        same = bool(np.array_equal(clip.frames, baseline))

    seek, full = statistics.median(seek_times), statistics.median(full_times)
    result = {
        "benchmark": "tail_decode",
        "video": f"{args.seconds:g}s {args.width}x{args.height} {args.fps:g}fps libx264 gop=2s (synthetic)",
        "spec": {"frames": spec.frames, "fps": spec.fps, "max_side": spec.max_side},
        "seek_seconds": round(seek, 4),
        "full_decode_seconds": round(full, 4),
        "speedup": round(full / seek, 2),
        "decoded_frames_seek": clip.decoded_frames,
        "decoded_frames_full": decoded_full,
        "total_frames": total,
        "same_frames": same,
        "repeats": args.repeats,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
