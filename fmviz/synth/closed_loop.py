"""The paper's closed loop on the navigation generator (Sec. V-B.2a): discover, collect, retrain, compare.

Per seed: a :class:`~fmviz.synth.policy.BrakePolicy` is trained on demonstrations from the routes
the robot usually drives, in which a few scene types (drawn per seed) never occur. It is deployed
on fresh routes of every type; its collisions become a failure dataset (clips and log narratives)
that fmviz's offline engine turns into failure modes with no label in sight. A collection plan
(:func:`fmviz.stages.collection.collection_plan`) splits a budget of extra demonstrations across
the modes by frequency and reads where to collect from each mode's member episodes (the scene
type each failure happened in: the generator's analogue of the paper's "failure zones"). The
same number of extra demonstrations is also drawn uniformly over all scene types. The policy is
retrained three ways (initial data, + targeted, + uniform) and each is driven on the same
held-out routes. The failure rate is the share of held-out routes that end in a collision;
stopping on a route that needed no stop is reported beside it, so a policy that simply always
brakes cannot look good. Everything here is synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fmviz.episodes import Dataset, Episode
from fmviz.results import Assignments, ClusterSet
from fmviz.stages.collection import CollectionPlan, collection_plan
from fmviz.synth.navigation import CAUSES, SAFE_KINDS, NavEpisode, simulate_episode
from fmviz.synth.policy import BrakePolicy, rollout

__all__ = ["LoopConfig", "closed_loop", "loop_summary", "run_seed"]

_KINDS = CAUSES + SAFE_KINDS


@dataclass(frozen=True)
class LoopConfig:
    """Sizes of one closed-loop experiment (episodes per scene type and role)."""

    n_rare: int = 3  # scene types missing from the initial demonstrations
    demos_per_cause: int = 3
    demos_per_safe: int = 1
    deploy_per_cause: int = 3
    deploy_per_safe: int = 1
    test_per_cause: int = 3
    test_per_safe: int = 1
    budget: int = 12  # extra demonstrations, targeted or uniform
    size: tuple[int, int] = (48, 36)
    frames: int = 32
    fps: float = 10.0


class _Sim:
    """Simulates episodes with seeds unique per (seed, role, index)."""

    def __init__(self, seed: int, config: LoopConfig, progress: bool) -> None:
        self.seed, self.config, self.progress = seed, config, progress
        self.counter = 0

    def many(self, kinds: Sequence[str], role: int, desc: str) -> list[NavEpisode]:
        out = []
        for i, kind in enumerate(tqdm(kinds, desc=desc, disable=not self.progress, leave=False)):
            episode_seed = 7_919 * self.seed + 1_000_003 * role + i
            out.append(
                simulate_episode(
                    kind,
                    episode_seed,
                    size=self.config.size,
                    fps=self.config.fps,
                    frames=self.config.frames,
                    episode_id=f"s{self.seed}-r{role}-{i:03d}",
                )
            )
        return out


def _kinds(per_cause: int, per_safe: int, skip: Sequence[str] = ()) -> list[str]:
    return [c for c in CAUSES if c not in skip for _ in range(per_cause)] + [
        s for s in SAFE_KINDS for _ in range(per_safe)
    ]


def _failure_dataset(episodes: Sequence[NavEpisode], fps: float) -> Dataset:
    rows = [
        Episode(
            e.id,
            source=e.frames,
            fps=fps,
            failure_frame=e.contact_frame,
            task=e.task,
            narrative=e.narrative,
            label=e.label,
            metadata={"scene": e.label, "lighting": e.facts.get("lighting"), "object": e.facts.get("object")},
        )
        for e in episodes
    ]
    return Dataset(rows, name="policy-failures", domain="navigation")


def _discover(
    failures: Dataset, engine: object, budget: int
) -> tuple[ClusterSet, Assignments, CollectionPlan]:
    reasons = engine.infer_reasons(failures)  # type: ignore[attr-defined]
    clusters = engine.discover_clusters(reasons)  # type: ignore[attr-defined]
    assignments = engine.assign(reasons, clusters)  # type: ignore[attr-defined]
    plan = collection_plan(clusters, assignments, failures, budget=budget, condition_columns=["scene"])
    return clusters, assignments, plan


def _rates(policy: BrakePolicy, test: Sequence[NavEpisode]) -> dict[str, float]:
    outcomes = [rollout(policy, e) for e in test]
    return {
        "failure": float(np.mean([o.failed for o in outcomes])),
        "collision": float(np.mean([o.collided for o in outcomes])),
        "false_stop": float(np.mean([o.false_stop for o in outcomes])),
    }


def run_seed(
    seed: int, config: LoopConfig | None = None, *, engine: object | None = None, progress: bool = True
) -> dict[str, object]:
    """One seed of the loop: failure and false-stop rates of the three policies, and what was found."""
    config = config or LoopConfig()
    if engine is None:
        from fmviz.offline import OfflineEngine

        engine = OfflineEngine(seed=seed)
    rng = np.random.default_rng(seed)
    rare = sorted(str(c) for c in rng.choice(CAUSES, size=config.n_rare, replace=False))
    sim = _Sim(seed, config, progress)
    demos = sim.many(_kinds(config.demos_per_cause, config.demos_per_safe, skip=rare), 0, "demonstrations")
    base = BrakePolicy(seed=seed).fit(demos, config.fps)
    deployed = sim.many(_kinds(config.deploy_per_cause, config.deploy_per_safe), 1, "deployment")
    failures = [e for e in deployed if rollout(base, e).collided]
    row: dict[str, object] = {"seed": seed, "rare_scenes": ",".join(rare), "deploy_failures": len(failures)}
    if len(failures) < 3:
        raise ValueError(
            f"seed {seed}: only {len(failures)} deployment failure(s); too few to discover modes"
        )
    clusters, _, plan = _discover(_failure_dataset(failures, config.fps), engine, config.budget)
    draws = plan.draws("scene")
    targeted_kinds = [k for k, n in sorted(draws.items()) for _ in range(n)]
    uniform_kinds = [str(k) for k in rng.choice(_KINDS, size=config.budget, replace=True)]
    targeted = sim.many(targeted_kinds, 2, "targeted collection")
    uniform = sim.many(uniform_kinds, 3, "uniform collection")
    test = sim.many(_kinds(config.test_per_cause, config.test_per_safe), 4, "held-out routes")
    for name, data in (("before", demos), ("targeted", demos + targeted), ("random", demos + uniform)):
        policy = base if name == "before" else BrakePolicy(seed=seed).fit(data, config.fps)
        for metric, value in _rates(policy, test).items():
            row[f"{metric}_{name}"] = value
    row["n_modes"] = len(clusters)
    row["targeted_draws"] = ",".join(f"{k}:{n}" for k, n in sorted(draws.items()) if n)
    row["mode_names"] = " | ".join(c.name for c in clusters)
    return row


def closed_loop(
    seeds: Sequence[int] = (0, 1, 2), config: LoopConfig | None = None, *, progress: bool = True
) -> pd.DataFrame:
    """The loop over several seeds, one row per seed (:func:`run_seed`); see :func:`loop_summary`.

    Examples
    --------
    >>> table = closed_loop(seeds=(0, 1, 2))   # doctest: +SKIP
    >>> loop_summary(table)                     # doctest: +SKIP
    """
    from fmviz.offline import OfflineEngine

    engine = OfflineEngine(seed=0)
    rows = [
        run_seed(s, config, engine=engine, progress=progress)
        for s in tqdm(seeds, desc="closed loop", disable=not progress)
    ]
    return pd.DataFrame(rows)


def loop_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds of each policy's failure, collision, false-stop rate."""
    rows = []
    for name in ("before", "targeted", "random"):
        row: dict[str, object] = {"policy": name, "seeds": len(table)}
        for metric in ("failure", "collision", "false_stop"):
            values = table[f"{metric}_{name}"].astype(float)
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
