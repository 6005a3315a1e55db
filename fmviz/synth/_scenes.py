"""Office scenes for the synthetic navigation case study: the parts every scene is built from.

Every scene is a corridor along +x (walls at ``y = +-width/2``) with a few distractor
objects against the walls, plus the cause's target object placed so that the robot's
motion (a :class:`Drive`) ends in contact with it. The builders only place things; the
simulator in :mod:`fmviz.synth.navigation` integrates the motion, finds the contact and
rejects scenes where the robot touches anything other than the intended part. The builder
per failure cause is in :mod:`fmviz.synth._failure_scenes`; safe runs are built here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fmviz.synth._render import Prim, box

#: The collision causes, in a fixed order (labels of the navigation case study).
CAUSES = (
    "thin_chair_legs",
    "featureless_white_wall",
    "glass_door",
    "narrow_gap",
    "low_clutter",
    "corner_clip",
    "dark_box",
    "overhang",
)
#: Object parts whose contact counts as the cause's collision.
TARGET_PARTS = {
    "thin_chair_legs": {"leg"},
    "featureless_white_wall": {"wall"},
    "glass_door": {"glass"},
    "narrow_gap": {"body"},
    "low_clutter": {"body"},
    "corner_clip": {"frame", "corner"},
    "dark_box": {"body"},
    "overhang": {"top"},
}
SAFE_KINDS = ("clear_corridor", "stopped_before_obstacle", "through_doorway", "through_wide_gap")

WALL_COLOURS = {
    "beige": (196, 184, 160),
    "light grey": (180, 182, 186),
    "pale blue": (160, 178, 196),
    "pale green": (168, 190, 168),
}
FLOOR_COLOURS = [(112, 112, 124), (132, 104, 80), (96, 110, 104), (128, 128, 128)]
LIGHTING = {"bright": (1.15, 1.3), "normal": (0.9, 1.05), "dim": (0.5, 0.65)}
COLOURS = {
    "black": (30, 30, 32),
    "grey": (110, 110, 115),
    "red": (170, 40, 40),
    "blue": (40, 70, 160),
    "orange": (210, 120, 40),
    "green": (50, 120, 60),
    "beige": (200, 180, 140),
    "white": (235, 235, 232),
    "oak": (170, 130, 80),
    "yellow": (220, 190, 50),
}


@dataclass
class SceneObject:
    """A named object of the scene (index 0 is the building itself)."""

    name: str
    colour: str = ""
    size: tuple[float, float, float] = (0.0, 0.0, 0.0)  # width (y), depth (x), height, metres
    role: str = "distractor"  # "building", "target", "distractor"


@dataclass
class Drive:
    """How the robot moves: constant speed, a heading wobble, an optional turn or stop."""

    start: tuple[float, float, float]
    speed: float
    wobble_amp: float = 0.0  # rad/s
    wobble_period: float = 4.0
    wobble_phase: float = 0.0
    turn_at_x: float | None = None
    turn_rate: float = 0.0  # rad/s, signed
    turn_to: float = 0.0  # heading at which the turn ends, rad
    stop_at_clearance: float | None = None  # brake once this close to the target
    decel: float = 1.2


@dataclass
class Scene:
    """Everything the simulator and the narrative need about one episode's world."""

    cause: str
    prims: list[Prim]
    objects: list[SceneObject]
    drive: Drive
    width: float
    lighting: str
    light: float
    floor_color: tuple[int, int, int]
    place: str
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def targets(self) -> list[int]:
        return [i for i, o in enumerate(self.objects) if o.role == "target"]


class _Builder:
    """Accumulates primitives and objects for one scene."""

    def __init__(self) -> None:
        self.prims: list[Prim] = []
        self.objects: list[SceneObject] = [SceneObject("building", role="building")]

    def add(self, obj: SceneObject) -> int:
        self.objects.append(obj)
        return len(self.objects) - 1

    def wall(self, a: tuple[float, float], b: tuple[float, float], color, material="wall", part="wall"):
        self.prims.append(Prim("seg", a, b, 0.0, 2.6, color, 0, material, part))


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _corridor(
    b: _Builder,
    rng: np.random.Generator,
    width: float,
    x_end: float,
    wall_rgb,
    *,
    left_gap: tuple[float, float] | None = None,
    right_gap: tuple[float, float] | None = None,
    end_wall: bool = True,
) -> None:
    """Side walls from x=-4 to ``x_end`` (with optional openings) and both end walls."""
    half = width / 2
    for sign, gap in ((1, left_gap), (-1, right_gap)):
        y = sign * half
        if gap is None:
            b.wall((-4.0, y), (x_end, y), wall_rgb)
        else:
            b.wall((-4.0, y), (gap[0], y), wall_rgb)
            b.wall((gap[1], y), (x_end, y), wall_rgb)
    b.wall((-4.0, -half), (-4.0, half), wall_rgb)
    if end_wall:
        b.wall((x_end, -half), (x_end, half), wall_rgb)


