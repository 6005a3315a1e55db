"""Shared fixtures: small synthetic datasets built in code (labelled synthetic)."""

from __future__ import annotations

import random

import pytest

from fmviz.episodes import Dataset, Episode

#: Synthetic failure narratives with a known cause each (written for tests, not by a model).
_CAUSES = {
    "glass": [
        "The robot drove into a glass door; the depth camera saw through the transparent pane.",
        "Collision with a glass partition that the obstacle detector did not register.",
        "The base hit a transparent glass wall because the stereo depth returned the room behind it.",
    ],
    "chair": [
        "The robot clipped the thin metal legs of a folding chair that the lidar missed.",
        "Contact with thin chair legs; the legs were narrower than the costmap resolution.",
        "The robot struck the slim legs of an office chair protruding into the aisle.",
    ],
    "cable": [
        "A low cable bundle on the floor caught the front caster and the robot tipped.",
        "The robot ran over a backpack lying on the floor below the camera's field of view.",
        "Low clutter on the floor (a power strip and cables) stopped the wheels.",
    ],
}


def synthetic_dataset(per_cause: int = 8, seed: int = 0) -> Dataset:
    """A small SYNTHETIC text-only dataset whose labels are the causes above."""
    rng = random.Random(seed)
    episodes = []
    for cause, templates in _CAUSES.items():
        for i in range(per_cause):
            text = templates[i % len(templates)] + f" Speed was {rng.uniform(0.3, 0.9):.2f} m/s."
            episodes.append(Episode(f"{cause}-{i:02d}", narrative=text, label=cause, task="reach the goal"))
    rng.shuffle(episodes)
    return Dataset(episodes, name="synthetic-test", description="Synthetic test data.", domain="navigation")


@pytest.fixture
def tiny_dataset() -> Dataset:
    return synthetic_dataset()
