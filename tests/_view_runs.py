"""A small SYNTHETIC run for the view tests (texts written for the tests, three causes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmviz.episodes import Dataset, Episode
from fmviz.results import Assignment, Assignments, Cluster, ClusterSet, Reason, Reasons
from fmviz.run import Run

#: Synthetic reasons, three causes.
TEXTS = {
    "glass": "the robot drove into a glass door the depth camera did not see",
    "chair": "the robot clipped thin chair legs the lidar missed",
    "cable": "a cable on the floor caught the front caster",
}


def make_run(per_cause: int = 4) -> Run:
    episodes, reasons, rows = [], [], []
    ids = {"glass": "C1", "chair": "C2", "cable": "C10"}
    for cause, text in TEXTS.items():
        for i in range(per_cause):
            eid = f"{cause}-{i}"
            episodes.append(Episode(eid, narrative=f"{text} ({i})", label=cause))
            reasons.append(Reason(eid, "", f"{text} ({i})", engine="offline:narrative"))
            rows.append(Assignment(eid, ids[cause], score=0.9 - 0.1 * i))
    rows[-1] = rows[-1].but(cluster_id="outlier", score=None)
    clusters = ClusterSet(
        [
            Cluster("C1", "Glass", "Transparent obstacles", ["glass"]),
            Cluster("C2", "Chairs", "Thin legs", ["chair"]),
            Cluster("C10", "Cables", "Floor clutter", ["cable"]),
        ]
    )
    assignments = Assignments(rows, cluster_set_version=clusters.version)
    return Run(Dataset(episodes, name="synthetic"), Reasons(reasons), clusters, assignments)


def run_with_map() -> Run:
    """:func:`make_run` with a random 2-D embedding map (synthetic coordinates)."""
    run = make_run()
    ids = [e.id for e in run.dataset]
    rng = np.random.default_rng(0)
    labels = run.current_assignments.labels()
    run.embedding_map = pd.DataFrame(
        {
            "x": rng.random(len(ids)),
            "y": rng.random(len(ids)),
            "episode_id": ids,
            "cluster_id": [labels[i] for i in ids],
        }
    )
    return run
