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
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fmviz.episodes import Dataset
from fmviz.synth._narrative import failure_narrative, safe_narrative
from fmviz.synth._render import Camera, Prim, cast_depth, render
from fmviz.synth._scenes import (
    CAUSES,
    SAFE_KINDS,
    TARGET_PARTS,
    Scene,
    build_failure_scene,
    build_safe_scene,
)

__all__ = [
    "CAUSES",
    "SAFE_KINDS",
    "NavEpisode",
    "generate_navigation",
    "min_clearance",
    "plan_episodes",
    "simulate_episode",
]

BASE_RADIUS = 0.25
BASE_TOP = 0.35
MAST_RADIUS = 0.06
MAST_TOP = 0.95
CAMERA_FORWARD = 0.08
BRAKE_DECEL = 1.2  # m/s^2
BRAKE_LATENCY = 0.15  # s
SENSOR_RANGE = 8.0  # m, the depth sensor's maximum reading
_DT = 0.01  # integration step, s
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


@dataclass
class _Run:
    times: np.ndarray
    poses: np.ndarray  # (n, 3): x, y, heading
    speeds: np.ndarray
    rates: np.ndarray
    contact_time: float | None
    contact_prim: int | None


class _Footprint:
    """Vectorised 2-D clearance between the robot and every primitive."""

    def __init__(self, prims: list[Prim]) -> None:
        self.prims = prims
        radius = []
        for p in prims:
            radius.append(BASE_RADIUS if p.z0 < BASE_TOP else MAST_RADIUS if p.z0 < MAST_TOP else -np.inf)
        self.radius = np.array(radius)  # -inf: above the robot, never touched
        self.is_seg = np.array([p.kind == "seg" for p in prims])
        self.a = np.array([p.a for p in prims], dtype=float)
        self.b = np.array([p.b for p in prims], dtype=float)
        self.e = np.where(self.is_seg[:, None], self.b - self.a, 0.0)
        self.e2 = np.maximum((self.e**2).sum(axis=1), 1e-12)
        self.rho = np.where(self.is_seg, 0.0, self.b[:, 0])

    def closest(self, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
        """Closest point on each primitive's footprint and the clearance to it (m)."""
        p = np.array([x, y])
        s = np.clip(((p - self.a) * self.e).sum(axis=1) / self.e2, 0.0, 1.0)
        seg_pt = self.a + s[:, None] * self.e
        off = p - self.a
        norm = np.maximum(np.hypot(off[:, 0], off[:, 1]), 1e-9)
        cyl_pt = self.a + off * (self.rho / norm)[:, None]
        point = np.where(self.is_seg[:, None], seg_pt, cyl_pt)
        dist = np.hypot(*(p - point).T)
        dist = np.where(self.is_seg, dist, norm - self.rho)
        return point, dist - self.radius


def _integrate(scene: Scene, t_end: float, stop_on_contact: bool) -> _Run:
    """Drive the robot with fixed-step integration; find the first contact by interpolation."""
    foot = _Footprint(scene.prims)
    target_mask = np.array([p.obj in scene.targets for p in scene.prims])
    drive = scene.drive
    x, y, th = drive.start
    v = drive.speed
    turning = turned = braking = False
    times, poses, speeds, rates = [0.0], [(x, y, th)], [v], [0.0]
    _, clear = foot.closest(x, y)
    if clear.min() <= 0:
        return _Run(
            np.array(times), np.array(poses), np.array(speeds), np.array(rates), 0.0, int(clear.argmin())
        )
    n_steps = math.ceil(t_end / _DT)
    for step in range(1, n_steps + 1):
        t = step * _DT
        omega = drive.wobble_amp * math.sin(2 * math.pi * t / drive.wobble_period + drive.wobble_phase)
        if drive.turn_at_x is not None and not turned and (turning or x >= drive.turn_at_x):
            turning = True
            omega = drive.turn_rate
        if braking:
            v = max(0.0, v - drive.decel * _DT)
            omega = 0.0 if v == 0 else omega
        prev = (x, y, th)
        x += v * math.cos(th) * _DT
        y += v * math.sin(th) * _DT
        th += omega * _DT
        if turning and (th - drive.turn_to) * math.copysign(1, drive.turn_rate) >= 0:
            th, turning, turned = drive.turn_to, False, True
        _, new_clear = foot.closest(x, y)
        if stop_on_contact and new_clear.min() <= 0:
            c0, c1 = float(clear.min()), float(new_clear.min())
            frac = c0 / max(c0 - c1, 1e-12)
            t_c = t - _DT + frac * _DT
            pose = tuple(prev[i] + frac * ((x, y, th)[i] - prev[i]) for i in range(3))
            times.append(t_c)
            poses.append(pose)
            speeds.append(v)
            rates.append(omega)
            return _Run(
                np.array(times),
                np.array(poses),
                np.array(speeds),
                np.array(rates),
                t_c,
                int(new_clear.argmin()),
            )
        clear = new_clear
        if (
            drive.stop_at_clearance is not None
            and not braking
            and target_mask.any()
            and float(clear[target_mask].min()) <= drive.stop_at_clearance
        ):
            braking = True
        times.append(t)
        poses.append((x, y, th))
        speeds.append(v)
        rates.append(omega)
    return _Run(np.array(times), np.array(poses), np.array(speeds), np.array(rates), None, None)


def _poses_at(run: _Run, times: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(times, run.times, run.poses[:, i]) for i in range(3)], axis=1)


def _camera_pose(pose: np.ndarray) -> tuple[float, float, float]:
    x, y, th = (float(v) for v in pose)
    return (x + CAMERA_FORWARD * math.cos(th), y + CAMERA_FORWARD * math.sin(th), th)