def _distractors(b: _Builder, rng: np.random.Generator, width: float, x_lo: float, x_hi: float) -> None:
    """Two to four everyday objects against the side walls, away from the robot's lane."""
    half = width / 2
    for _ in range(int(rng.integers(2, 5))):
        kind = _pick(
            rng,
            [
                "potted plant",
                "waste bin",
                "filing cabinet",
                "door",
                "bench",
                "office chair",
                "desk",
                "cardboard box",
            ],
        )
        x = float(rng.uniform(x_lo, x_hi))
        sign = 1 if rng.random() < 0.5 else -1
        if kind == "potted plant":
            idx = b.add(SceneObject(kind, "green", (0.5, 0.5, 1.2)))
            cy = sign * (half - 0.22)
            b.prims.append(Prim("cyl", (x, cy), (0.18, 0), 0.0, 0.4, COLOURS["orange"], idx, "solid", "pot"))
            b.prims.append(Prim("cyl", (x, cy), (0.2, 0), 0.4, 1.2, COLOURS["green"], idx, "solid", "leaves"))
        elif kind == "waste bin":
            colour = _pick(rng, ["grey", "blue", "green"])
            idx = b.add(SceneObject(kind, colour, (0.3, 0.3, 0.6)))
            b.prims.append(Prim("cyl", (x, sign * (half - 0.17)), (0.15, 0), 0.0, 0.6, COLOURS[colour], idx))
        elif kind == "filing cabinet":
            idx = b.add(SceneObject(kind, "grey", (0.45, 0.6, 1.3)))
            y0, y1 = sorted((sign * half, sign * (half - 0.45)))
            b.prims += box(x, y0, x + 0.6, y1, 0.0, 1.3, COLOURS["grey"], idx)
        elif kind == "door":
            colour = _pick(rng, ["oak", "blue", "white"])
            idx = b.add(SceneObject(kind, colour, (0.02, 0.9, 2.05)))
            y0, y1 = sorted((sign * half, sign * (half - 0.02)))
            b.prims += box(x, y0, x + 0.9, y1, 0.0, 2.05, COLOURS[colour], idx)
        elif kind == "office chair":
            colour = _pick(rng, ["black", "blue", "red"])
            idx = b.add(SceneObject(kind, colour, (0.45, 0.45, 0.9)))
            y0, y1 = sorted((sign * (half - 0.02), sign * (half - 0.47)))
            for lx in (x + 0.02, x + 0.43):
                for ly in (y0 + 0.02, y1 - 0.02):
                    b.prims.append(
                        Prim("cyl", (lx, ly), (0.014, 0), 0.0, 0.46, (60, 60, 64), idx, "solid", "leg")
                    )
            b.prims += box(x, y0, x + 0.45, y1, 0.46, 0.51, COLOURS[colour], idx, part="seat")
            wy0, wy1 = sorted((sign * (half - 0.02), sign * (half - 0.07)))
            b.prims += box(x, wy0, x + 0.45, wy1, 0.51, 0.9, COLOURS[colour], idx, part="back")
        elif kind == "desk":
            colour = _pick(rng, ["white", "oak", "grey"])
            idx = b.add(SceneObject(kind, colour, (0.6, 1.2, 0.74)))
            y0, y1 = sorted((sign * half, sign * (half - 0.6)))
            b.prims += box(x, y0, x + 1.2, y1, 0.7, 0.74, COLOURS[colour], idx, part="top")
            for lx in (x + 0.04, x + 1.16):
                for ly in (y0 + 0.04, y1 - 0.04):
                    b.prims.append(
                        Prim("cyl", (lx, ly), (0.025, 0), 0.0, 0.7, (90, 90, 95), idx, "solid", "leg")
                    )
        elif kind == "cardboard box":
            idx = b.add(SceneObject(kind, "beige", (0.4, 0.4, 0.35)))
            y0, y1 = sorted((sign * (half - 0.02), sign * (half - 0.42)))
            b.prims += box(x, y0, x + 0.4, y1, 0.0, 0.35, COLOURS["beige"], idx)
        else:
            idx = b.add(SceneObject(kind, "oak", (0.4, 1.2, 0.45)))
            y0, y1 = sorted((sign * half, sign * (half - 0.4)))
            b.prims += box(x, y0, x + 1.2, y1, 0.0, 0.45, COLOURS["oak"], idx)


def _base(rng: np.random.Generator, lighting: str | None = None):
    width = float(rng.uniform(2.4, 3.2))
    lighting = lighting or _pick(rng, ["bright", "normal", "normal", "dim"])
    light = float(rng.uniform(*LIGHTING[lighting]))
    wall_name = _pick(rng, list(WALL_COLOURS))
    floor = FLOOR_COLOURS[int(rng.integers(len(FLOOR_COLOURS)))]
    place = _pick(rng, ["office corridor", "open-plan office aisle", "lab corridor", "hallway"])
    return width, lighting, light, wall_name, floor, place


