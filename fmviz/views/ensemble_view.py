"""The ensemble view: how far the prompt-ensemble members agree with each other and the aggregate.

The paper's stage 2 asks the model to cluster the reasons with the original prompt and its
paraphrases, then aggregates the member clusterings into one. An LLM cluster set records every
member in ``provenance["members"]`` (see :mod:`fmviz.stages.clusters`); members name clusters
but list no episodes, so each member's clusters partition the reasons by nearest cluster
embedding (the EA rule with no outlier threshold, as :func:`fmviz.evaluate.ensemble_stability`
does). The view shows one heatmap per member (its clusters against the aggregate's, episode
counts, the best one-to-one matching outlined) and the members' pairwise ARI. A cluster set
made without an ensemble (offline, or ``ensemble=0``) says so instead of drawing empty panels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import traitlets

from fmviz.results import Assignments, Cluster, ClusterSet, Reasons
from fmviz.views._heatmap_png import heatmap_png
from fmviz.views._matrix import contingency, optimal_matching
from fmviz.views._widget import FmvizWidget, TypedArray

__all__ = ["EnsembleView", "member_cluster_sets"]

#: ``(reasons, clusters) -> {episode_id: cluster_id}``: how a clustering partitions the reasons.
Partition = Callable[[Reasons, ClusterSet], Mapping[str, str]]
AGGREGATE = "aggregate"


def member_cluster_sets(clusters: ClusterSet) -> dict[str, ClusterSet]:
    """The ensemble members of an LLM cluster set as cluster sets (ids ``M<k>C<j>``), by label.

    Members that failed (no clustering) are left out; a set with no ensemble gives ``{}``.

    Examples
    --------
    >>> member_cluster_sets(ClusterSet([Cluster("C1", "Glass")], {"members": {"C1": ["e1"]}}))
    {}
    """
    records = clusters.provenance.get("members")
    if not isinstance(records, list):
        return {}
    out: dict[str, ClusterSet] = {}
    for position, record in enumerate(records):
        answer = record.get("clusters") if isinstance(record, dict) else None
        if not isinstance(answer, dict) or not answer.get("clusters"):
            continue
        index = int(record.get("index", position))
        found = [
            Cluster(
                f"M{index}C{j}",
                str(c.get("name", "")),
                str(c.get("description", "")),
                [str(k) for k in c.get("keywords") or []],
                float(c.get("frequency") or 0.0),
            )
            for j, c in enumerate(answer["clusters"], start=1)
        ]
        label = f"member {index} (original prompt)" if index == 0 else f"member {index}"
        out[label] = ClusterSet(found, {"engine": "ensemble member", "member": index})
    return out


def nearest_embedding_partition(reasons: Reasons, clusters: ClusterSet) -> dict[str, str]:
    """Every reason to its nearest cluster by embedding (bundled MiniLM, no outliers)."""
    from fmviz.offline.assign import assign_nearest

    return assign_nearest(reasons, clusters, threshold=-1.0, use_members=False).labels()


class EnsembleView(FmvizWidget):
    """Member-vs-aggregate heatmaps and the members' pairwise agreement (ARI).

    Build one with :meth:`from_cluster_set`.

    Examples
    --------
    >>> offline = ClusterSet([Cluster("C1", "Glass")], {"engine": "offline"})
    >>> view = EnsembleView.from_cluster_set(offline, Reasons())
    >>> view.has_ensemble, view.message.startswith("This cluster set was not made by a prompt ensemble")
    (False, True)
    """

    _widget_name = "ensemble_view"

    has_ensemble = traitlets.Bool(False).tag(sync=True)
    #: A plain sentence: what the view shows, or why there is nothing to show.
    message = traitlets.Unicode("").tag(sync=True)
    #: ``[{"label", "n_clusters", "ari" (with the aggregate), "prompt"}]``, the aggregate last.
    members = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Members whose clustering failed: ``[{"label", "error"}]`` (not in the heatmaps).
    failures = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: One heatmap per member: ``{"title", "rows", "columns", "offset", "n_rows", "n_cols"}``.
    panels = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Every panel's counts, row-major, one after another (``offset`` into this array).
    panel_values = TypedArray("float32")
    #: Matched cells as ``(panel, row, column)`` triples, shape ``(k, 3)``.
    panel_matching = TypedArray("int32")
    #: Pairwise ARI, shape ``(len(members), len(members))`` in ``members`` order.
    ari = TypedArray("float32")
    title = traitlets.Unicode("Prompt ensemble").tag(sync=True)

    @classmethod
    def from_cluster_set(
        cls,
        clusters: ClusterSet,
        reasons: Reasons,
        *,
        assignments: Assignments | None = None,
        partition: Partition | None = None,
        **kwargs: Any,
    ) -> EnsembleView:
        """The view of an LLM cluster set made by a prompt ensemble.

        Parameters
        ----------
        clusters:
            The aggregated cluster set (its ``provenance`` holds the members).
        reasons:
            The reasons that were clustered.
        assignments:
            The run's assignments to the aggregate (default: partitioned like the members).
        partition:
            How a clustering partitions the reasons; default :func:`nearest_embedding_partition`.
        """
        members = member_cluster_sets(clusters)
        if not members or clusters.provenance.get("aggregate") is None:
            return cls(has_ensemble=False, message=_no_ensemble(clusters, len(members)), **kwargs)
        if not len(reasons):
            raise ValueError("the ensemble view needs the reasons that were clustered")
        how = "by embedding" if partition is None else "by the partition given"
        partition = partition or nearest_embedding_partition
        labelings = {label: dict(partition(reasons, member)) for label, member in members.items()}
        aggregate = (
            dict(assignments.labels()) if assignments is not None else dict(partition(reasons, clusters))
        )
        labelings[AGGREGATE] = aggregate

        names = clusters.names() | {"outlier": "Outlier"}
        panels, values, matching = [], [], []
        offset = 0
        for k, (label, member) in enumerate(members.items()):
            counts, _ = contingency(labelings[label], aggregate)
            member_names = member.names()
            panels.append(
                {
                    "title": f"{label} vs aggregate",
                    "rows": [{"id": r, "name": member_names.get(r, r)} for r in counts.index],
                    "columns": [{"id": c, "name": names.get(c, c)} for c in counts.columns],
                    "offset": offset,
                    "n_rows": int(counts.shape[0]),
                    "n_cols": int(counts.shape[1]),
                }
            )
            values.append(counts.to_numpy(dtype=np.float32).ravel())
            offset += counts.size
            skip = [j for j, c in enumerate(counts.columns) if c == "outlier"]
            pairs = optimal_matching(counts.to_numpy(dtype=float).T, skip_rows=skip)
            matching += [(k, i, j) for j, i in pairs]
        ari = _pairwise_ari(labelings)
        records = _records(clusters, members, ari)
        message = (
            f"{len(members)} ensemble members and their aggregate over {len(reasons)} reasons; members "
            f"list no episodes, so each member's clusters take the reasons nearest to them {how}."
        )
        return cls(
            has_ensemble=True,
            message=message,
            members=records,
            failures=[
                {"label": str(k), "error": str(v)}
                for k, v in (clusters.provenance.get("member_errors") or {}).items()
            ],
            panels=panels,
            panel_values=np.concatenate(values) if values else np.zeros(0, np.float32),
            panel_matching=np.asarray(sorted(matching), dtype=np.int32).reshape(-1, 3),
            ari=ari.astype(np.float32),
            **kwargs,
        )

    @classmethod
    def from_run(cls, run: Any, **kwargs: Any) -> EnsembleView:
        """The view of a run's cluster set, with the run's current assignments as the aggregate's."""
        return cls.from_cluster_set(run.clusters, run.reasons, assignments=run.current_assignments, **kwargs)

    def to_png(self) -> bytes | None:
        """The pairwise ARI as a static picture (for viewers without widget JavaScript)."""
        if not self.has_ensemble:
            return None
        labels = [m["label"].replace("member ", "M").split(" ")[0] for m in self.members]
        return heatmap_png(self.ari, [], labels, labels, cell=30)

    def ari_frame(self) -> Any:
        """The pairwise ARI as a DataFrame labelled by member."""
        import pandas as pd

        labels = [m["label"] for m in self.members]
        return pd.DataFrame(self.ari.reshape(len(labels), len(labels)), index=labels, columns=labels)


