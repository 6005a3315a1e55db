"""A small learned navigation policy for the closed loop: it sees the camera and decides when to brake.

The paper fine-tunes a vision-based navigation policy on data collected where its failure modes
said it fails. fmviz's stand-in keeps the parts that matter for that experiment at CPU cost:
the robot drives the generator's scripted route, and at every camera frame a learned controller
decides whether to brake (the rest of the driving is scripted). It is trained by imitation on
expert labels read off the simulator: brake once the remaining distance to the contact is within
the stopping distance plus a margin. A policy that never saw glass doors or chair legs in its
demonstrations does not brake for them and collides, which is the kind of data gap targeted
collection fixes. The controller is :class:`fmviz.monitor.FrameClassifier` (thumbnail features,
logistic regression; a second to train).

Braking is simulated from the frame where the policy decides: ``BRAKE_LATENCY`` at the current
speed, then ``BRAKE_DECEL`` in a straight line along the current heading (the generator's robot
constants); the run collides if that path touches any surface. All of it is synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fmviz.monitor.learned import FrameClassifier
from fmviz.synth._physics import BRAKE_DECEL, BRAKE_LATENCY, _Footprint
from fmviz.synth.navigation import NavEpisode

__all__ = ["BrakePolicy", "Rollout", "expert_brake_labels", "rollout"]

#: Extra distance (m) the expert keeps beyond the stopping distance.
MARGIN = 0.25
#: A stop more than this far (m) short of the obstacle strands the robot in the corridor: the
#: expert stops 0.25-0.35 m short, so 1 m is well past it. Such a run fails too (no goal reached),
#: so that braking early and often cannot pass for safety.
PREMATURE = 1.0


def _speed(episode: NavEpisode) -> float:
    return float(episode.scene.drive.speed) if episode.scene is not None else 0.0


def _stopping(speed: float) -> float:
    return speed * BRAKE_LATENCY + speed**2 / (2 * BRAKE_DECEL)


def expert_brake_labels(episode: NavEpisode, fps: float, margin: float = MARGIN) -> np.ndarray:
    """1 where the expert brakes: the contact is within stopping distance + ``margin`` (0 for safe runs).

    Examples
    --------
    >>> from fmviz.synth import simulate_episode
    >>> ep = simulate_episode("dark_box", seed=0, size=(32, 24), frames=12)
    >>> labels = expert_brake_labels(ep, fps=10.0)
    >>> int(labels[-1]), int(labels[0])
    (1, 0)
    """
    k = len(episode.frames)
    if not episode.collided or episode.poses is None:
        return np.zeros(k, dtype=int)
    return (_remaining(episode) <= _stopping(_speed(episode)) + margin).astype(int)


@dataclass(frozen=True)
class Rollout:
    """How one run ended under a policy."""

    episode_id: str
    scene: str
    collided: bool
    #: The policy stopped where it need not: on a route with nothing to stop for, or more
    #: than :data:`PREMATURE` metres short of the obstacle.
    false_stop: bool
    #: Frame where the policy braked (None: it never did).
    brake_frame: int | None

    @property
    def failed(self) -> bool:
        """The run failed: a collision, or a stop that left the robot short of its goal."""
        return self.collided or self.false_stop


def _remaining(episode: NavEpisode) -> np.ndarray:
    steps = np.hypot(*np.diff(episode.poses[:, :2], axis=0).T)
    return np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])  # path length to the contact


def _collides_when_braking(episode: NavEpisode, frame: int) -> bool:
    x, y, heading = (float(v) for v in episode.poses[frame])
    distance = _stopping(_speed(episode))
    foot = _Footprint(episode.scene.prims)
    for s in np.arange(0.0, distance + 1e-9, 0.01):
        if float(foot.closest(x + s * np.cos(heading), y + s * np.sin(heading))[1].min()) <= 0:
            return True
    return False


class BrakePolicy:
    """Brakes at the first frame its classifier calls "brake" (probability >= ``threshold``)."""

    #: Strong L2 (C = 0.02): the features (770) outnumber a few dozen demonstrations' frames per class.
    def __init__(self, *, threshold: float = 0.5, C: float = 0.02, seed: int = 0) -> None:
        self.threshold = threshold
        self.classifier = FrameClassifier(C=C, seed=seed)

    def fit(self, demonstrations: Sequence[NavEpisode], fps: float) -> BrakePolicy:
        """Imitation: fit the classifier on every frame of ``demonstrations`` with the expert's labels."""
        self.classifier.fit(
            [d.frames for d in demonstrations], [expert_brake_labels(d, fps) for d in demonstrations]
        )
        return self

    def brake_frame(self, frames: np.ndarray) -> int | None:
        """First frame where the policy brakes (it sees frames one by one), or ``None``."""
        p = self.classifier.predict_proba(frames)
        hits = np.nonzero(p >= self.threshold)[0]
        return int(hits[0]) if len(hits) else None


def rollout(policy: BrakePolicy, episode: NavEpisode) -> Rollout:
    """Drive ``episode``'s route under ``policy``: does it collide, or stop when it need not?

    The policy's decisions depend only on frames up to the one where it brakes, and until then
    the robot follows the scripted route, so the recorded frames are exactly what it sees.
    """
    frame = policy.brake_frame(episode.frames)
    scene = episode.label
    if not episode.collided:
        return Rollout(episode.id, scene, collided=False, false_stop=frame is not None, brake_frame=frame)
    if frame is None:
        return Rollout(episode.id, scene, collided=True, false_stop=False, brake_frame=None)
    short = float(_remaining(episode)[frame]) - _stopping(_speed(episode)) > PREMATURE
    collided = _collides_when_braking(episode, frame)
    return Rollout(episode.id, scene, collided=collided, false_stop=short and not collided, brake_frame=frame)
