"""Synthetic data generators (every output is labelled synthetic).

:func:`generate_navigation` renders the navigation case study: first-person clips of an
indoor robot whose collisions have known causes, with log narratives from simulator state.
"""

from __future__ import annotations

from fmviz.synth.navigation import (
    CAUSES,
    SAFE_KINDS,
    NavEpisode,
    generate_navigation,
    min_clearance,
    plan_episodes,
    simulate_episode,
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
