"""The synthetic brake policy, its rollouts, the out-of-distribution re-render and the loop summary.

Episodes come from the generator (synthetic) at a tiny size so the tests stay fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmviz.synth import simulate_episode
from fmviz.synth.closed_loop import loop_summary
from fmviz.synth.heldout import monitor_episode, restyle_episode
from fmviz.synth.policy import BrakePolicy, expert_brake_labels, rollout


@pytest.fixture(scope="module")
def crash():
    return simulate_episode("dark_box", seed=4, size=(32, 24), frames=24)


@pytest.fixture(scope="module")
def safe():
    return simulate_episode("clear_corridor", seed=4, size=(32, 24), frames=24)


class Fixed(BrakePolicy):
    """A policy that brakes at a fixed frame (None: never), to test the rollout physics alone."""

    def __init__(self, frame: int | None) -> None:
        super().__init__()
        self.frame = frame

    def brake_frame(self, frames: np.ndarray) -> int | None:
        return self.frame


def test_the_expert_brakes_only_near_the_contact_and_never_on_safe_runs(crash, safe) -> None:
    labels = expert_brake_labels(crash, fps=10.0)
    assert labels[-1] == 1
    assert labels[0] == 0
    assert np.all(np.diff(labels) >= 0)  # once braking, it stays braking
    assert expert_brake_labels(safe, fps=10.0).sum() == 0


def test_never_braking_collides_and_braking_with_the_expert_does_not(crash) -> None:
    assert rollout(Fixed(None), crash).collided
    first = int(np.argmax(expert_brake_labels(crash, fps=10.0)))
    on_time = rollout(Fixed(first), crash)
    assert not on_time.collided
    assert not on_time.failed
    assert rollout(Fixed(len(crash.frames) - 1), crash).collided  # too late


def test_braking_far_too_early_or_on_a_clear_route_counts_as_a_failure(crash, safe) -> None:
    early = rollout(Fixed(0), crash)
    assert not early.collided
    assert early.false_stop
    assert early.failed
    assert rollout(Fixed(3), safe).false_stop
    assert not rollout(Fixed(None), safe).failed


def test_the_ood_building_changes_the_pixels_but_not_the_ground_truth(crash) -> None:
    other = restyle_episode(crash, seed=0)
    assert other.frames.shape == crash.frames.shape
    assert np.abs(other.frames.astype(int) - crash.frames.astype(int)).mean() > 10
    assert other.contact_frame == crash.contact_frame
    np.testing.assert_array_equal(other.poses, crash.poses)
    held = monitor_episode(other, fps=10.0)
    assert held.failed
    assert held.failure_time == pytest.approx(2.3)


def test_loop_summary_reports_mean_and_sample_spread_per_policy() -> None:
    table = pd.DataFrame(
        {
            f"{m}_{p}": [0.2, 0.4]
            for m in ("failure", "collision", "false_stop")
            for p in ("before", "targeted", "random")
        }
    )
    summary = loop_summary(table).set_index("policy")
    assert summary.loc["before", "failure_mean"] == pytest.approx(0.3)
    assert summary.loc["random", "collision_std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert summary["seeds"].tolist() == [2, 2, 2]
