"""Stage 2 of the paper: a reasoning model groups all failure reasons into failure modes.

The model chooses the number of clusters L itself (optionally within bounds the user sets,
enforced by re-asking), with a mutually-exclusive / collectively-exhaustive instruction;
each cluster carries a name, description, keywords and estimated frequency.

Prompt ensemble (paper Sec. IV-A): the model writes ``ensemble`` paraphrases of the
clustering prompt in one call; the original and each paraphrase cluster the reasons, each
in its own seeded shuffled order; the model then aggregates the member clusterings into
one set. When the reasons do not fit one request (estimated at ~4 characters per token),
each member clusters them in batches and merges the batch clusterings, so the stage scales
past one context window. Everything needed to audit or reproduce the result is kept in
``ClusterSet.provenance``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fmviz.prompts import PromptSet, load_prompts
from fmviz.providers.base import LLMRequest
from fmviz.results import ClusterSet, Reason, Reasons
from fmviz.stages._batches import (
    REASONS_SLOT,
    STAGE,
    Member,
    cluster_request,
    describe_clusterings,
    estimate_tokens,
    plan_batches,
    run_batches,
    run_merges,
)
from fmviz.stages.schemas import ClusteringAnswer, ParaphraseAnswer

if TYPE_CHECKING:
    from fmviz.providers.runner import LLM

__all__ = ["DEFAULT_MAX_PROMPT_TOKENS", "ClusteringError", "discover_clusters", "estimate_tokens"]

#: Prompt budget per request; well inside o4-mini's and Gemini 2.5's context windows.
DEFAULT_MAX_PROMPT_TOKENS = 100_000
#: Templates this stage uses (recorded verbatim in provenance).
TEMPLATES = ("cluster_system", "cluster", "paraphrase", "aggregate", "merge_batches", "context")


class ClusteringError(RuntimeError):
    """Stage 2 could not produce a cluster set (every ensemble member failed)."""


def discover_clusters(
    reasons: Reasons,
    llm: LLM,
    *,
    prompts: PromptSet | None = None,
    ensemble: int = 3,
    min_clusters: int | None = None,
    max_clusters: int | None = None,
    seed: int = 0,
    max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
    include_trajectory: bool = False,
) -> ClusterSet:
    """Let ``llm`` propose failure-mode clusters for all reasons (paper Step 2).

    Parameters
    ----------
    reasons:
        Stage-1 results; their failure reasons are clustered.
    llm:
        The reasoning model wrapper.
    prompts:
        Prompt set (``cluster``, ``paraphrase``, ``aggregate``, ``merge_batches``).
    ensemble:
        Number of paraphrased prompts besides the original (paper: 3). ``0`` runs the
        original prompt once with no aggregation.
    min_clusters, max_clusters:
        Optional bounds on L, stated in the prompts and enforced by re-asking.
    seed:
        Seeds the per-member shuffled order of the reasons.
    max_prompt_tokens:
        Estimated prompt size above which reasons are clustered in batches and merged.
    include_trajectory:
        Also show each episode's trajectory to the clusterer (longer prompts).

    Returns
    -------
    ClusterSet
        Clusters ``C1..CL`` (most frequent first) with provenance: prompts used (the
        paraphrases verbatim), model, every member clustering, batch layout, seed and the
        aggregate's raw response.
    """
    items = list(reasons)
    if not items:
        raise ValueError("no reasons to cluster: stage 1 produced no reasons")
    if ensemble < 0:
        raise ValueError(f"ensemble must be >= 0, got {ensemble}")
    if min_clusters is not None and max_clusters is not None and min_clusters > max_clusters:
        raise ValueError(f"min_clusters ({min_clusters}) is larger than max_clusters ({max_clusters})")
    prompts = prompts or load_prompts("generic")
    bounds = bounds_text(min_clusters, max_clusters)
    check = _clustering_check(min_clusters, max_clusters)
    lines = [_reason_line(r, include_trajectory) for r in items]
    n = len(items)

    base = prompts.render("cluster", reasons=REASONS_SLOT, bounds=bounds, n_reasons=str(n))
    provenance: dict[str, Any] = {
        "engine": llm.spec,
        "seed": seed,
        "ensemble": ensemble,
        "min_clusters": min_clusters,
        "max_clusters": max_clusters,
        "max_prompt_tokens": max_prompt_tokens,
        "include_trajectory": include_trajectory,
        "n_reasons": n,
        "reason_ids": [r.episode_id for r in items],
        "prompt_domain": prompts.domain,
        "prompts": {"original": base, "paraphrases": [], "paraphrase_raw": None},
        "templates": {name: getattr(prompts, name) for name in TEMPLATES},
    }

    templates = [base]
    if ensemble > 0:
        paraphrases, raw = _paraphrase(llm, prompts, base, ensemble, seed)
        templates += paraphrases
        provenance["prompts"]["paraphrases"] = paraphrases
        provenance["prompts"]["paraphrase_raw"] = raw

    members = []
    for index, template in enumerate(templates):
        order = [int(i) for i in np.random.default_rng([seed, index]).permutation(n)]
        members.append(
            Member(index, template, order, plan_batches(template, order, lines, max_prompt_tokens))
        )

    run_batches(llm, prompts, members, lines, check, _clustering_check(None, None))
    run_merges(llm, prompts, members, bounds, check, max_prompt_tokens)
    provenance["members"] = [_member_record(m, items) for m in members]
    provenance["batched"] = any(len(m.batches) > 1 for m in members)
    done = [m for m in members if m.answer is not None]
    failed = {f"member {m.index}": m.error or "failed" for m in members if m.answer is None}
    provenance["member_errors"] = failed
    if not done:
        raise ClusteringError("stage 2 failed for every ensemble member: " + "; ".join(failed.values()))

    if ensemble == 0 or len(done) == 1:
        final = done[0].answer
        provenance["aggregate"] = None
    else:
        request = cluster_request(
            prompts,
            prompts.render(
                "aggregate",
                clusterings=describe_clusterings([m.answer for m in done], label="Clustering"),
                n_members=str(len(done)),
                n_reasons=str(n),
                bounds=bounds,
            ),
        )
        final, response = llm.generate_json(request, ClusteringAnswer, check=check)
        provenance["aggregate"] = {
            "members": [m.index for m in done],
            "prompt": request.prompt,
            "raw": response.text,
            "clusters": final.model_dump(),
        }
    assert final is not None
    return ClusterSet(final.to_clusters(), provenance)


def bounds_text(min_clusters: int | None, max_clusters: int | None) -> str:
    """The sentence that states the allowed number of clusters."""
    if min_clusters is not None and max_clusters is not None:
        if min_clusters == max_clusters:
            return f"Use exactly {min_clusters} clusters."
        return f"Use between {min_clusters} and {max_clusters} clusters."
    if min_clusters is not None:
        return f"Use at least {min_clusters} clusters."
    if max_clusters is not None:
        return f"Use at most {max_clusters} clusters."
    return "There is no fixed number of clusters: use as many as the data needs, and no more."


def _clustering_check(
    min_clusters: int | None, max_clusters: int | None
) -> Callable[[ClusteringAnswer], str | None]:
    """The re-ask rule for every clustering answer: non-empty, within bounds, unique names."""

    def check(answer: ClusteringAnswer) -> str | None:
        count = len(answer.clusters)
        if count == 0:
            return "The answer contains no clusters. Propose at least one cluster."
        if (min_clusters is not None and count < min_clusters) or (
            max_clusters is not None and count > max_clusters
        ):
            return (
                f"You proposed {count} clusters, but the number of clusters must satisfy: "
                f"{bounds_text(min_clusters, max_clusters)} Merge or split clusters and answer again."
            )
        names = [c.name.strip().lower() for c in answer.clusters]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            return (
                f"Cluster names must be unique, but {', '.join(duplicates)} appear more than once. "
                "Merge them or rename them so the clusters are mutually exclusive."
            )
        return None

    return check


def _paraphrase(llm: LLM, prompts: PromptSet, base: str, count: int, seed: int) -> tuple[list[str], str]:
    """One call: ``count`` alternative versions of the clustering prompt."""

    def check(answer: ParaphraseAnswer) -> str | None:
        versions = [p.strip() for p in answer.prompts]
        if len(versions) < count:
            return f"Write exactly {count} versions of the prompt; you wrote {len(versions)}."
        for i, text in enumerate(versions[:count], start=1):
            if text.count(REASONS_SLOT) != 1:
                return (
                    f"Version {i} must contain the placeholder {REASONS_SLOT} exactly once "
                    "(where the failure reasons are inserted)."
                )
        seen = [base.strip()]
        for i, text in enumerate(versions[:count], start=1):
            if text in seen:
                return f"Version {i} repeats another prompt; every version must be phrased differently."
            seen.append(text)
        return None

    request = LLMRequest(
        prompt=prompts.render("paraphrase", prompt=base, n=str(count)),
        system=prompts.system("cluster"),
        json_schema=ParaphraseAnswer.model_json_schema(),
        schema_name="prompts",
        stage=STAGE,
        extra=(("seed", seed),),
    )
    answer, response = llm.generate_json(request, ParaphraseAnswer, check=check)
    return [p.strip() for p in answer.prompts[:count]], response.text


def _reason_line(reason: Reason, include_trajectory: bool) -> str:
    text = " ".join(reason.text.split())
    if include_trajectory and reason.trajectory.strip():
        text += f" (trajectory: {' '.join(reason.trajectory.split())})"
    return text


def _member_record(member: Member, items: Sequence[Reason]) -> dict[str, Any]:
    ids = [r.episode_id for r in items]
    return {
        "index": member.index,
        "prompt": member.template,
        "order": [ids[i] for i in member.order],
        "batches": [[ids[i] for i in batch] for batch in member.batches],
        "batch_clusterings": [a.model_dump() if a is not None else None for a in member.batch_answers],
        "batch_raw": list(member.batch_raw),
        "merge_raw": list(member.merge_raw),
        "clusters": member.answer.model_dump() if member.answer is not None else None,
        "error": member.error,
    }
