"""Targeted data collection (paper Sec. IV-B): where to collect more data, and how much, per failure mode.

The failure modes say which situations a policy cannot handle yet; the cheapest way to fix that
is to collect demonstrations in exactly those situations. For each failure mode the plan lists
the conditions to collect in, read from three places: its keywords and description (what the
mode is), and its member episodes' recorded conditions (``metadata`` columns such as the room,
the object or the lighting), each value with its share among the members and its lift over all
episodes. The budget is split across modes in proportion to frequency times an optional
severity, by the largest-remainder rule (the counts always sum to the budget), and each mode
names a few example episodes, its most typical members first. Outliers are left out unless
asked for: they are rare by definition.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from fmviz.episodes import Dataset
from fmviz.results import OUTLIER, Assignments, ClusterSet

__all__ = ["CollectionPlan", "PlanItem", "allocate", "collection_plan", "plan_for_run"]

#: A metadata column is a condition when it has at most this many distinct values.
_MAX_LEVELS = 24
#: Values below this share of a mode's members are not listed as its conditions.
_MIN_SHARE = 0.2


@dataclass
class PlanItem:
    """How much to collect for one failure mode, and where."""

    cluster_id: str
    name: str
    description: str
    keywords: list[str]
    members: int
    frequency: float
    severity: float
    episodes: int
    #: column -> [(value, share among members, lift over all episodes)], most common first.
    conditions: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def condition_text(self) -> str:
        """The conditions in one line, e.g. ``lighting = dim (80%, x2.1)``."""
        parts = [
            f"{column} = {value} ({share:.0%}, x{lift:.1f})"
            for column, values in self.conditions.items()
            for value, share, lift in values
        ]
        return "; ".join(parts)


@dataclass
class CollectionPlan:
    """Episodes to collect per failure mode under a budget (see :func:`collection_plan`)."""

    budget: int
    items: list[PlanItem]

    def to_frame(self) -> pd.DataFrame:
        """One row per failure mode: counts, weights, conditions, keywords, examples."""
        rows = []
        for item in self.items:
            rows.append(
                {
                    "cluster_id": item.cluster_id,
                    "name": item.name,
                    "episodes_to_collect": item.episodes,
                    "members": item.members,
                    "frequency": round(item.frequency, 4),
                    "severity": item.severity,
                    "conditions": item.condition_text(),
                    "keywords": ", ".join(item.keywords),
                    "description": item.description,
                    "examples": ", ".join(item.examples),
                }
            )
        return pd.DataFrame(rows)

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.to_frame().to_csv(path, index=False)
        return path

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"budget": self.budget, "items": [asdict(i) for i in self.items]}
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        return path

    def draws(self, column: str) -> dict[str, int]:
        """Episodes to collect per value of ``column``: each mode's count split by its members' shares.

        This is how a simulator (or a field team) turns the plan into runs: e.g. ``draws("scene")``.
        """
        totals: Counter[str] = Counter()
        for item in self.items:
            values = item.conditions.get(column, [])
            if not values or not item.episodes:
                continue
            shares = {v: s for v, s, _ in values}
            for value, n in allocate(item.episodes, shares).items():
                totals[value] += n
        return dict(totals)


def allocate(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` by the largest-remainder rule.

    Examples
    --------
    >>> allocate(10, {"a": 0.5, "b": 0.3, "c": 0.2})
    {'a': 5, 'b': 3, 'c': 2}
    >>> sum(allocate(7, {"a": 1, "b": 1, "c": 1}).values())
    7
    """
    if total < 0:
        raise ValueError(f"the budget must be a non-negative number of episodes, got {total}")
    positive = {k: float(w) for k, w in weights.items() if w and w > 0}
    if not positive:
        return dict.fromkeys(weights, 0)
    scale = total / sum(positive.values())
    exact = {k: w * scale for k, w in positive.items()}
    counts = {k: int(v) for k, v in exact.items()}
    left = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - counts[k]), k))[:left]:
        counts[k] += 1
    return {k: counts.get(k, 0) for k in weights}


def _condition_columns(dataset: Dataset) -> list[str]:
    values: dict[str, set[str]] = {}
    for episode in dataset:
        for key, value in episode.metadata.items():
            if isinstance(value, str) and value.strip():
                values.setdefault(key, set()).add(value)
    n = len(dataset)
    return [k for k, v in values.items() if 1 < len(v) <= min(_MAX_LEVELS, max(2, n - 1))]


