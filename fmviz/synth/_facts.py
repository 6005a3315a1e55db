"""The numbers read off the simulator state for each episode: the raw material of its narrative."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fmviz.synth._physics import (
    BRAKE_DECEL,
    BRAKE_LATENCY,
    MAST_RADIUS,
    SENSOR_RANGE,
    _camera_pose,
    _Footprint,
    _robot_side,
    _Run,
)
from fmviz.synth._render import cast_depth
from fmviz.synth._scenes import Scene


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
