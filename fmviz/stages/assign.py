"""Stage 3 of the paper: every episode is mapped to one failure mode or flagged as an outlier.

The model sees the cluster ids, names, descriptions and keywords, plus one episode's
trajectory and failure reason, and must answer exactly one id from the set or
``outlier``. An id outside the set (a hallucinated ``C12``, a name instead of an id) is
re-asked with the list of valid ids; it is never silently accepted. Episodes whose answer
stays invalid after the repairs land in ``Assignments.errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fmviz.prompts import PromptSet, load_prompts
from fmviz.providers.base import LLMRequest
from fmviz.results import OUTLIER, Assignment, Assignments, ClusterSet, Reason, Reasons
from fmviz.stages._common import run_map
from fmviz.stages.schemas import AssignmentAnswer

if TYPE_CHECKING:
    from fmviz.providers.runner import LLM

__all__ = ["assign_clusters", "build_assign_request", "normalise_cluster_id"]

STAGE = "assign"


def assign_clusters(
    reasons: Reasons,
    clusters: ClusterSet,
    llm: LLM,
    *,
    prompts: PromptSet | None = None,
) -> Assignments:
    """Ask ``llm`` to file each reason under one cluster id or ``outlier`` (paper Step 3).

    Parameters
    ----------
    reasons:
        Stage-1 results (trajectory and failure reason per episode).
    clusters:
        Stage-2 failure modes.
    llm:
        The model wrapper.
    prompts:
        Prompt set (``assign``, ``assign_system``); defaults to the generic preset.

    Returns
    -------
    Assignments
        One assignment per answered episode (reasons order); ``errors`` names the rest.

    Raises
    ------
    fmviz.providers.runner.RunStopped
        On auth, quota or budget errors; ``exc.partial_assignments`` holds the finished work.
    """
    if len(clusters) == 0:
        raise ValueError("the cluster set is empty: run stage 2 (or add clusters) before assigning")
    prompts = prompts or load_prompts("generic")
    check = _id_check(clusters)

    def assign(reason: Reason) -> Assignment:
        request = build_assign_request(reason, clusters, prompts)
        answer, _ = llm.generate_json(request, AssignmentAnswer, check=check)
        cluster_id = normalise_cluster_id(answer.cluster_id, clusters)
        assert cluster_id is not None  # guaranteed by check
        return Assignment(reason.episode_id, cluster_id, answer.rationale)

    def collect(results: dict[str, Assignment], errors: dict[str, str]) -> Assignments:
        rows = [results[i] for i in reasons.ids if i in results]
        return Assignments(rows, errors, cluster_set_version=clusters.version)

    results, errors = run_map(
        llm,
        list(reasons),
        assign,
        desc="stage 3: assignment",
        key=lambda reason: reason.episode_id,
        on_stop=collect,
        attribute="partial_assignments",
    )
    return collect(results, errors)


def build_assign_request(reason: Reason, clusters: ClusterSet, prompts: PromptSet) -> LLMRequest:
    """The stage-3 request for one episode."""
    return LLMRequest(
        prompt=prompts.render(
            "assign",
            clusters=clusters.describe(),
            valid_ids=_valid_ids_text(clusters),
            trajectory=reason.trajectory,
            failure_reason=reason.failure_reason,
            episode_id=reason.episode_id,
        ),
        system=prompts.system("assign"),
        json_schema=AssignmentAnswer.model_json_schema(),
        schema_name="assignment",
        stage=STAGE,
        episode_id=reason.episode_id,
    )


def normalise_cluster_id(answer: str, clusters: ClusterSet) -> str | None:
    """The canonical id an answer names, or ``None`` if it names none.

    Only exact ids are accepted, ignoring case, surrounding whitespace and quotes
    (``" c3 "`` -> ``C3``); anything else, including a cluster's name, is rejected.
    """
    text = answer.strip().strip("'\"`").strip()
    canonical = {cid.lower(): cid for cid in clusters.ids} | {OUTLIER: OUTLIER}
    return canonical.get(text.lower())


def _valid_ids_text(clusters: ClusterSet) -> str:
    return ", ".join([*clusters.ids, OUTLIER])


def _id_check(clusters: ClusterSet) -> Callable[[AssignmentAnswer], str | None]:
    valid = _valid_ids_text(clusters)

    def check(answer: AssignmentAnswer) -> str | None:
        if normalise_cluster_id(answer.cluster_id, clusters) is None:
            return f"{answer.cluster_id!r} is not a valid cluster id. Answer with exactly one of: {valid}."
        return None

    return check
