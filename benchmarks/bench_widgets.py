"""Widgets in Chromium: the map at 100,000 points, a lasso over them, the scrubber at 1,000 episodes.

    python benchmarks/bench_widgets.py [--repeats 3]

Each widget is embedded with ``fmviz.views.export.embed_widgets_html`` (the offline runtime,
the same page a report uses), written to a file and opened from ``file://`` in headless
Debian Chromium (``/usr/bin/chromium``) through Playwright, with every other request blocked.

- ``map_100k_first_render_s``: navigation start to the first finished draw of the map
  (parsing the page and its saved state, base64 decoding, importing the module, drawing).
- ``map_100k_lasso_ms``: a real mouse lasso around the middle of the map; the widget's own
  timer from mouse-up to the selection set and the map redrawn.
- ``scrubber_1000_first_render_s``: navigation start to the first episode shown.
- ``scrubber_1000_notebook_bytes``: what the scrubber adds to a saved notebook (its widget
  state as saved, buffers base64, plus its output bundle with the PNG fallback).

The data are SYNTHETIC: normal blobs for the map; for the scrubber, 8 frames of 320x240 per
episode drawn as a gradient room with boxes and sensor noise (JPEG sizes like real frames).
Targets (issue 7): first render < 1.5 s, lasso < 200 ms, scrubber bytes < 5 MB. Medians of
``--repeats`` fresh pages. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TARGETS = {"map_first_render_s": 1.5, "lasso_ms": 200.0, "scrubber_bytes": 5_000_000}


def synthetic_map(n: int, seed: int = 0):
    from fmviz.views.embedding_map import EmbeddingMap

    rng = np.random.default_rng(seed)
    k = 12
    centres = rng.normal(scale=6.0, size=(k, 2))
    labels = rng.integers(0, k, n)
    xy = centres[labels] + rng.normal(size=(n, 2))
    cluster_ids = [f"C{c}" if c < k - 1 else "outlier" for c in labels]
    texts = [f"synthetic reason {i}: the robot met obstacle type {c}" for i, c in enumerate(labels)]
    return EmbeddingMap.from_points(
        xy[:, 0], xy[:, 1], [f"ep{i:06d}" for i in range(n)], cluster_ids, texts=texts
    )


_H, _W = 240, 320
_BASE = np.linspace(60, 200, _H, dtype=np.float32)[:, None, None] * np.ones((1, _W, 3), np.float32)
#: Sensor noise fields drawn once and reused (drawing fresh noise for 8,000 frames would make
#: the data generation, not the widget, the slow part of the benchmark).
_NOISE = np.random.default_rng(99).normal(scale=6.0, size=(16, _H, _W, 3)).astype(np.float32)


def synthetic_frames(seed: int, count: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    box = rng.integers(40, 200, 2)
    for i in range(count):
        frame = _BASE + _NOISE[(seed + i) % len(_NOISE)]
        x, y = int(box[0] + 12 * i), int(box[1] - 4 * i)
        frame[max(0, y - 30) : y + 30, max(0, x - 20) : x + 20] = rng.integers(20, 120, 3)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def synthetic_episodes(n: int) -> list:
    from fmviz.views.scrubber import ScrubberEpisode

    return [
        ScrubberEpisode(
            id=f"ep{i:04d}",
            frames=synthetic_frames(i),
            times=[0.5 * k for k in range(8)],
            context=f"task: deliver a parcel to room {i % 40}; success: reach the door without contact",
            trajectory="The robot left the dock, turned left into the corridor and approached the door. " * 2,
            failure_reason=f"It collided with an obstacle of kind {i % 9} that the depth camera missed.",
            cluster_id="outlier" if i % 17 == 0 else f"C{i % 9}",
            cluster_name=f"failure mode {i % 9}",
            rationale="closest to the centroid of the mode by cosine similarity",
        )
        for i in range(n)
    ]


def notebook_bytes(widget) -> int:
    """Bytes of the widget in a saved notebook: its state (as saved) plus its output bundle."""
    state = widget._get_embed_state(drop_defaults=False)
    data, metadata = widget._repr_mimebundle_()
    output = {"output_type": "display_data", "data": data, "metadata": metadata}
    return len(json.dumps(state, separators=(",", ":"))) + len(json.dumps(output, separators=(",", ":")))


def write_page(folder: Path, name: str, widget) -> Path:
    from fmviz.views.export import embed_widgets_html

    path = folder / f"{name}.html"
    body = embed_widgets_html(widget)
    path.write_text(f"<!doctype html><meta charset='utf-8'><body style='width:1000px'>{body}</body>", "utf-8")
    return path


def open_page(browser, path: Path, selector: str, attribute: str):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    blocked: list[str] = []
    errors: list[str] = []
    local = ("file:", "data:", "blob:")
    page.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(local) else (blocked.append(1), r.abort())
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function(
        f"document.querySelector('{selector}') && document.querySelector('{selector}').dataset.{attribute}",
        timeout=120_000,
    )
    at = float(page.evaluate(f"document.querySelector('{selector}').dataset.{attribute}"))
    if blocked or errors:
        raise SystemExit(f"page {path.name}: {len(blocked)} blocked requests, errors: {errors[:3]}")
    return context, page, at / 1000.0


def lasso(page) -> tuple[float, int]:
    box = page.locator(".fmviz-map-overlay").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    r = 0.3 * min(box["width"], box["height"])
    angles = np.linspace(0, 2 * np.pi, 60)
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for a in angles[1:]:
        page.mouse.move(cx + r * np.cos(a), cy + r * np.sin(a))
    page.mouse.up()
    page.wait_for_function("document.querySelector('.fmviz-map').dataset.lassoMs !== undefined")
    ms = float(page.evaluate("document.querySelector('.fmviz-map').dataset.lassoMs"))
    count = int(page.evaluate("window.fmvizRuntime.models.values().next().value.get('selected_ids').length"))
    return ms, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=1_000)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    emap = synthetic_map(args.points)
    map_build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    episodes = synthetic_episodes(args.episodes)
    data_s = time.perf_counter() - t0
    from fmviz.views.scrubber import Scrubber

    t0 = time.perf_counter()
    scrubber = Scrubber.from_episodes(episodes)
    scrubber_build_s = time.perf_counter() - t0
    print(f"synthetic frames for {args.episodes} episodes made in {data_s:.2f} s", file=sys.stderr)
    status = scrubber.budget_frame()["status"].value_counts().to_dict()
    scrubber_bytes = notebook_bytes(scrubber)
    map_bytes = notebook_bytes(emap)
    print(
        f"built map ({args.points} points) in {map_build_s:.2f} s, {map_bytes / 1e6:.2f} MB saved",
        file=sys.stderr,
    )
    print(f"built scrubber ({args.episodes} episodes) in {scrubber_build_s:.2f} s, {status}", file=sys.stderr)

    renders, lassos, selected, scrub_renders = [], [], 0, []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        map_page = write_page(Path(tmp), "map", emap)
        scrub_page = write_page(Path(tmp), "scrubber", scrubber)
        for _ in range(args.repeats):
            context, page, at = open_page(browser, map_page, ".fmviz-map", "firstDrawAt")
            renders.append(at)
            ms, selected = lasso(page)
            lassos.append(ms)
            context.close()
            context, page, at = open_page(browser, scrub_page, ".fmviz-scrub", "firstShownAt")
            scrub_renders.append(at)
            context.close()
        browser.close()
        for label, values in (
            ("map first render s", renders),
            ("lasso ms", lassos),
            ("scrubber s", scrub_renders),
        ):
            print(f"{label}: {', '.join(f'{v:.3f}' for v in values)}", file=sys.stderr)

    result = {
        "map_100k_first_render_s": round(statistics.median(renders), 3),
        "map_100k_lasso_ms": round(statistics.median(lassos), 1),
        "map_lasso_selected_points": selected,
        "map_notebook_bytes": map_bytes,
        "map_build_s": round(map_build_s, 2),
        "scrubber_build_s": round(scrubber_build_s, 2),
        "scrubber_1000_first_render_s": round(statistics.median(scrub_renders), 3),
        "scrubber_1000_notebook_bytes": scrubber_bytes,
        "scrubber_episodes_with_frames": int(status.get("frames", 0)),
        "scrubber_episodes_with_thumbnail": int(status.get("thumbnail", 0)),
        "points": args.points,
        "episodes": args.episodes,
        "repeats": args.repeats,
        # Timings are wall clock in a shared browser process: report the machine's load with them.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "meets_targets": bool(
            statistics.median(renders) < TARGETS["map_first_render_s"]
            and statistics.median(lassos) < TARGETS["lasso_ms"]
            and scrubber_bytes < TARGETS["scrubber_bytes"]
        ),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