def _straight_drive(
    rng: np.random.Generator, contact_x: float, y_line: float, frames: int, fps: float
) -> Drive:
    speed = float(rng.uniform(0.35, 0.9))
    lead = float(rng.uniform(0.4, 1.5))
    x0 = contact_x - speed * ((frames - 1) / fps + lead)
    return Drive(
        start=(x0, y_line, float(rng.normal(0, 0.02))),
        speed=speed,
        wobble_amp=float(rng.uniform(0.0, 0.05)),
        wobble_period=float(rng.uniform(2.5, 6.0)),
        wobble_phase=float(rng.uniform(0, 2 * math.pi)),
    )


def build_safe_scene(kind: str, rng: np.random.Generator, frames: int, fps: float) -> Scene:
    """A scene whose drive should end without contact (checked by the simulator)."""
    if kind not in SAFE_KINDS:
        raise ValueError(f"unknown safe-run kind {kind!r}; choose from {SAFE_KINDS}")
    builder = _Builder()
    width, lighting, light, wall_name, floor, place = _base(rng)
    wall_rgb = WALL_COLOURS[wall_name]
    y_line = float(rng.uniform(-0.2, 0.2))
    speed = float(rng.uniform(0.35, 0.9))
    duration = (frames - 1) / fps
    facts: dict[str, object] = {"wall_colour": wall_name}
    left_gap = None
    drive = Drive(
        start=(0.0, y_line, float(rng.normal(0, 0.02))),
        speed=speed,
        wobble_amp=float(rng.uniform(0.0, 0.04)),
        wobble_period=float(rng.uniform(2.5, 6.0)),
        wobble_phase=float(rng.uniform(0, 2 * math.pi)),
    )
    if kind == "stopped_before_obstacle":
        name = _pick(rng, ["cardboard box", "office chair", "waste bin", "printer cart"])
        colour = _pick(rng, ["beige", "red", "blue", "grey"])
        idx = builder.add(SceneObject(name, colour, (0.5, 0.5, 0.7), "target"))
        standoff = float(rng.uniform(0.3, 0.6))
        stopping = speed**2 / (2 * 1.2)
        x_obj = speed * duration * float(rng.uniform(0.55, 0.8)) + stopping + standoff + 0.25
        builder.prims += box(x_obj, y_line - 0.25, x_obj + 0.5, y_line + 0.25, 0.0, 0.7, COLOURS[colour], idx)
        drive.wobble_amp = 0.0
        drive.stop_at_clearance = stopping + standoff
        facts.update(standoff_m=round(standoff, 2))
    elif kind == "through_doorway":
        half = width / 2
        open_w = float(rng.uniform(0.95, 1.2))
        rate = math.radians(float(rng.uniform(30, 50)))
        speed = min(speed, 0.6)
        radius = speed / rate
        d0 = speed * duration * 0.45 + radius
        left_gap = (d0, d0 + open_w)
        room = 3.0
        for xx in (d0, d0 + open_w):
            builder.wall((xx, half), (xx, half + room), wall_rgb)
        builder.wall((d0 - 2.0, half + room), (d0 + open_w + 2.0, half + room), wall_rgb)
        idx = builder.add(SceneObject("doorway", wall_name, (open_w, 0.1, 2.1)))
        lo, hi = half - 0.05, half + 0.12
        builder.prims += box(d0 - 0.08, lo, d0, hi, 0.0, 2.1, COLOURS["oak"], idx, part="frame")
        builder.prims += box(
            d0 + open_w, lo, d0 + open_w + 0.08, hi, 0.0, 2.1, COLOURS["oak"], idx, part="frame"
        )
        drive = Drive(
            start=(0.0, y_line, 0.0),
            speed=speed,
            turn_at_x=d0 + open_w / 2 - radius,
            turn_rate=rate,
            turn_to=math.pi / 2,
        )
        facts.update(opening_width_m=round(open_w, 2))
    elif kind == "through_wide_gap":
        half = width / 2
        gap = float(rng.uniform(0.85, 1.1))
        x_g = speed * duration * float(rng.uniform(0.4, 0.7))
        yg = y_line
        builder.prims += box(
            x_g,
            yg + gap / 2,
            x_g + 0.5,
            half,
            0.0,
            1.2,
            COLOURS["grey"],
            builder.add(SceneObject("filing cabinet", "grey", (0.5, 0.5, 1.2))),
        )
        builder.prims += box(
            x_g,
            -half,
            x_g + 0.5,
            yg - gap / 2,
            0.0,
            1.0,
            COLOURS["beige"],
            builder.add(SceneObject("storage cabinet", "beige", (0.5, 0.5, 1.0))),
        )
        drive.wobble_amp = 0.0
        facts.update(gap_width_m=round(gap, 2))
    _corridor(builder, rng, width, 16.0, wall_rgb, left_gap=left_gap)
    _distractors(builder, rng, width, -2.0, 12.0)
    return Scene("safe", builder.prims, builder.objects, drive, width, lighting, light, floor, place, facts)
