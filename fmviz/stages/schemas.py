"""Pydantic models of what each LLM stage must answer.

They serve twice: as the JSON schema sent to the provider (structured output) and as the
validator :meth:`fmviz.providers.runner.LLM.generate_json` applies before a reply counts, so a
malformed answer is re-asked instead of silently entering the results. Every field is
required (OpenAI's strict structured output needs that); unknown extra keys are ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fmviz.results import Cluster

__all__ = ["AssignmentAnswer", "ClusterAnswer", "ClusteringAnswer", "ParaphraseAnswer", "ReasonAnswer"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ReasonAnswer(_Answer):
    """Stage 1, paper Fig. 2: the trajectory is written first, so it is the chain of thought."""

    trajectory: str = Field(description="What the agent did and what happened, in order.")
    failure_reason: str = Field(
        min_length=1, description="The earliest plausible cause of the failure, in one or two sentences."
    )


class ClusterAnswer(_Answer):
    """One proposed failure mode (the paper's name, description, keywords, frequency)."""

    name: str = Field(min_length=1, description="Short, specific name of the failure mode.")
    description: str = Field(description="One or two sentences describing the failure type.")
    keywords: list[str] = Field(description="Keywords capturing representative situations.")
    frequency: float = Field(description="Estimated fraction of the failure reasons in this cluster (0-1).")

    @field_validator("keywords", mode="before")
    @classmethod
    def _split_keywords(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value


class ClusteringAnswer(_Answer):
    """Stage 2: a clustering (from a member, a batch, a merge or the aggregate)."""

    clusters: list[ClusterAnswer] = Field(description="The failure modes.")

    def to_clusters(self) -> list[Cluster]:
        """Final clusters with our ids ``C1..CL``, most frequent first.

        Frequencies given as percentages (any value above 1) are scaled to fractions.
        """
        answers = list(self.clusters)
        scale = 100.0 if any(a.frequency > 1.0 for a in answers) else 1.0
        ordered = sorted(answers, key=lambda a: -a.frequency)
        return [
            Cluster(
                id=f"C{i}",
                name=a.name,
                description=a.description,
                keywords=[k for k in a.keywords if k],
                frequency=min(max(a.frequency / scale, 0.0), 1.0),
            )
            for i, a in enumerate(ordered, start=1)
        ]


class ParaphraseAnswer(_Answer):
    """Stage 2 ensemble: alternative versions of the clustering prompt."""

    prompts: list[str] = Field(description="Alternative versions of the prompt, each a complete prompt.")


class AssignmentAnswer(_Answer):
    """Stage 3: exactly one cluster id (or ``outlier``) with a short rationale."""

    cluster_id: str = Field(description="One of the given cluster ids, or 'outlier'.")
    rationale: str = Field(description="One short sentence explaining the choice.")
