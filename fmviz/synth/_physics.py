"""The robot's body and motion in the synthetic rooms: footprint clearance and integration.

Shared by the sample-data generator, the held-out monitor sets and the learned brake policy,
so all of them move the same robot through the same geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fmviz.synth._render import Prim
from fmviz.synth._scenes import Scene

BASE_RADIUS = 0.25
BASE_TOP = 0.35
MAST_RADIUS = 0.06
MAST_TOP = 0.95
CAMERA_FORWARD = 0.08
BRAKE_DECEL = 1.2  # m/s^2
BRAKE_LATENCY = 0.15  # s
SENSOR_RANGE = 8.0  # m, the depth sensor's maximum reading
_DT = 0.01  # integration step, s


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
