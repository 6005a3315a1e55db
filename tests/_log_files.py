"""SYNTHETIC robot logs for the log-reader tests, written by fmviz's own writers."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from fmviz.synth.export_logs import navigation_episodes
from fmviz.synth.navigation import NavEpisode

FPS = 10.0


@lru_cache(maxsize=4)
def nav_episode(cause: str = "glass_door", frames: int = 40) -> NavEpisode:
    """One simulated collision (rendered once per test session)."""
    return next(navigation_episodes(1, 0, causes=(cause,), frames=frames, size=(64, 48), progress=False))


def long_episode(seconds: float = 60.0, size: tuple[int, int] = (64, 48), seed: int = 0) -> NavEpisode:
    """A long synthetic collision recording: numbered noise frames, each different from the next."""
    count = round(seconds * FPS)
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (count, size[1], size[0], 3), dtype=np.uint8)
    base = nav_episode()
    return NavEpisode(
        id="long-run",
        label="glass_door",
        frames=frames,
        narrative="SYNTHETIC: the robot drove into a glass door after a long run.",
        collided=True,
        contact_frame=count - 1,
        task=base.task,
        success_condition=base.success_condition,
        action_plan=base.action_plan,
    )
