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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fmviz.prompts import PromptSet, load_prompts
from fmviz.providers.base import LLMRequest
from fmviz.results import ClusterSet, Reason, Reasons
from fmviz.stages.schemas import ClusteringAnswer, ParaphraseAnswer

if TYPE_CHECKING:
    from fmviz.llm import LLM

__all__ = ["DEFAULT_MAX_PROMPT_TOKENS", "ClusteringError", "discover_clusters", "estimate_tokens"]

STAGE = "clusters"
#: Prompt budget per request; well inside o4-mini's and Gemini 2.5's context windows.
DEFAULT_MAX_PROMPT_TOKENS = 100_000
#: The placeholder where a clustering prompt receives the list of reasons.
REASONS_SLOT = "{reasons}"
#: Templates this stage uses (recorded verbatim in provenance).
TEMPLATES = ("cluster_system", "cluster", "paraphrase", "aggregate", "merge_batches", "context")


class ClusteringError(RuntimeError):
    """Stage 2 could not produce a cluster set (every ensemble member failed)."""


def estimate_tokens(text: str) -> int:
    """Rough token count (~4 characters per token), used to decide on batching."""
    return math.ceil(len(text) / 4)


@dataclass
class _Member:
    """One ensemble member: a prompt template, an order of the reasons, its batches."""

    index: int
    template: str
    order: list[int]
    batches: list[list[int]] = field(default_factory=list)
    batch_answers: list[ClusteringAnswer | None] = field(default_factory=list)
    batch_raw: list[str] = field(default_factory=list)
    answer: ClusteringAnswer | None = None
    merge_raw: list[str] = field(default_factory=list)
    error: str | None = None


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
        members.append(_Member(index, template, order, _batches(template, order, lines, max_prompt_tokens)))

    _run_batches(llm, prompts, members, lines, check)
    _run_merges(llm, prompts, members, bounds, check, max_prompt_tokens)
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
        request = _request(
            prompts,
            prompts.render(
                "aggregate",
                clusterings=_describe_clusterings([m.answer for m in done], label="Clustering"),
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
    text = " ".join(reason.failure_reason.split())
    if include_trajectory and reason.trajectory.strip():
        text += f" (trajectory: {' '.join(reason.trajectory.split())})"
    return text


def _reasons_block(lines: Sequence[str], indices: Sequence[int]) -> str:
    """Numbered reasons; neutral numbers, never episode ids (ids may leak labels)."""
    body = "\n".join(f"{k}. {lines[i]}" for k, i in enumerate(indices, start=1))
    return f"({len(indices)} failure reasons)\n{body}"


def _member_prompt(template: str, lines: Sequence[str], indices: Sequence[int]) -> str:
    return template.replace(REASONS_SLOT, _reasons_block(lines, indices))


def _batches(template: str, order: list[int], lines: Sequence[str], max_tokens: int) -> list[list[int]]:
    """Split ``order`` into consecutive batches whose prompts fit ``max_tokens``."""
    if estimate_tokens(_member_prompt(template, lines, order)) <= max_tokens:
        return [list(order)]
    overhead = estimate_tokens(_member_prompt(template, lines, []))
    budget = max(max_tokens - overhead, 1)
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i in order:
        cost = estimate_tokens(f"{len(current) + 1}. {lines[i]}\n")
        if current and used + cost > budget:
            batches.append(current)
            current, used = [], 0
        current.append(i)
        used += cost
    if current:
        batches.append(current)
    return batches


def _request(prompts: PromptSet, prompt: str) -> LLMRequest:
    return LLMRequest(
        prompt=prompt,
        system=prompts.system("cluster"),
        json_schema=ClusteringAnswer.model_json_schema(),
        schema_name="clusters",
        stage=STAGE,
    )


def _run_batches(
    llm: LLM, prompts: PromptSet, members: list[_Member], lines: Sequence[str], check: Callable
) -> None:
    """Every (member, batch) clustering, concurrently; a failed batch fails its member.

    Bounds on the number of clusters apply to whole clusterings only: a batch may hold
    fewer failure modes than the dataset, so batch answers get the basic check.
    """
    basic = _clustering_check(None, None)
    jobs = [(m, b) for m in members for b in range(len(m.batches))]
    for m in members:
        m.batch_answers = [None] * len(m.batches)
        m.batch_raw = [""] * len(m.batches)

    def key(job: tuple[_Member, int]) -> str:
        return f"member {job[0].index} batch {job[1] + 1}"

    def cluster(job: tuple[_Member, int]) -> tuple[ClusteringAnswer, str]:
        member, b = job
        request = _request(prompts, _member_prompt(member.template, lines, member.batches[b]))
        rule = check if len(member.batches) == 1 else basic
        answer, response = llm.generate_json(request, ClusteringAnswer, check=rule)
        return answer, response.text

    outcome = llm.map(jobs, cluster, desc="stage 2: clustering", key=key)
    for job in jobs:
        m, b = job
        if key(job) in outcome.results:
            m.batch_answers[b], m.batch_raw[b] = outcome.results[key(job)]
        elif m.error is None:
            where = f"{key(job)} of {len(m.batches)}" if len(m.batches) > 1 else f"member {m.index}"
            m.error = f"{where}: {outcome.errors.get(key(job), 'failed')}"
    for m in members:
        if len(m.batches) == 1 and m.error is None:
            m.answer = m.batch_answers[0]


def _run_merges(
    llm: LLM,
    prompts: PromptSet,
    members: list[_Member],
    bounds: str,
    check: Callable,
    max_tokens: int,
) -> None:
    """Merge the batch clusterings of every batched member (concurrently across members)."""
    batched = [m for m in members if len(m.batches) > 1 and m.error is None]
    if not batched:
        return

    def merge(member: _Member) -> tuple[ClusteringAnswer, list[str]]:
        parts = [
            (a, len(idx))
            for a, idx in zip(member.batch_answers, member.batches, strict=True)
            if a is not None
        ]
        raws: list[str] = []
        answer = _merge_tree(llm, prompts, parts, bounds, check, max_tokens, raws)
        return answer, raws

    outcome = llm.map(batched, merge, desc="stage 2: merging batches", key=lambda m: str(m.index))
    for m in batched:
        if str(m.index) in outcome.results:
            m.answer, m.merge_raw = outcome.results[str(m.index)]
        else:
            m.error = f"member {m.index} merge: {outcome.errors.get(str(m.index), 'failed')}"


def _merge_tree(
    llm: LLM,
    prompts: PromptSet,
    parts: list[tuple[ClusteringAnswer, int]],
    bounds: str,
    check: Callable,
    max_tokens: int,
    raws: list[str],
) -> ClusteringAnswer:
    """Merge batch clusterings in one call, or in halves when they do not fit one prompt."""

    def prompt_for(group: list[tuple[ClusteringAnswer, int]]) -> str:
        return prompts.render(
            "merge_batches",
            clusterings=_describe_clusterings(
                [a for a, _ in group], label="Batch", sizes=[s for _, s in group]
            ),
            n_reasons=str(sum(s for _, s in group)),
            n_batches=str(len(group)),
            bounds=bounds,
        )

    if len(parts) == 1:
        return parts[0][0]
    prompt = prompt_for(parts)
    if len(parts) > 2 and estimate_tokens(prompt) > max_tokens:
        half = len(parts) // 2
        left = _merge_tree(llm, prompts, parts[:half], bounds, check, max_tokens, raws)
        right = _merge_tree(llm, prompts, parts[half:], bounds, check, max_tokens, raws)
        parts = [(left, sum(s for _, s in parts[:half])), (right, sum(s for _, s in parts[half:]))]
        prompt = prompt_for(parts)
    answer, response = llm.generate_json(_request(prompts, prompt), ClusteringAnswer, check=check)
    raws.append(response.text)
    return answer


def _describe_clusterings(
    answers: Sequence[ClusteringAnswer | None], *, label: str, sizes: Sequence[int] | None = None
) -> str:
    """Readable listing of several clusterings for the aggregate and merge prompts."""
    blocks = []
    for k, answer in enumerate(answers, start=1):
        if answer is None:
            continue
        head = f"{label} {k}" + (f" ({sizes[k - 1]} failure reasons)" if sizes else "") + ":"
        rows = [
            f"- {c.name} (frequency {c.frequency:g}): {c.description} | keywords: {', '.join(c.keywords)}"
            for c in answer.clusters
        ]
        blocks.append("\n".join([head, *rows]))
    return "\n\n".join(blocks)


def _member_record(member: _Member, items: Sequence[Reason]) -> dict[str, Any]:
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
