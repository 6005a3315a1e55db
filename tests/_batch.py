"""Shared pieces of the batch-API tests: a scripted responder, a small dataset, runners.

The responder derives every answer from the request it is given (the narrative in a stage-1
prompt, the failure reason in a stage-3 prompt), so batch and online runs can be compared
answer for answer. Its text is scripted, not a real model's output; the episodes are
SYNTHETIC, written for these tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fmviz.episodes import Dataset, Episode
from fmviz.providers.batch import BatchOptions
from fmviz.providers.gemini import GeminiProvider
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.results import Assignments, Cluster, ClusterSet, Reasons
from fmviz.stages import assign_clusters, infer_reasons
from fmviz.testing import LoopbackServer, RecordedRequest

ACCOUNT = re.compile(r"Known account of the episode \(may be incomplete\): (.*)")
REASON = re.compile(r"Failure reason: (.*)")

#: SYNTHETIC narratives; ``REPAIR`` makes the first stage-1 answer unusable, ``wobbly`` the
#: first stage-3 answer an invalid id (both answered properly when re-asked).
NARRATIVES = {
    "e1": "drove into a glass door",
    "e2": "clipped a chair leg",
    "e3": "a cable caught the caster",
    "e4": "hit a glass wall REPAIR",
    "e5": "bumped a wobbly chair",
    "e6": "a cable bundle on the floor",
    "e7": "glass partition not seen",
}

CLUSTERS = ClusterSet(
    [
        Cluster("C1", "Transparent surfaces", "Glass doors and walls.", ["glass"], 0.4),
        Cluster("C2", "Thin legs", "Chair and table legs.", ["chair"], 0.3),
        Cluster("C3", "Floor clutter", "Cables and bags on the floor.", ["cable"], 0.3),
    ]
)


def responder(request: RecordedRequest) -> str:
    """Scripted answers for the three stages, derived from the request."""
    if "Failure reasons:" in request.text:  # stage 2: the three causes of the narratives
        clusters = [
            {"name": c.name, "description": c.description, "keywords": c.keywords, "frequency": c.frequency}
            for c in CLUSTERS
        ]
        return json.dumps({"clusters": clusters})
    reason = REASON.search(request.text)
    if reason is not None:
        text = reason.group(1)
        if "wobbly" in text and "not a valid cluster id" not in request.text:
            choice = "C9"
        else:
            choice = next(
                (cid for word, cid in (("glass", "C1"), ("chair", "C2"), ("cable", "C3")) if word in text),
                "outlier",
            )
        return json.dumps({"cluster_id": choice, "rationale": f"filed because: {text}"})
    match = ACCOUNT.search(request.text)
    narrative = match.group(1).strip() if match else "unknown"
    if "REPAIR" in narrative and "could not be used" not in request.text:
        return "The robot probably hit something, but here is no JSON."
    return json.dumps({"trajectory": f"moved; then {narrative}", "failure_reason": f"cause: {narrative}"})


def dataset() -> Dataset:
    episodes = [Episode(i, narrative=text, task="reach the goal") for i, text in NARRATIVES.items()]
    return Dataset(episodes, name="batch-test", description="SYNTHETIC episodes for the batch tests.")


def provider(server: LoopbackServer, api: str) -> Any:
    if api == "openai":
        return OpenAIProvider("gpt-4o-mini", base_url=server.openai_base_url, api_key="test-key")
    return GeminiProvider("gemini-2.5-flash", base_url=server.gemini_base_url, api_key="test-key")


def fast(**overrides: Any) -> BatchOptions:
    """Batch options with polls of milliseconds (tests), over the defaults."""
    return BatchOptions(**({"poll_initial": 0.001, "poll_max": 0.005} | overrides))


def make_llm(server: LoopbackServer, api: str, cache: Path, batch: Any = None, **kwargs: Any) -> LLM:
    options = {"backoff_base": 0.001, "backoff_max": 0.01, "max_retries": 1, "concurrency": 4} | kwargs
    return LLM(provider(server, api), cache=cache, batch=batch, **options)


def run_stages(llm: LLM) -> tuple[Reasons, Assignments]:
    reasons = infer_reasons(dataset(), llm)
    return reasons, assign_clusters(reasons, CLUSTERS, llm)


def summary(reasons: Reasons, assignments: Assignments) -> tuple[dict[str, str], dict[str, str]]:
    return {r.episode_id: r.failure_reason for r in reasons}, assignments.labels()


def online_baseline(api: str, tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The same stages online, on a server of their own (the reference answers)."""
    with LoopbackServer(responder) as server:
        llm = make_llm(server, api, tmp_path / "online.sqlite")
        result = summary(*run_stages(llm))
        llm.close()
    return result
