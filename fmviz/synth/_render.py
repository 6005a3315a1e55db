"""A tiny first-person renderer for the synthetic navigation case study (numpy only).

The scene is a floor plan of vertical primitives: wall or box faces (segments) and
cylinders (chair legs, pots), each spanning a height range ``z0..z1`` above the floor.
Per camera column we intersect the ray with every primitive, project its height range
onto the image and keep the nearest surface per pixel with a z-buffer. Floor and ceiling
are cast per pixel so that motion is visible. Glass is blended after the opaque pass and
does not occlude, which is exactly why a depth sensor misses it.

The renderer also returns an object-id buffer, so the simulator can measure from its own
state how much of the image an object covered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Camera height above the floor and ceiling height, metres.
CAMERA_HEIGHT = 0.5
CEILING_HEIGHT = 2.6
#: Horizontal field of view, degrees.
HFOV_DEG = 70.0
_LIGHT_DIR = np.array([0.6, 0.8])


@dataclass(frozen=True)
class Prim:
    """One vertical surface: a segment ``a -> b`` or a cylinder at ``a`` of radius ``b[0]``."""

    kind: str  # "seg" or "cyl"
    a: tuple[float, float]
    b: tuple[float, float]
    z0: float
    z1: float
    color: tuple[int, int, int]
    obj: int = 0  # index into the scene's object list; 0 = the building
    material: str = "solid"  # "wall", "plain", "solid", "glass"
    part: str = "body"  # which part of the object (leg, seat, glass, frame, ...)


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics for an image of ``width x height`` pixels."""

    width: int
    height: int

    @property
    def focal(self) -> float:
        return (self.width / 2) / math.tan(math.radians(HFOV_DEG) / 2)

    @property
    def horizon(self) -> float:
        return self.height * 0.45


def box(
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    z0: float,
    z1: float,
    color: tuple[int, int, int],
    obj: int,
    material: str = "solid",
    part: str = "body",
) -> list[Prim]:
    """The four faces of an axis-aligned box with footprint ``[x0, x1] x [y0, y1]``."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return [
        Prim("seg", corners[i], corners[(i + 1) % 4], z0, z1, color, obj, material, part) for i in range(4)
    ]


def render(
    prims: list[Prim],
    pose: tuple[float, float, float],
    camera: Camera,
    *,
    light: float = 1.0,
    floor_color: tuple[int, int, int] = (120, 120, 130),
    ceiling_color: tuple[int, int, int] = (215, 215, 210),
) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame.

    Parameters
    ----------
    prims:
        Scene primitives.
    pose:
        Camera ``(x, y, heading_rad)``.
    camera:
        Image size.
    light:
        Global brightness factor (1 = normal office lighting).

    Returns
    -------
    (image, object_ids):
        ``(H, W, 3)`` uint8 image and ``(H, W)`` int32 buffer of the visible object per
        pixel (-1 floor/ceiling, 0 building, >0 scene objects; glass does not count).
    """
    width, height, focal, horizon = camera.width, camera.height, camera.focal, camera.horizon
    cx, cy, heading = pose
    cols = (np.arange(width) + 0.5 - width / 2) / focal
    offsets = np.arctan(cols)
    angles = heading + offsets
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    cos_off = np.cos(offsets)
    rows = (np.arange(height) + 0.5)[:, None]
    dy = rows - horizon

    image = np.zeros((height, width, 3), dtype=np.float32)
    zbuf = np.full((height, width), np.inf, dtype=np.float32)
    ids = np.full((height, width), -1, dtype=np.int32)

    # Floor and ceiling: perpendicular distance per row, world point per pixel.
    with np.errstate(divide="ignore"):
        floor_d = np.where(dy > 0, CAMERA_HEIGHT * focal / np.maximum(dy, 1e-6), np.inf)
        ceil_d = np.where(dy < 0, (CEILING_HEIGHT - CAMERA_HEIGHT) * focal / np.maximum(-dy, 1e-6), np.inf)
    plane_d = np.minimum(floor_d, ceil_d)  # (H, 1)
    ray_len = plane_d / cos_off[None, :]
    wx = cx + ray_len * dirs[None, :, 0]
    wy = cy + ray_len * dirs[None, :, 1]
    finite = np.isfinite(wx)
    wx = np.where(finite, wx, 0.0)
    wy = np.where(finite, wy, 0.0)
    is_floor = np.broadcast_to(dy > 0, (height, width))
    tile = ((np.floor(wx / 0.6) + np.floor(wy / 0.6)) % 2)[..., None]
    grout = (np.abs(wx / 0.6 - np.round(wx / 0.6)) < 0.03) | (np.abs(wy / 0.6 - np.round(wy / 0.6)) < 0.03)
    floor_rgb = np.array(floor_color, dtype=np.float32) * (0.92 + 0.08 * tile)
    floor_rgb = np.where(grout[..., None], floor_rgb * 0.85, floor_rgb)
    panel = ((wx % 2.4) < 0.6) & ((wy % 2.4) < 1.2)
    ceil_rgb = np.array(ceiling_color, dtype=np.float32) * np.ones_like(floor_rgb)
    ceil_rgb = np.where(grout[..., None], ceil_rgb * 0.9, ceil_rgb)
    ceil_rgb = np.where(panel[..., None], np.float32(255.0 / max(light, 0.3)), ceil_rgb)
    image[:] = np.where(is_floor[..., None], floor_rgb, ceil_rgb)
    dist_for_fog = np.broadcast_to(plane_d, (height, width))
    zbuf[:] = dist_for_fog
    image *= _falloff(dist_for_fog, light)[..., None]

    glass: list[tuple[Prim, np.ndarray, np.ndarray, np.ndarray]] = []
    for prim in prims:
        hit = _intersect(prim, cx, cy, dirs)
        if hit is None:
            continue
        t, u, shade = hit
        perp = t * cos_off
        valid = np.isfinite(perp) & (perp > 0.02)
        perp = np.where(valid, perp, np.inf)
        top = horizon - (prim.z1 - CAMERA_HEIGHT) * focal / perp
        bottom = horizon + (CAMERA_HEIGHT - prim.z0) * focal / perp
        cover = (rows >= top[None, :]) & (rows < bottom[None, :]) & valid[None, :]
        if prim.material == "glass":
            glass.append((prim, cover, perp, u))
            continue
        mask = cover & (perp[None, :] < zbuf)
        if not mask.any():
            continue
        zpix = CAMERA_HEIGHT - dy * perp[None, :] / focal  # height of each pixel on the surface
        rgb = np.array(prim.color, dtype=np.float32)[None, None, :] * shade[None, :, None]
        rgb = np.broadcast_to(rgb, (height, width, 3)).copy()
        if prim.material == "wall":
            seam = (np.abs(u / 1.2 - np.round(u / 1.2)) < 0.012)[None, :]
            rgb = np.where(seam[..., None], rgb * 0.8, rgb)
            rgb = np.where((zpix < 0.1)[..., None], rgb * 0.55, rgb)
        elif prim.material == "solid":
            edge = ((u < 0.012) | (u > _length(prim) - 0.012))[None, :]
            rgb = np.where(edge[..., None], rgb * 0.6, rgb)
            rgb *= (0.85 + 0.15 * np.clip((zpix - prim.z0) / max(prim.z1 - prim.z0, 1e-3), 0, 1))[..., None]
        rgb *= _falloff(perp[None, :], light)[..., None]
        image = np.where(mask[..., None], rgb, image)
        zbuf = np.where(mask, perp[None, :], zbuf)
        ids = np.where(mask, prim.obj, ids)

    for prim, cover, perp, u in glass:
        mask = cover & (perp[None, :] < zbuf)
        if not mask.any():
            continue
        zpix = CAMERA_HEIGHT - dy * perp[None, :] / focal
        tint = np.array(prim.color, dtype=np.float32) * light
        blended = image * 0.8 + tint * 0.2
        with np.errstate(invalid="ignore"):
            streak = np.abs(((u[None, :] + 0.6 * zpix) / 0.9) % 1.0 - 0.5) < 0.03
        blended = np.where(streak[..., None], np.minimum(blended + 70 * light, 255), blended)
        image = np.where(mask[..., None], blended, image)

    return np.clip(image, 0, 255).astype(np.uint8), ids