def _pairwise_ari(labelings: Mapping[str, Mapping[str, str]]) -> np.ndarray:
    from fmviz.evaluate.stability import pairwise_ari

    return pairwise_ari(labelings).to_numpy(dtype=float)


def _records(
    clusters: ClusterSet, members: Mapping[str, ClusterSet], ari: np.ndarray
) -> list[dict[str, Any]]:
    raw = clusters.provenance.get("members") or []
    prompts = {
        int(r.get("index", i)): str(r.get("prompt") or "") for i, r in enumerate(raw) if isinstance(r, dict)
    }
    out = []
    labels = [*members, AGGREGATE]
    for k, label in enumerate(labels):
        member = members.get(label)
        index = member.provenance.get("member") if member is not None else None
        prompt = prompts.get(int(index), "") if index is not None else ""
        out.append(
            {
                "label": label,
                "n_clusters": len(member) if member is not None else len(clusters),
                "ari": float(ari[k, -1]),
                "prompt": " ".join(prompt.split())[:200],
            }
        )
    return out


def _no_ensemble(clusters: ClusterSet, n_members: int) -> str:
    engine = clusters.provenance.get("engine") or "unknown"
    if n_members:
        failed = len(clusters.provenance.get("member_errors") or {})
        why = f"{failed} member(s) failed" if failed else "the ensemble was off (ensemble=0)"
        return (
            f"This cluster set came from a single clustering (engine: {engine}; {why}), so nothing was "
            "aggregated and there is no agreement to show."
        )
    return (
        f"This cluster set was not made by a prompt ensemble (engine: {engine}), so there are no member "
        "clusterings to compare. Run stage 2 with an LLM and ensemble > 0 to see how far the members agree."
    )
