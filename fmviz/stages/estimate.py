"""The dry run of the LLM stages: how many calls, tokens and dollars before anything is spent.

Stage 1 is priced from the real requests (the real prompts and the real tail frames, so
image tokens and cache hits are exact). Stages 2 and 3 depend on answers not yet given,
so their requests are built with the same code paths from expected sizes: one reason of
``expected_reason_chars`` per episode and ``expected_clusters`` clusters. Pricing and
cache look-ups are :func:`fmviz.providers.ledger.estimate_requests`, shared with the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from fmviz.episodes import Dataset, EpisodeError
from fmviz.prompts import DOMAINS, PromptSet, load_prompts
from fmviz.providers.base import LLMRequest
from fmviz.results import Cluster, ClusterSet, Reason
from fmviz.stages import _batches as clustering
from fmviz.stages.assign import build_assign_request
from fmviz.stages.clusters import DEFAULT_MAX_PROMPT_TOKENS, bounds_text
from fmviz.stages.reasons import build_reason_request
from fmviz.stages.schemas import ClusteringAnswer, ParaphraseAnswer
from fmviz.video import TailSpec

if TYPE_CHECKING:
    from fmviz.providers.runner import LLM

__all__ = ["DEFAULT_OUTPUT_TOKENS", "ESTIMATE_COLUMNS", "estimate_pipeline"]

#: Expected output tokens per call, including the hidden reasoning that thinking models bill.
DEFAULT_OUTPUT_TOKENS = {"reasons": 1200, "clusters": 4000, "assign": 600}
ESTIMATE_COLUMNS = [
    "stage",
    "engine",
    "calls",
    "cached_calls",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "batch_cost_usd",
    "skipped",
]
#: Stages ``--batch`` sends through the batch APIs (stage 2 stays online: it is a handful of calls).
BATCH_STAGES = ("reasons", "assign")
STAGE_KEYS = ("reasons", "clusters", "assign")


def estimate_pipeline(
    dataset: Dataset,
    llm_by_stage: Mapping[str, LLM | None],
    *,
    prompts: PromptSet | None = None,
    tail: TailSpec | None = None,
    ensemble: int = 3,
    expected_reason_chars: int = 300,
    expected_clusters: int = 8,
    include_frames: bool = True,
    max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS,
    expected_output_tokens: Mapping[str, int] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Price the three LLM stages for ``dataset`` without making a single call.

    Parameters
    ----------
    dataset:
        The episodes a run would process.
    llm_by_stage:
        ``{"reasons": LLM, "clusters": LLM, "assign": LLM}``; ``None`` (or a missing key)
        means the stage runs on an engine that costs nothing (e.g. offline).
    prompts, tail, ensemble, include_frames, max_prompt_tokens:
        As the run would use them.
    expected_reason_chars:
        Expected length of one stage-1 failure reason (sizes the stage-2/3 prompts).
    expected_clusters:
        Expected number of clusters (sizes the aggregate and assignment prompts).
    expected_output_tokens:
        ``{stage: tokens}`` per call; defaults to :data:`DEFAULT_OUTPUT_TOKENS`.
    progress:
        Show a progress bar while stage-1 frames are read.

    Returns
    -------
    pandas.DataFrame
        One row per stage plus ``total``: ``stage, engine, calls, cached_calls,
        input_tokens, output_tokens, cost_usd, batch_cost_usd, skipped``. ``cost_usd`` prices
        an online run, ``batch_cost_usd`` a ``--batch`` run (stages 1 and 3 at the
        provider's batch rates, stage 2 online); ``skipped`` counts episodes whose stage-1
        request could not be built (e.g. unreadable video; they would land in errors).
    """
    domain = dataset.domain if dataset.domain in DOMAINS else "generic"
    prompts = prompts or load_prompts(domain)
    tail = tail or TailSpec()
    outputs = dict(DEFAULT_OUTPUT_TOKENS) | dict(expected_output_tokens or {})
    rows = []

    requests: list[LLMRequest] = []
    skipped = 0
    llm = llm_by_stage.get("reasons")
    if llm is not None:
        for episode in tqdm(dataset, desc="estimate: stage-1 requests", disable=not progress):
            try:
                requests.append(
                    build_reason_request(episode, prompts, tail=tail, include_frames=include_frames)
                )
            except EpisodeError:
                skipped += 1
    rows.append(_price("reasons", llm, requests, outputs, skipped))
    n = len(dataset) - skipped

    llm = llm_by_stage.get("clusters")
    requests = (
        _cluster_requests(n, prompts, ensemble, expected_reason_chars, expected_clusters, max_prompt_tokens)
        if llm is not None and n > 0
        else []
    )
    rows.append(_price("clusters", llm, requests, outputs, 0))

    llm = llm_by_stage.get("assign")
    requests = (
        _assign_requests(n, prompts, expected_reason_chars, expected_clusters) if llm is not None else []
    )
    rows.append(_price("assign", llm, requests, outputs, 0))

    frame = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    total = {column: frame[column].sum() for column in ESTIMATE_COLUMNS[2:]}
    frame.loc[len(frame)] = {"stage": "total", "engine": "", **total}
    return frame


