"""Synthetic navigation failures with known causes: the third case study.

Public indoor-robot collision videos with cause labels do not exist, so fmviz ships a small
deterministic simulator instead. A ground robot (a base of radius 0.25 m up to 0.35 m, a
mast of radius 0.06 m up to 0.95 m, a forward camera at 0.5 m) drives through office
corridors; each failure episode ends in the frame where its body first touches an object
chosen to defeat one perception or planning assumption (see :data:`CAUSES`). Safe runs
(label ``"safe"``) end without contact, for the runtime monitor.

The log narrative of an episode is written from the simulator's state (speed, heading,
object, contact point, lighting, what the simulated obstacle detector reported) with
seeded wording variation, so the cause is recoverable but not a fixed phrase. Everything
is a pure function of the seed: the same seed gives the same manifest bytes and frames.
All data produced here is synthetic and labelled so.

Examples
--------
>>> from fmviz.synth import simulate_episode
>>> episode = simulate_episode("glass_door", seed=3, size=(64, 48), frames=12)
>>> episode.frames.shape, episode.label
((12, 48, 64, 3), 'glass_door')
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fmviz.episodes import Dataset
from fmviz.synth._facts import _facts
from fmviz.synth._failure_scenes import build_failure_scene
from fmviz.synth._narrative import failure_narrative, safe_narrative
from fmviz.synth._physics import (
    _camera_pose,
    _Footprint,
    _integrate,
    _poses_at,
    _Run,
)
from fmviz.synth._render import Camera, render
from fmviz.synth._scenes import (
    CAUSES,
    SAFE_KINDS,
    TARGET_PARTS,
    Scene,
    build_safe_scene,
)

__all__ = [
    "CAUSES",
    "SAFE_KINDS",
    "NavEpisode",
    "generate_navigation",
    "min_clearance",
    "navigation_episodes",
    "plan_episodes",
    "simulate_episode",
]

_TASK = "Drive the office delivery robot from {start} to {goal} without touching anything."
_SUCCESS = "The robot reaches {goal} with no contact between its body and any object or wall."
_PLACES = [
    "the lift lobby",
    "the print room",
    "desk cluster B",
    "the kitchen",
    "the charging dock",
    "meeting room 3",
    "the mail room",
    "lab 2",
]
DESCRIPTION = (
    "SYNTHETIC navigation failures rendered by fmviz.synth.navigation (first-person camera of an "
    "indoor ground robot). Each failure clip ends at the first contact frame; label = the cause "
    "chosen by the generator; narrative = a log summary written from simulator state."
)


@dataclass
class NavEpisode:
    """One simulated run: frames, ground truth and the log narrative."""

    id: str
    label: str  # a cause from CAUSES, or "safe"
    frames: np.ndarray  # (K, H, W, 3) uint8
    narrative: str
    collided: bool
    contact_frame: int | None
    task: str
    success_condition: str
    action_plan: list[str]
    facts: dict[str, Any] = field(default_factory=dict)
    poses: np.ndarray | None = None  # (K, 3) robot x, y, heading per frame
    scene: Scene | None = None


def simulate_episode(
    cause: str,
    seed: int,
    *,
    size: tuple[int, int] = (128, 96),
    fps: float = 10.0,
    frames: int = 32,
    episode_id: str | None = None,
    max_tries: int = 200,
) -> NavEpisode:
    """Simulate and render one episode.

    Parameters
    ----------
    cause:
        A collision cause from :data:`CAUSES`, or a safe-run kind from :data:`SAFE_KINDS`.
    seed:
        Seed of this episode; scenes are redrawn from the same generator until the drive
        ends the way the cause requires (contact with the target part, or no contact).
    size:
        ``(width, height)`` of the frames.
    fps, frames:
        Frame rate and number of frames ``K``; a collision happens in frame ``K - 1``.

    Returns
    -------
    NavEpisode
    """
    safe = cause in SAFE_KINDS
    if not safe and cause not in CAUSES:
        raise ValueError(f"unknown cause {cause!r}; choose from {CAUSES + SAFE_KINDS}")
    if frames < 8:
        raise ValueError("a navigation episode needs at least 8 frames")
    rng = np.random.default_rng(seed)
    duration = (frames - 1) / fps
    for _ in range(max_tries):
        scene = (build_safe_scene if safe else build_failure_scene)(cause, rng, frames, fps)
        run = _integrate(scene, duration if safe else duration + 4.0, stop_on_contact=True)
        times = _check(scene, run, duration, fps, safe)
        if times is not None:
            break
    else:
        raise RuntimeError(f"could not build a {cause!r} episode for seed {seed} in {max_tries} tries")
    camera = Camera(*size)
    poses = _poses_at(run, times)
    images, coverage = [], []
    targets = scene.targets
    for pose in poses:
        image, ids = render(
            scene.prims, _camera_pose(pose), camera, light=scene.light, floor_color=scene.floor_color
        )
        images.append(image)
        coverage.append(float(np.isin(ids, targets).mean()) if targets else 0.0)
    facts = _facts(scene, run, poses, times, np.array(coverage), fps, rng, safe)
    goal = _PLACES[int(rng.integers(len(_PLACES)))]
    start = _PLACES[int(rng.integers(len(_PLACES)))]
    facts["goal"] = goal
    text = safe_narrative(facts, rng) if safe else failure_narrative(cause, facts, rng)
    plan = [
        f"undock at {start}",
        f"plan a path to {goal}",
        f"follow the {scene.place} at up to 0.9 m/s",
        f"stop at {goal}",
    ]
    return NavEpisode(
        id=episode_id or f"{cause}-{seed}",
        label="safe" if safe else cause,
        frames=np.stack(images),
        narrative=text,
        collided=not safe,
        contact_frame=None if safe else frames - 1,
        task=_TASK.format(start=start, goal=goal),
        success_condition=_SUCCESS.format(goal=goal),
        action_plan=plan,
        facts=facts,
        poses=poses,
        scene=scene,
    )


def _check(scene: Scene, run: _Run, duration: float, fps: float, safe: bool) -> np.ndarray | None:
    """Frame times if the run ended as required, else None (the caller redraws the scene)."""
    frames = round(duration * fps) + 1
    if safe:
        if run.contact_time is not None:
            return None
        times = np.arange(frames) / fps
        foot = _Footprint(scene.prims)
        if min(float(foot.closest(*p[:2])[1].min()) for p in _poses_at(run, times)) < 0.05:
            return None
        return times
    if run.contact_time is None or run.contact_time < duration + 0.05 or run.contact_prim is None:
        return None
    prim = scene.prims[run.contact_prim]
    if prim.obj not in scene.targets or prim.part not in TARGET_PARTS[scene.cause]:
        return None
    times = run.contact_time - (frames - 1 - np.arange(frames)) / fps
    foot = _Footprint(scene.prims)
    before = [float(foot.closest(*p[:2])[1].min()) for p in _poses_at(run, times[:-1])]
    if min(before) < 0.005:
        return None
    return times


def _write_video(frames: np.ndarray, path: Path, fps: float) -> None:
    from fmviz.video import write_video

    write_video(frames, path, fps, crf=30)


def generate_navigation(
    out_dir: str | Path,
    n_per_cause: int = 10,
    n_safe: int = 20,
    seed: int = 0,
    size: tuple[int, int] = (128, 96),
    fps: float = 10.0,
    frames: int = 32,
    causes: tuple[str, ...] = CAUSES,
    progress: bool = True,
) -> Dataset:
    """Write the synthetic navigation case study to ``out_dir`` and return its failures.

    Writes ``videos/<id>.mp4`` per episode, ``manifest.csv`` (collisions, one row per
    episode, ids in a seeded random order that hides the cause), ``safe_runs.csv`` (runs
    without contact, label ``"safe"``) and ``dataset.json``. The same arguments always
    give the same manifest bytes and the same frames.

    Parameters
    ----------
    out_dir:
        Output folder (created).
    n_per_cause, n_safe:
        Collision episodes per cause and safe runs (safe kinds in rotation).
    seed:
        Master seed; episode ``i`` uses seed ``seed * 100_003 + i``.
    size, fps, frames:
        Frame size ``(width, height)``, frame rate and frames per episode.
    causes:
        Which causes to generate (default: all of :data:`CAUSES`).

    Returns
    -------
    Dataset
        The collision episodes (domain ``navigation``), sources resolved under ``out_dir``.
    """
    if n_per_cause < 0 or n_safe < 0:
        raise ValueError("episode counts must be non-negative")
    out = Path(out_dir)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    rows: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for episode in navigation_episodes(n_per_cause, n_safe, seed, size, fps, frames, causes, progress):
        source = f"videos/{episode.id}.mp4"
        _write_video(episode.frames, out / source, fps)
        rows[episode.collided].append(_row(episode, source, fps))
    failures = pd.DataFrame(rows[True])
    safe = pd.DataFrame(rows[False])
    failures.to_csv(out / "manifest.csv", index=False)
    safe.to_csv(out / "safe_runs.csv", index=False)
    info = {"name": "navigation", "domain": "navigation", "description": DESCRIPTION}
    (out / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    from fmviz.loaders import load_dataset

    return load_dataset(out)


def navigation_episodes(
    n_per_cause: int = 2,
    n_safe: int = 0,
    seed: int = 0,
    size: tuple[int, int] = (128, 96),
    fps: float = 10.0,
    frames: int = 32,
    causes: tuple[str, ...] = CAUSES,
    progress: bool = True,
) -> Iterator[NavEpisode]:
    """The episodes :func:`generate_navigation` renders for the same arguments, one at a time."""
    for episode_id, cause, episode_seed in tqdm(
        plan_episodes(n_per_cause, n_safe, seed, causes), desc="navigation episodes", disable=not progress
    ):
        yield simulate_episode(cause, episode_seed, size=size, fps=fps, frames=frames, episode_id=episode_id)


def plan_episodes(
    n_per_cause: int, n_safe: int, seed: int = 0, causes: tuple[str, ...] = CAUSES
) -> list[tuple[str, str, int]]:
    """``(episode_id, cause, episode_seed)`` of every episode :func:`generate_navigation` writes.

    Jobs are shuffled with ``seed`` so that ids (``nav-fail-000``, ...) do not reveal the
    cause; episode seeds are ``seed * 100_003 + job index``. Useful to re-simulate one
    episode of a written dataset.
    """
    jobs = [(c, True) for c in causes for _ in range(n_per_cause)]
    jobs += [(SAFE_KINDS[i % len(SAFE_KINDS)], False) for i in range(n_safe)]
    order = np.random.default_rng(seed).permutation(len(jobs))
    counters = {True: 0, False: 0}
    plan = []
    for job_index in order:
        cause, failure = jobs[int(job_index)]
        plan.append(
            (
                f"nav-{'fail' if failure else 'safe'}-{counters[failure]:03d}",
                cause,
                seed * 100_003 + int(job_index),
            )
        )
        counters[failure] += 1
    return plan


def min_clearance(episode: NavEpisode) -> np.ndarray:
    """Clearance (m) between the robot and the nearest surface in each frame of ``episode``.

    Zero (to integration precision) in a collision's last frame and positive before it.
    """
    foot = _Footprint(episode.scene.prims)
    return np.array([float(foot.closest(float(p[0]), float(p[1]))[1].min()) for p in episode.poses])


def _row(episode: NavEpisode, source: str, fps: float) -> dict[str, Any]:
    f = episode.facts
    k = len(episode.frames)
    return {
        "id": episode.id,
        "source": source,
        "fps": fps,
        "failure_frame": episode.contact_frame,
        "failure_time": round((k - 1) / fps, 3) if episode.collided else None,
        "task": episode.task,
        "success_condition": episode.success_condition,
        "action_plan": json.dumps(episode.action_plan),
        "notes": "SYNTHETIC episode rendered by fmviz.synth.navigation; the narrative is a generated log.",
        "narrative": episode.narrative,
        "expert_reason": None,
        "label": episode.label,
        "synthetic": True,
        "frames": k,
        "object": f.get("object"),
        "object_part": f.get("object_part"),
        "contact_point": f.get("contact_point"),
        "speed_mps": f.get("speed_mps"),
        "lighting": f.get("lighting"),
        "safe_kind": f.get("safe_kind"),
    }
