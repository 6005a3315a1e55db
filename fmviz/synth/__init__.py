"""Synthetic data generators (every output is labelled synthetic).

:func:`generate_navigation` renders the navigation case study: first-person clips of an
indoor robot whose collisions have known causes, with log narratives from simulator state;
:func:`export_navigation_mcap`, :func:`export_navigation_bag` and
:func:`export_navigation_lerobot` write the same episodes as robot logs.
"""

from __future__ import annotations

from fmviz.synth.export_lerobot import export_navigation_lerobot
from fmviz.synth.export_logs import export_navigation_bag, export_navigation_mcap
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
    "export_navigation_bag",
    "export_navigation_lerobot",
    "export_navigation_mcap",
    "generate_navigation",
    "min_clearance",
    "plan_episodes",
    "simulate_episode",
]
