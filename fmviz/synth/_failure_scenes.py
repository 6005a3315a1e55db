"""The failure scenes: one builder per cause, each placing an object chosen to defeat one
perception or planning assumption in the robot's path (see ``CAUSES``)."""

from __future__ import annotations

import math

import numpy as np

from fmviz.synth._render import Prim, box
from fmviz.synth._scenes import (
    CAUSES,
    COLOURS,
    WALL_COLOURS,
    Drive,
    Scene,
    SceneObject,
    _base,
    _Builder,
    _corridor,
    _distractors,
    _pick,
    _straight_drive,
)


def build_failure_scene(cause: str, rng: np.random.Generator, frames: int, fps: float) -> Scene:
    """A scene whose drive should end in a ``cause`` collision (checked by the simulator)."""
    if cause not in CAUSES:
        raise ValueError(f"unknown navigation cause {cause!r}; choose from {CAUSES}")
    builder = _Builder()
    lighting = {"featureless_white_wall": "bright", "dark_box": _pick(rng, ["dim", "normal"])}.get(cause)
    width, lighting, light, wall_name, floor, place = _base(rng, lighting)
    wall_rgb = WALL_COLOURS[wall_name]
    x_t = float(rng.uniform(4.0, 6.5))
    y_line = float(rng.uniform(-0.25, 0.25))
    facts: dict[str, object] = {"wall_colour": wall_name}
    x_end = 16.0
    left_gap = right_gap = None
    drive: Drive | None = None

    if cause == "thin_chair_legs":
        name = _pick(rng, ["four-legged office chair", "stacking chair", "bar stool", "folding chair"])
        colour = _pick(rng, ["black", "grey", "red", "blue", "beige"])
        side = float(rng.uniform(0.38, 0.5))
        seat = 0.7 if name == "bar stool" else float(rng.uniform(0.42, 0.5))
        leg_r = float(rng.uniform(0.009, 0.018))
        idx = builder.add(
            SceneObject(name, colour, (side, side, seat + (0 if name == "bar stool" else 0.4)), "target")
        )
        hit_y = y_line + float(rng.uniform(-0.2, 0.2))
        cy = hit_y + (side / 2 - 0.02) * (1 if rng.random() < 0.5 else -1)
        x0, x1, y0, y1 = x_t, x_t + side, cy - side / 2, cy + side / 2
        for lx in (x0 + 0.02, x1 - 0.02):
            for ly in (y0 + 0.02, y1 - 0.02):
                builder.prims.append(
                    Prim("cyl", (lx, ly), (leg_r, 0), 0.0, seat, (60, 60, 64), idx, "solid", "leg")
                )
        builder.prims += box(x0, y0, x1, y1, seat, seat + 0.05, COLOURS[colour], idx, part="seat")
        if name != "bar stool":
            builder.prims += box(
                x1 - 0.05, y0, x1, y1, seat + 0.05, seat + 0.45, COLOURS[colour], idx, part="back"
            )
        facts.update(leg_diameter_cm=round(200 * leg_r, 1), seat_height_m=round(seat, 2))
    elif cause == "featureless_white_wall":
        x_end = x_t
        white = (246, 246, 243)
        idx = builder.add(SceneObject("plain white wall", "white", (width + 3.2, 0.1, 2.6), "target"))
        all_white = rng.random() < 0.5
        if all_white:
            wall_rgb = (236, 236, 232)
            facts["wall_colour"] = "white"
        branch = 1.6
        half = width / 2
        for sign in (1, -1):
            builder.wall((-4.0, sign * half), (x_t - branch, sign * half), wall_rgb)
            builder.wall((x_t - branch, sign * half), (x_t - branch, sign * (half + 3)), wall_rgb)
        builder.wall((-4.0, -half), (-4.0, half), wall_rgb)
        builder.prims.append(
            Prim("seg", (x_t, -half - 3), (x_t, half + 3), 0.0, 2.6, white, idx, "plain", "wall")
        )
        drive = _straight_drive(rng, x_t - 0.25, y_line, frames, fps)
        heading = float(rng.uniform(-0.2, 0.2))
        run = (x_t - 0.25) - drive.start[0]
        drive.start = (drive.start[0], y_line - math.tan(heading) * run, heading)
        drive.wobble_amp = min(drive.wobble_amp, 0.02)
        facts["junction"] = "T-junction"
    elif cause == "glass_door":
        name = _pick(
            rng, ["glass door", "frameless glass door", "glass partition door", "glass meeting-room door"]
        )
        idx = builder.add(SceneObject(name, "clear", (1.0, 0.01, 2.2), "target"))
        half = width / 2
        door_w = float(rng.uniform(0.9, 1.1))
        dc = y_line + float(rng.uniform(-0.15, 0.15))
        tint = (170, 210, 215)
        builder.prims.append(Prim("seg", (x_t, -half), (x_t, half), 0.0, 2.2, tint, idx, "glass", "glass"))
        frame_rgb = (150, 150, 155) if "frameless" not in name else (200, 200, 205)
        post = 0.03 if "frameless" not in name else 0.012
        for yy in (dc - door_w / 2, dc + door_w / 2):
            builder.prims += box(
                x_t - post, yy - post, x_t + post, yy + post, 0.0, 2.2, frame_rgb, idx, part="frame"
            )
        builder.prims += box(x_t - 0.03, -half, x_t + 0.03, half, 2.2, 2.6, frame_rgb, idx, part="frame")
        facts.update(door_width_m=round(door_w, 2))
    elif cause == "narrow_gap":
        gap = float(rng.uniform(0.36, 0.47))
        yg = y_line + float(rng.uniform(-0.06, 0.06))
        half = width / 2
        names = ["filing cabinet", "printer stand", "bookshelf", "storage cabinet", "moving boxes"]
        left, right = _pick(rng, names), _pick(rng, names)
        cl, cr = _pick(rng, ["grey", "beige", "white", "oak"]), _pick(rng, ["grey", "beige", "blue", "oak"])
        depth_l, depth_r = float(rng.uniform(0.4, 0.7)), float(rng.uniform(0.4, 0.7))
        il = builder.add(SceneObject(left, cl, (half - yg - gap / 2, depth_l, 1.1), "target"))
        ir = builder.add(SceneObject(right, cr, (yg - gap / 2 + half, depth_r, 1.0), "target"))
        builder.prims += box(
            x_t, yg + gap / 2, x_t + depth_l, half, 0.0, float(rng.uniform(0.9, 1.6)), COLOURS[cl], il
        )
        builder.prims += box(
            x_t, -half, x_t + depth_r, yg - gap / 2, 0.0, float(rng.uniform(0.8, 1.4)), COLOURS[cr], ir
        )
        y_line = yg + float(rng.uniform(-0.05, 0.05))
        facts.update(gap_width_m=round(gap, 2), gap_between=f"{left} and {right}")
    elif cause == "low_clutter":
        kinds = {
            "backpack lying flat": (0.35, 0.28, float(rng.uniform(0.09, 0.13))),
            "coiled extension cable": (0.9, 0.05, 0.03),
            "shoe box": (0.3, 0.18, 0.11),
            "power strip with cables": (0.45, 0.07, 0.045),
            "laptop bag": (0.4, 0.3, 0.08),
        }
        name = _pick(rng, list(kinds))
        w, d, h = kinds[name]
        colour = _pick(rng, ["black", "grey", "blue", "red", "orange"])
        idx = builder.add(SceneObject(name, colour, (w, d, h), "target"))
        cy = y_line + float(rng.uniform(-w / 4, w / 4))
        builder.prims += box(x_t, cy - w / 2, x_t + d, cy + w / 2, 0.0, h, COLOURS[colour], idx)
    elif cause == "corner_clip":
        half = width / 2
        sign = 1 if rng.random() < 0.5 else -1
        variant = _pick(rng, ["door frame", "wall corner"])
        open_w = float(rng.uniform(0.85, 1.0)) if variant == "door frame" else float(rng.uniform(1.2, 1.6))
        d0 = x_t
        gap = (d0, d0 + open_w)
        if sign > 0:
            left_gap = gap
        else:
            right_gap = gap
        idx = builder.add(SceneObject(variant, wall_name, (0.1, 0.1, 2.6), "target"))
        room = 3.0
        for xx in (d0, d0 + open_w):
            builder.wall((xx, sign * half), (xx, sign * (half + room)), wall_rgb)
        builder.wall((d0 - 2.0, sign * (half + room)), (d0 + open_w + 2.0, sign * (half + room)), wall_rgb)
        if variant == "door frame":
            frame_rgb = COLOURS[_pick(rng, ["oak", "white", "grey"])]
            for xx, x_in in ((d0, d0 - 0.08), (d0 + open_w, d0 + open_w + 0.08)):
                lo, hi = sorted((sign * (half - 0.05), sign * (half + 0.12)))
                builder.prims += box(
                    min(xx, x_in), lo, max(xx, x_in), hi, 0.0, 2.1, frame_rgb, idx, part="frame"
                )
        else:
            lo, hi = sorted((sign * (half - 0.01), sign * (half + 0.01)))
            builder.prims += box(d0 - 0.02, lo, d0, hi, 0.0, 2.6, wall_rgb, idx, "wall", part="corner")
        speed = float(rng.uniform(0.35, 0.75))
        rate = math.radians(float(rng.uniform(30, 60)))
        radius = speed / rate
        centre_x = d0 + open_w / 2
        early = float(rng.uniform(0.15, 0.45))
        turn_at = centre_x - radius - early
        lead = float(rng.uniform(0.3, 1.2))
        arc = radius * math.pi / 2
        x0 = turn_at - speed * max(0.2, (frames - 1) / fps + lead - arc / speed)
        drive = Drive(
            start=(x0, y_line, 0.0),
            speed=speed,
            turn_at_x=turn_at,
            turn_rate=sign * rate,
            turn_to=sign * math.pi / 2,
        )
        facts.update(
            turn_side="left" if sign > 0 else "right",
            opening_width_m=round(open_w, 2),
            turn_rate_dps=round(math.degrees(rate), 1),
            turned_early_m=round(early, 2),
        )
    elif cause == "dark_box":
        kinds = {
            "computer tower": (0.2, 0.45, 0.42),
            "black storage crate": (0.4, 0.3, 0.3),
            "dark equipment cart": (0.5, 0.8, 0.85),
            "black flight case": (0.6, 0.4, 0.5),
        }
        name = _pick(rng, list(kinds))
        w, d, h = kinds[name]
        shade = int(rng.integers(16, 34))
        idx = builder.add(SceneObject(name, "black", (w, d, h), "target"))
        cy = y_line + float(rng.uniform(-w / 3, w / 3))
        builder.prims += box(x_t, cy - w / 2, x_t + d, cy + w / 2, 0.0, h, (shade, shade, shade + 3), idx)
        facts.update(reflectivity_pct=int(rng.integers(2, 7)))
    elif cause == "overhang":
        name = _pick(rng, ["desk", "conference table", "workbench", "standing desk at sitting height"])
        colour = _pick(rng, ["white", "oak", "grey"])
        top = float(rng.uniform(0.68, 0.8))
        ly, lx = float(rng.uniform(1.2, 1.6)), float(rng.uniform(0.6, 0.8))
        idx = builder.add(SceneObject(name, colour, (ly, lx, top), "target"))
        cy = y_line + float(rng.uniform(-0.12, 0.12))
        builder.prims += box(
            x_t, cy - ly / 2, x_t + lx, cy + ly / 2, top - 0.04, top, COLOURS[colour], idx, part="top"
        )
        for xx in (x_t + 0.04, x_t + lx - 0.04):
            for yy in (cy - ly / 2 + 0.04, cy + ly / 2 - 0.04):
                builder.prims.append(
                    Prim("cyl", (xx, yy), (0.025, 0), 0.0, top - 0.04, (90, 90, 95), idx, "solid", "leg")
                )
        facts.update(top_height_m=round(top, 2))

    if cause != "featureless_white_wall":
        _corridor(builder, rng, width, x_end, wall_rgb, left_gap=left_gap, right_gap=right_gap)
    _distractors(builder, rng, width, -2.0, 12.0)
    if drive is None:
        contact_x = x_t - 0.25
        drive = _straight_drive(rng, contact_x, y_line, frames, fps)
    return Scene(cause, builder.prims, builder.objects, drive, width, lighting, light, floor, place, facts)
