"""Stage 2 at scale: clustering reasons in prompt-sized batches and merging the batch answers.

Each ensemble member clusters the reasons in its own order; when they do not fit one request
(estimated at ~4 characters per token) the member clusters consecutive batches concurrently
and merges the batch clusterings, in halves when even the merge does not fit one prompt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fmviz.prompts import PromptSet
from fmviz.providers.base import LLMRequest
from fmviz.stages.schemas import ClusteringAnswer

if TYPE_CHECKING:
    from fmviz.providers.runner import LLM

STAGE = "clusters"
#: The placeholder where a clustering prompt receives the list of reasons.
REASONS_SLOT = "{reasons}"


def estimate_tokens(text: str) -> int:
    """Rough token count (~4 characters per token), used to decide on batching."""
    return math.ceil(len(text) / 4)


@dataclass
class Member:
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


def reasons_block(lines: Sequence[str], indices: Sequence[int]) -> str:
    """Numbered reasons; neutral numbers, never episode ids (ids may leak labels)."""
    body = "\n".join(f"{k}. {lines[i]}" for k, i in enumerate(indices, start=1))
    return f"({len(indices)} failure reasons)\n{body}"


def member_prompt(template: str, lines: Sequence[str], indices: Sequence[int]) -> str:
    return template.replace(REASONS_SLOT, reasons_block(lines, indices))


def plan_batches(template: str, order: list[int], lines: Sequence[str], max_tokens: int) -> list[list[int]]:
    """Split ``order`` into consecutive batches whose prompts fit ``max_tokens``."""
    if estimate_tokens(member_prompt(template, lines, order)) <= max_tokens:
        return [list(order)]
    overhead = estimate_tokens(member_prompt(template, lines, []))
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


def cluster_request(prompts: PromptSet, prompt: str) -> LLMRequest:
    return LLMRequest(
        prompt=prompt,
        system=prompts.system("cluster"),
        json_schema=ClusteringAnswer.model_json_schema(),
        schema_name="clusters",
        stage=STAGE,
    )


def run_batches(
    llm: LLM,
    prompts: PromptSet,
    members: list[Member],
    lines: Sequence[str],
    check: Callable,
    basic: Callable,
) -> None:
    """Every (member, batch) clustering, concurrently; a failed batch fails its member.

    Bounds on the number of clusters apply to whole clusterings only: a batch may hold
    fewer failure modes than the dataset, so batch answers get the ``basic`` check.
    """
    jobs = [(m, b) for m in members for b in range(len(m.batches))]
    for m in members:
        m.batch_answers = [None] * len(m.batches)
        m.batch_raw = [""] * len(m.batches)

    def key(job: tuple[Member, int]) -> str:
        return f"member {job[0].index} batch {job[1] + 1}"

    def cluster(job: tuple[Member, int]) -> tuple[ClusteringAnswer, str]:
        member, b = job
        request = cluster_request(prompts, member_prompt(member.template, lines, member.batches[b]))
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


def run_merges(
    llm: LLM,
    prompts: PromptSet,
    members: list[Member],
    bounds: str,
    check: Callable,
    max_tokens: int,
) -> None:
    """Merge the batch clusterings of every batched member (concurrently across members)."""
    batched = [m for m in members if len(m.batches) > 1 and m.error is None]
    if not batched:
        return

    def merge(member: Member) -> tuple[ClusteringAnswer, list[str]]:
        parts = [
            (a, len(idx))
            for a, idx in zip(member.batch_answers, member.batches, strict=True)
            if a is not None
        ]
        raws: list[str] = []
        answer = merge_tree(llm, prompts, parts, bounds, check, max_tokens, raws)
        return answer, raws

    outcome = llm.map(batched, merge, desc="stage 2: merging batches", key=lambda m: str(m.index))
    for m in batched:
        if str(m.index) in outcome.results:
            m.answer, m.merge_raw = outcome.results[str(m.index)]
        else:
            m.error = f"member {m.index} merge: {outcome.errors.get(str(m.index), 'failed')}"


def merge_tree(
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
            clusterings=describe_clusterings(
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
        left = merge_tree(llm, prompts, parts[:half], bounds, check, max_tokens, raws)
        right = merge_tree(llm, prompts, parts[half:], bounds, check, max_tokens, raws)
        parts = [(left, sum(s for _, s in parts[:half])), (right, sum(s for _, s in parts[half:]))]
        prompt = prompt_for(parts)
    answer, response = llm.generate_json(cluster_request(prompts, prompt), ClusteringAnswer, check=check)
    raws.append(response.text)
    return answer


def describe_clusterings(
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
