"""Result types shared by every engine: reasons, cluster sets (with their edit log), assignments, runs.

Whatever produced them (an LLM, the offline embedding engine, a local model), stage outputs
have one shape, so views, notebooks and metrics never care which engine ran. Each type shows
as a pandas DataFrame and saves to JSON or Parquet with a schema version. Cluster edits are
data too: operations (:mod:`fmviz.results.ops`) applied by one pure function
(:func:`fmviz.results.edits.apply_edits`).
"""

from __future__ import annotations

from fmviz.results._table import SCHEMA_VERSION
from fmviz.results.assignments import OUTLIER, Assignment, Assignments
from fmviz.results.clusters import Cluster, ClusterSet, EditLog
from fmviz.results.edits import EditResult, apply_edits, reconcile, redo, replay, undo
from fmviz.results.ops import Add, Delete, LogEntry, MarkOutlier, Merge, Move, Operation, Split, Update
from fmviz.results.reasons import BOILERPLATE_ONLY, Reason, Reasons
from fmviz.results.run import RunResult, StaleResultsWarning

__all__ = [
    "BOILERPLATE_ONLY",
    "OUTLIER",
    "SCHEMA_VERSION",
    "Add",
    "Assignment",
    "Assignments",
    "Cluster",
    "ClusterSet",
    "Delete",
    "EditLog",
    "EditResult",
    "LogEntry",
    "MarkOutlier",
    "Merge",
    "Move",
    "Operation",
    "Reason",
    "Reasons",
    "RunResult",
    "Split",
    "StaleResultsWarning",
    "Update",
    "apply_edits",
    "reconcile",
    "redo",
    "replay",
    "undo",
]