def cast_depth(prims: list[Prim], pose: tuple[float, float, float], *, see_glass: bool) -> float:
    """Distance along the heading to the nearest surface (what a single depth beam reads)."""
    cx, cy, heading = pose
    direction = np.array([[math.cos(heading), math.sin(heading)]])
    best = math.inf
    for prim in prims:
        if prim.material == "glass" and not see_glass:
            continue
        if not (prim.z0 <= CAMERA_HEIGHT <= prim.z1):
            continue
        hit = _intersect(prim, cx, cy, direction)
        if hit is not None and np.isfinite(hit[0][0]) and hit[0][0] > 0:
            best = min(best, float(hit[0][0]))
    return best


def _falloff(distance: np.ndarray, light: float) -> np.ndarray:
    return light * np.clip(1.12 - 0.05 * distance, 0.45, 1.12)


def _length(prim: Prim) -> float:
    return math.hypot(prim.b[0] - prim.a[0], prim.b[1] - prim.a[1])


def _intersect(
    prim: Prim, cx: float, cy: float, dirs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Ray distance, texture coordinate and face shade per column (inf where missed)."""
    if prim.kind == "seg":
        ax, ay = prim.a
        ex, ey = prim.b[0] - ax, prim.b[1] - ay
        denom = dirs[:, 0] * ey - dirs[:, 1] * ex
        with np.errstate(divide="ignore", invalid="ignore"):
            wx, wy = ax - cx, ay - cy
            t = (wx * ey - wy * ex) / denom
            s = (wx * dirs[:, 1] - wy * dirs[:, 0]) / denom
        ok = (np.abs(denom) > 1e-9) & (t > 1e-4) & (s >= 0) & (s <= 1)
        if not ok.any():
            return None
        length = math.hypot(ex, ey)
        normal = np.array([-ey, ex]) / max(length, 1e-9)
        shade = np.full(dirs.shape[0], 0.72 + 0.28 * abs(float(normal @ _LIGHT_DIR)))
        return np.where(ok, t, np.inf), np.where(ok, s * length, 0.0), shade
    ox, oy = prim.a
    radius = prim.b[0]
    px, py = ox - cx, oy - cy
    b = dirs[:, 0] * px + dirs[:, 1] * py
    c = px * px + py * py - radius * radius
    disc = b * b - c
    ok = (disc >= 0) & (b > 0)
    if not ok.any():
        return None
    t = np.where(ok, b - np.sqrt(np.maximum(disc, 0)), np.inf)
    hx = cx + np.where(ok, t, 0) * dirs[:, 0] - ox
    hy = cy + np.where(ok, t, 0) * dirs[:, 1] - oy
    normal = np.stack([hx, hy], axis=1) / max(radius, 1e-9)
    shade = 0.6 + 0.4 * np.abs(normal @ _LIGHT_DIR)
    u = np.arctan2(hy, hx) * radius
    return t, u, shade