def _price(
    stage: str, llm: LLM | None, requests: list[LLMRequest], outputs: Mapping[str, int], skipped: int
) -> dict[str, Any]:
    """One stage's row, priced by the ledger's estimator (cache hits are free)."""
    row: dict[str, Any] = {
        "stage": stage,
        "engine": llm.spec if llm is not None else "no LLM",
        "calls": 0,
        "cached_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "batch_cost_usd": 0.0,
        "skipped": skipped,
    }
    if llm is None or not requests:
        return row
    from fmviz.providers.ledger import estimate_requests

    estimate = estimate_requests(
        requests,
        llm.provider,
        prices=_prices(llm),
        expected_output_tokens=outputs,
        cache=getattr(llm, "cache", None),
    )
    row["calls"] = int(estimate["calls"].sum())
    row["cached_calls"] = int(estimate["cached"].sum())
    row["input_tokens"] = int(estimate["input_tokens"].sum())
    row["output_tokens"] = int(estimate["output_tokens"].sum())
    row["cost_usd"] = float(estimate["cost_usd"].sum())
    batched = stage in BATCH_STAGES
    row["batch_cost_usd"] = float(estimate["batch_cost_usd" if batched else "cost_usd"].sum())
    return row


def _prices(llm: LLM) -> Any:
    prices = getattr(llm, "prices", None)
    if prices is None and getattr(llm, "ledger", None) is not None:
        prices = getattr(llm.ledger, "prices", None)
    return prices


def _cluster_requests(
    n: int,
    prompts: PromptSet,
    ensemble: int,
    reason_chars: int,
    n_clusters: int,
    max_tokens: int,
) -> list[LLMRequest]:
    """The stage-2 calls ``discover_clusters`` would make for ``n`` reasons of the expected size."""
    bounds = bounds_text(None, None)
    base = prompts.render("cluster", reasons=clustering.REASONS_SLOT, bounds=bounds, n_reasons=str(n))
    lines = ["x" * reason_chars] * n
    example = ClusteringAnswer.model_validate(
        {
            "clusters": [
                {"name": "x" * 30, "description": "x" * 150, "keywords": ["x" * 12] * 4, "frequency": 0.1}
            ]
            * n_clusters
        }
    )
    requests = []
    if ensemble > 0:
        requests.append(
            LLMRequest(
                prompt=prompts.render("paraphrase", prompt=base, n=str(ensemble)),
                system=prompts.system("cluster"),
                json_schema=ParaphraseAnswer.model_json_schema(),
                stage=clustering.STAGE,
            )
        )
    order = list(range(n))
    for _ in range(ensemble + 1):
        batches = clustering.plan_batches(base, order, lines, max_tokens)
        requests += [
            clustering.cluster_request(prompts, clustering.member_prompt(base, lines, batch))
            for batch in batches
        ]
        if len(batches) > 1:
            text = clustering.describe_clusterings([example] * len(batches), label="Batch")
            requests.append(
                clustering.cluster_request(prompts, prompts.render("merge_batches", clusterings=text))
            )
    if ensemble > 0:
        text = clustering.describe_clusterings([example] * (ensemble + 1), label="Clustering")
        requests.append(clustering.cluster_request(prompts, prompts.render("aggregate", clusterings=text)))
    return requests


def _assign_requests(n: int, prompts: PromptSet, reason_chars: int, n_clusters: int) -> list[LLMRequest]:
    """The stage-3 calls: one per reason, against ``n_clusters`` expected clusters."""
    clusters = ClusterSet(
        [Cluster(f"C{i}", "x" * 30, "x" * 150, ["x" * 12] * 4, 0.1) for i in range(1, n_clusters + 1)]
    )
    reason = Reason("expected", "x" * (3 * reason_chars), "x" * reason_chars)
    return [build_assign_request(reason, clusters, prompts) for _ in range(n)]
