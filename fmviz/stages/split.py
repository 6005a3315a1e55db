"""Split one failure mode into n narrower ones with a reasoning model (a cluster edit).

The model sees the cluster's name and description and its members' failure reasons under
neutral numbers (never episode ids, which may leak labels) and must put every number in
exactly one of ``n`` parts; an answer that drops, repeats or invents a number, or has the
wrong number of parts, is re-asked with what was wrong. The result is a
:class:`~fmviz.results.Split` operation, so it is logged and undoable like a hand split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from fmviz.prompts import PromptSet, load_prompts
from fmviz.providers.base import LLMRequest
from fmviz.results import Assignments, ClusterSet, Reasons, Split
from fmviz.results.edits import members_to_split

if TYPE_CHECKING:
    from fmviz.providers.runner import LLM

__all__ = ["SplitAnswer", "split_cluster"]

STAGE = "split"


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, description="Short name of the narrower failure mode.")
    description: str = Field(description="One or two sentences describing it.")
    keywords: list[str] = Field(default_factory=list, description="Keywords of representative situations.")
    members: list[int] = Field(description="Numbers of the reasons in this part.")


class SplitAnswer(BaseModel):
    """The model's split: exactly n parts covering every numbered reason once."""

    model_config = ConfigDict(extra="ignore")

    clusters: list[_Part] = Field(description="The narrower failure modes.")


def split_cluster(
    reasons: Reasons,
    clusters: ClusterSet,
    assignments: Assignments | None,
    cluster_id: str,
    n: int,
    llm: LLM,
    *,
    prompts: PromptSet | None = None,
) -> Split:
    """Ask ``llm`` to split ``cluster_id`` into ``n`` parts; returns the operation (not applied).

    Members are the episodes assigned to the cluster (else its discovery members) that have a
    reason. Raises ``ValueError`` when there are fewer members than parts.
    """
    cluster = clusters[cluster_id]
    members = members_to_split(cluster_id, clusters, assignments, reasons, n)
    prompts = prompts or load_prompts("generic")
    numbered = "\n".join(f"{k}. {' '.join(reasons[e].text.split())}" for k, e in enumerate(members, 1))
    request = LLMRequest(
        prompt=prompts.render(
            "split",
            cluster_name=cluster.name,
            cluster_description=cluster.description,
            reasons=numbered,
            n_members=str(len(members)),
            n_parts=str(n),
        ),
        system=prompts.system("cluster"),
        json_schema=SplitAnswer.model_json_schema(),
        schema_name="split",
        stage=STAGE,
    )
    answer, _ = llm.generate_json(request, SplitAnswer, check=_check(len(members), n))
    parts = answer.clusters
    return Split(
        cluster_id,
        tuple(tuple(members[k - 1] for k in part.members) for part in parts),
        names=tuple(p.name for p in parts),
        descriptions=tuple(p.description for p in parts),
        keywords=tuple(tuple(k for k in p.keywords if k) for p in parts),
        by=llm.spec,
    )


def _check(n_members: int, n_parts: int) -> Callable[[SplitAnswer], str | None]:
    def check(answer: SplitAnswer) -> str | None:
        if len(answer.clusters) != n_parts:
            return f"Give exactly {n_parts} clusters, not {len(answer.clusters)}."
        seen = [k for part in answer.clusters for k in part.members]
        if any(not part.members for part in answer.clusters):
            return "Every cluster needs at least one member."
        wrong = sorted({k for k in seen if not 1 <= k <= n_members})
        if wrong:
            return f"Members must be numbers from 1 to {n_members}; {wrong[:5]} are not."
        repeated = sorted({k for k in seen if seen.count(k) > 1})
        if repeated:
            return f"Each reason belongs to exactly one cluster; {repeated[:5]} appear twice."
        missing = sorted(set(range(1, n_members + 1)) - set(seen))
        if missing:
            return f"Every reason must be in a cluster; {missing[:10]} are missing."
        return None

    return check