def _conditions(
    members: Sequence[str], dataset: Dataset, columns: Sequence[str]
) -> dict[str, list[tuple[str, float, float]]]:
    out: dict[str, list[tuple[str, float, float]]] = {}
    everyone = list(dataset)
    for column in columns:
        base = Counter(str(e.metadata.get(column)) for e in everyone if e.metadata.get(column) is not None)
        mine = Counter(
            str(dataset[i].metadata.get(column))
            for i in members
            if dataset[i].metadata.get(column) is not None
        )
        n_mine, n_base = sum(mine.values()), sum(base.values())
        if not n_mine:
            continue
        listed = []
        for value, count in mine.most_common():
            share = count / n_mine
            if share < _MIN_SHARE:
                continue
            lift = share / (base[value] / n_base) if base[value] else float("nan")
            listed.append((value, round(share, 3), round(lift, 2)))
        if listed:
            out[column] = listed
    return out


def collection_plan(
    clusters: ClusterSet,
    assignments: Assignments,
    dataset: Dataset | None = None,
    *,
    budget: int,
    severity: Mapping[str, float] | None = None,
    condition_columns: Sequence[str] | None = None,
    n_examples: int = 3,
    include_outliers: bool = False,
) -> CollectionPlan:
    """The targeted collection plan for an assigned cluster set.

    Parameters
    ----------
    clusters, assignments:
        The failure modes and each episode's mode.
    dataset:
        The episodes (their ``metadata`` gives the conditions); without it only keywords
        and descriptions describe where to collect.
    budget:
        Total episodes to collect.
    severity:
        Optional weight per cluster id (e.g. 3 for collisions with people); default 1.
    condition_columns:
        Metadata columns to read conditions from; default: every text column with a few levels.
    n_examples:
        Example episodes per mode.

    Examples
    --------
    >>> plan = plan_for_run(run, budget=20)  # doctest: +SKIP
    >>> plan.to_frame()  # doctest: +SKIP
    """
    if budget < 0:
        raise ValueError(f"the budget must be a non-negative number of episodes, got {budget}")
    severity = dict(severity or {})
    unknown = sorted(set(severity) - set(clusters.ids))
    if unknown:
        raise ValueError(f"severity names unknown cluster id(s) {unknown}; the clusters are {clusters.ids}")
    if dataset is not None:
        columns = list(condition_columns) if condition_columns is not None else _condition_columns(dataset)
    else:
        columns = []
    labels = assignments.labels()
    members = {c.id: [e for e, lab in labels.items() if lab == c.id] for c in clusters}
    counted = sum(len(m) for m in members.values()) + (
        sum(1 for lab in labels.values() if lab == OUTLIER) if include_outliers else 0
    )
    frequency = {c.id: (len(members[c.id]) / counted if counted else float(c.frequency)) for c in clusters}
    weights = {cid: frequency[cid] * float(severity.get(cid, 1.0)) for cid in frequency}
    counts = allocate(budget, weights)
    scores = {a.episode_id: a.score for a in assignments.assignments}
    items = []
    for c in clusters:
        ranked = sorted(members[c.id], key=lambda e: -(scores.get(e) or 0.0))
        known = [e for e in ranked if dataset is None or e in dataset]
        items.append(
            PlanItem(
                cluster_id=c.id,
                name=c.name,
                description=c.description,
                keywords=list(c.keywords),
                members=len(members[c.id]),
                frequency=frequency[c.id],
                severity=float(severity.get(c.id, 1.0)),
                episodes=counts[c.id],
                conditions=_conditions(known, dataset, columns) if dataset is not None else {},
                examples=ranked[:n_examples],
            )
        )
    items.sort(key=lambda i: (-i.episodes, -i.frequency, i.cluster_id))
    return CollectionPlan(budget=int(budget), items=items)


def plan_for_run(run: object, budget: int, **kwargs: object) -> CollectionPlan:
    """:func:`collection_plan` for a run (``clusters``, ``current_assignments`` and ``dataset``)."""
    return collection_plan(
        run.clusters,  # type: ignore[attr-defined]
        run.current_assignments,  # type: ignore[attr-defined]
        run.dataset,  # type: ignore[attr-defined]
        budget=budget,
        **kwargs,  # type: ignore[arg-type]
    )