def _robot_side(bearing: float, mast: bool) -> str:
    if mast:
        return "mast"
    deg = (math.degrees(bearing) + 180) % 360 - 180
    if abs(deg) < 20:
        return "front"
    if abs(deg) < 65:
        return "front-left" if deg > 0 else "front-right"
    if abs(deg) < 120:
        return "left side" if deg > 0 else "right side"
    return "rear"


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


def _facts(
    scene: Scene,
    run: _Run,
    poses: np.ndarray,
    times: np.ndarray,
    coverage: np.ndarray,
    fps: float,
    rng: np.random.Generator,
    safe: bool,
) -> dict[str, Any]:
    """Numbers read off the simulator state, the raw material of the narrative."""
    facts: dict[str, Any] = dict(scene.facts)
    last = poses[-1]
    speed = float(np.interp(times[-1], run.times, run.speeds))
    lux = {"bright": 900, "normal": 480, "dim": 120}[scene.lighting] * scene.light
    facts.update(
        place=scene.place,
        lighting=scene.lighting,
        lux=int(round(lux / 10) * 10),
        speed_mps=round(speed, 2),
        start_speed_mps=round(scene.drive.speed, 2),
        heading_deg=round(math.degrees(float(last[2])), 1),
        yaw_rate_dps=round(math.degrees(float(np.interp(times[-1], run.times, run.rates))), 1),
        travelled_m=round(float(np.hypot(*(poses[-1, :2] - poses[0, :2]))), 2),
        clip_s=round(float(times[-1] - times[0]), 1),
        corridor_width_m=round(scene.width, 2),
        distractors=[o.name for o in scene.objects if o.role == "distractor"],
        stopping_distance_m=round(speed**2 / (2 * BRAKE_DECEL) + speed * BRAKE_LATENCY, 2),
    )
    foot = _Footprint(scene.prims)
    if safe:
        clear = np.array([foot.closest(*p[:2])[1] for p in poses])
        nearest = clear.min(axis=0)
        if scene.drive.stop_at_clearance is not None:  # report the obstacle it stopped for
            nearest = np.where([p.obj in scene.targets for p in scene.prims], nearest, np.inf)
        prim = int(nearest.argmin())
        obj = scene.objects[scene.prims[prim].obj]
        facts.update(
            safe_kind=_safe_kind(scene),
            min_clearance_m=round(float(nearest.min()), 2),
            nearest_object=obj.name if obj.role != "building" else "wall",
            final_speed_mps=round(speed, 2),
        )
        if scene.targets:
            target = scene.objects[scene.targets[0]]
            facts.update(object=target.name, object_colour=target.colour)
        return facts
    prim = scene.prims[int(run.contact_prim)]  # type: ignore[arg-type]
    obj = scene.objects[prim.obj]
    points, _ = foot.closest(float(last[0]), float(last[1]))
    cp = points[int(run.contact_prim)]  # type: ignore[arg-type]
    bearing = math.atan2(cp[1] - last[1], cp[0] - last[0]) - float(last[2])
    seen = np.nonzero(coverage > 0)[0]
    k = len(times)
    back = min(k - 1, round(fps))  # one second before contact
    cam_back = _camera_pose(poses[-1 - back])
    others = [p for p in scene.prims if p.obj not in scene.targets]  # what a sensor blind to it reads
    facts.update(
        object=obj.name,
        object_colour=obj.colour,
        object_size_cm=tuple(round(100 * s) for s in obj.size),
        object_part=prim.part,
        contact_point=_robot_side(bearing, foot.radius[int(run.contact_prim)] == MAST_RADIUS),  # type: ignore[arg-type]
        contact_xy=(round(float(cp[0]), 2), round(float(cp[1]), 2)),
        coverage_last_pct=round(100 * float(coverage[-1]), 1),
        coverage_1s_pct=round(100 * float(coverage[-1 - back]), 1),
        visible_at_contact=bool(coverage[-1] > 0),
        last_seen_s=round(float(times[-1] - times[seen[-1]]), 1) if len(seen) else None,
        first_seen_m=round(float(foot.closest(*poses[seen[0], :2])[1][int(run.contact_prim)]), 2)  # type: ignore[index]
        if len(seen)
        else None,
        depth_beam_1s_m=round(min(cast_depth(others, cam_back, see_glass=False), SENSOR_RANGE), 2),
        true_range_1s_m=round(min(cast_depth(scene.prims, cam_back, see_glass=True), SENSOR_RANGE), 2),
        impact_force_n=round(float(rng.uniform(25, 60)) * speed * 4),
    )
    stopping = facts["stopping_distance_m"]
    if rng.random() < 0.5:
        facts["detected_m"] = None
    else:
        facts["detected_m"] = round(float(rng.uniform(0.02, 0.8)) * stopping, 2)
    return facts


def _safe_kind(scene: Scene) -> str:
    drive = scene.drive
    if drive.stop_at_clearance is not None:
        return "stopped_before_obstacle"
    if drive.turn_at_x is not None:
        return "through_doorway"
    if "gap_width_m" in scene.facts:
        return "through_wide_gap"
    return "clear_corridor"


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
    for episode_id, cause, episode_seed in tqdm(
        plan_episodes(n_per_cause, n_safe, seed, causes), desc="navigation episodes", disable=not progress
    ):
        episode = simulate_episode(
            cause, episode_seed, size=size, fps=fps, frames=frames, episode_id=episode_id
        )
        source = f"videos/{episode_id}.mp4"
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
