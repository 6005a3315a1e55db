"""Held-out navigation episodes for the runtime monitor: an in-distribution set and a "new building".

The paper evaluates its monitor on held-out runs from the training building and on runs from a
different building, where an environment-specific classifier stops working. The generator's
geometry and causes stay the same here; the out-of-distribution set re-renders each episode in a
building the training data never shows: other wall finishes (dark wood, brick, teal, charcoal),
carpeted floors, a darker ceiling and lighting outside the usual range. Only colours and light
change, so an episode's ground truth (collision or not, and when) is exactly that of the
in-distribution generator. Everything here is synthetic.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from tqdm.auto import tqdm

from fmviz.monitor.evaluate import MonitorEpisode
from fmviz.synth._physics import _camera_pose
from fmviz.synth._render import Camera, render
from fmviz.synth.navigation import NavEpisode, plan_episodes, simulate_episode

__all__ = ["OOD_FLOORS", "OOD_WALLS", "monitor_episode", "monitor_test_sets", "restyle_episode"]

#: Wall finishes of the out-of-distribution building (none is in the generator's palette).
OOD_WALLS = {
    "dark wood": (120, 84, 52),
    "brick": (150, 72, 58),
    "teal": (46, 104, 112),
    "charcoal": (76, 76, 82),
}
#: Its floors: carpets and parquet.
OOD_FLOORS = [(52, 60, 96), (110, 50, 50), (176, 150, 110)]
_OOD_CEILING = (120, 120, 126)
#: Light factors outside the generator's ranges (dim: 0.5-0.65, normal 0.9-1.05, bright 1.15-1.3).
_OOD_LIGHT = ((0.32, 0.45), (1.35, 1.5))


def restyle_episode(episode: NavEpisode, seed: int) -> NavEpisode:
    """``episode`` re-rendered at the same poses in the out-of-distribution building.

    Examples
    --------
    >>> from fmviz.synth import simulate_episode
    >>> ep = simulate_episode("glass_door", seed=1, size=(32, 24), frames=8)
    >>> restyle_episode(ep, seed=0).frames.shape == ep.frames.shape
    True
    """
    if episode.scene is None or episode.poses is None:
        raise ValueError(f"episode {episode.id!r} has no scene to re-render")
    rng = np.random.default_rng(seed)
    names = list(OOD_WALLS)
    wall = OOD_WALLS[names[int(rng.integers(len(names)))]]
    floor = OOD_FLOORS[int(rng.integers(len(OOD_FLOORS)))]
    low, high = _OOD_LIGHT[int(rng.integers(len(_OOD_LIGHT)))]
    light = float(rng.uniform(low, high))
    scene = episode.scene
    prims = [dataclasses.replace(p, color=wall) if p.obj == 0 else p for p in scene.prims]
    height, width = episode.frames.shape[1:3]
    camera = Camera(width, height)
    frames = np.stack(
        [
            render(
                prims, _camera_pose(pose), camera, light=light, floor_color=floor, ceiling_color=_OOD_CEILING
            )[0]
            for pose in episode.poses
        ]
    )
    facts = dict(episode.facts) | {"building": "out-of-distribution", "light_factor": round(light, 2)}
    new_scene = dataclasses.replace(scene, prims=prims, light=light, floor_color=floor)
    return dataclasses.replace(episode, id=f"{episode.id}-ood", frames=frames, facts=facts, scene=new_scene)


def monitor_episode(episode: NavEpisode, fps: float) -> MonitorEpisode:
    """A simulated episode as the monitor evaluation reads it (times from the frame rate)."""
    times = np.arange(len(episode.frames)) / fps
    failure_time = None if episode.contact_frame is None else float(episode.contact_frame / fps)
    return MonitorEpisode(
        id=episode.id,
        frames=episode.frames,
        times=times,
        failed=episode.collided,
        failure_time=failure_time,
        failure_mode=episode.label if episode.collided else None,
        task=episode.task,
    )


def monitor_test_sets(
    n_per_cause: int = 3,
    n_safe: int = 12,
    *,
    seed: int = 1,
    size: tuple[int, int] = (128, 96),
    fps: float = 10.0,
    frames: int = 32,
    progress: bool = True,
) -> dict[str, list[MonitorEpisode]]:
    """``{"in_distribution": [...], "out_of_distribution": [...]}`` held-out monitor episodes.

    Parameters
    ----------
    n_per_cause, n_safe:
        Collisions per cause and safe runs in each half.
    seed:
        Master seed; the in-distribution half uses ``seed`` and the other half ``seed + 1``
        (the bundled sample data uses seed 0, so the default never repeats its episodes).
    size, fps, frames:
        As :func:`fmviz.synth.generate_navigation`.
    """
    if n_per_cause < 1 or n_safe < 1:
        raise ValueError("each half needs at least one collision per cause and one safe run")
    out: dict[str, list[MonitorEpisode]] = {}
    for half, master in (("in_distribution", seed), ("out_of_distribution", seed + 1)):
        episodes = []
        plan = plan_episodes(n_per_cause, n_safe, master)
        for episode_id, cause, episode_seed in tqdm(plan, desc=f"monitor set: {half}", disable=not progress):
            ep = simulate_episode(
                cause, episode_seed, size=size, fps=fps, frames=frames, episode_id=episode_id
            )
            if half == "out_of_distribution":
                ep = restyle_episode(ep, episode_seed)
            episodes.append(monitor_episode(ep, fps))
        out[half] = episodes
    return out
