"""Stage 3: one valid cluster id or outlier per episode, invalid ids re-asked, never accepted.

The scripted responder reads the episode's failure reason from the prompt and answers
accordingly (scripted text, not a real model's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from fmviz.providers.gemini import GeminiProvider
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.results import Cluster, ClusterSet, Reason, Reasons
from fmviz.stages import assign_clusters
from fmviz.testing import LoopbackServer, RecordedRequest

REASON = re.compile(r"Failure reason: (.*)")


def responder(request: RecordedRequest) -> str:
    reason = REASON.search(request.text)
    text = reason.group(1) if reason else ""
    re_asked = "not a valid cluster id" in request.text
    if "glass" in text:
        choice = "C1"
    elif "chair" in text:
        choice = "C2" if re_asked else "C9"  # hallucinated first, valid when re-asked
    elif "meteor" in text:
        choice = "outlier"
    elif "stubborn" in text:
        choice = "C42"  # stays invalid
    elif "named" in text:
        choice = "Thin protruding objects"  # a name, not an id
    else:
        choice = " c1 "
    return json.dumps({"cluster_id": choice, "rationale": f"because of: {text}"})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(responder) as running:
        yield running


def make_llm(server: LoopbackServer, api: str = "openai", **kwargs: object) -> LLM:
    if api == "openai":
        provider = OpenAIProvider("o4-test", base_url=server.openai_base_url, api_key="test-key")
    else:
        provider = GeminiProvider("gemini-test", base_url=server.gemini_base_url, api_key="test-key")
    options = {"cache": False, "backoff_base": 0.001, "backoff_max": 0.01, "max_retries": 1} | kwargs
    return LLM(provider, **options)


CLUSTERS = ClusterSet(
    [
        Cluster("C1", "Transparent surfaces", "Glass and mirrors.", ["glass door"], 0.5),
        Cluster("C2", "Thin protruding objects", "Chair and table legs.", ["chair leg"], 0.5),
    ]
)


def reasons(*pairs: tuple[str, str]) -> Reasons:
    return Reasons([Reason(episode_id, f"drove toward the {text}", text) for episode_id, text in pairs])


@pytest.mark.parametrize("api", ["openai", "gemini"])
def test_valid_ids_and_outlier_are_accepted(server: LoopbackServer, api: str) -> None:
    result = assign_clusters(
        reasons(("a", "hit the glass door"), ("b", "hit by a meteor"), ("c", "bumped a wall")),
        CLUSTERS,
        make_llm(server, api),
    )
    assert result.labels() == {"a": "C1", "b": "outlier", "c": "C1"}  # " c1 " normalised
    assert result["b"].is_outlier
    assert result["a"].rationale == "because of: hit the glass door"
    assert result.errors == {}
    assert len(server.requests) == 3
    prompt = server.requests[0].prompt
    assert "C1 | Transparent surfaces" in prompt
    assert "C1, C2, outlier" in prompt
    assert "Trajectory: drove toward the" in prompt


def test_hallucinated_id_is_re_asked_then_accepted(server: LoopbackServer) -> None:
    result = assign_clusters(reasons(("x", "clipped a chair leg")), CLUSTERS, make_llm(server))
    assert result.labels() == {"x": "C2"}
    assert len(server.requests) == 2
    repair = server.requests[1].text
    assert "'C9' is not a valid cluster id" in repair
    assert "C1, C2, outlier" in repair


def test_exhausted_re_asks_land_in_errors_and_others_finish(server: LoopbackServer) -> None:
    result = assign_clusters(
        reasons(("ok", "hit the glass door"), ("bad", "stubborn answer"), ("name", "named cluster")),
        CLUSTERS,
        make_llm(server, max_repairs=2),
    )
    assert result.labels() == {"ok": "C1"}
    assert set(result.errors) == {"bad", "name"}
    assert "bad" in result.errors["bad"]
    assert sum("stubborn" in r.text for r in server.requests) == 3  # first ask + 2 repairs


def test_empty_cluster_set_is_rejected(server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="empty"):
        assign_clusters(reasons(("a", "x")), ClusterSet([]), make_llm(server))
    assert server.requests == []


def test_llm_engine_runs_all_three_stages(server: LoopbackServer) -> None:
    """LLMEngine is an Engine: stage 1 -> 2 -> 3 over one LLM, the dataset's domain prompts."""

    def pipeline_responder(request: RecordedRequest) -> str:
        if "alternative versions" in request.prompt:
            original = request.prompt.split("<<<", 1)[1].split(">>>", 1)[0].strip()
            return json.dumps({"prompts": [f"[P{i}] {original}" for i in range(2)]})
        if 'Answer in JSON: {"clusters"' in request.text or 'clusters": [' in request.prompt:
            clusters = [
                {
                    "name": "Transparent surfaces",
                    "description": "glass",
                    "keywords": ["glass"],
                    "frequency": 0.5,
                },
                {"name": "Thin legs", "description": "chairs", "keywords": ["chair"], "frequency": 0.5},
            ]
            return json.dumps({"clusters": clusters})
        if "Failure reason:" in request.text:
            return responder(request)
        account = request.prompt.split("Known account of the episode (may be incomplete): ", 1)[1]
        account = account.splitlines()[0]
        return json.dumps({"trajectory": f"moved; {account}", "failure_reason": account})

    from fmviz.engine import Engine
    from fmviz.episodes import Dataset, Episode
    from fmviz.stages import LLMEngine

    server.responder = pipeline_responder
    llm = make_llm(server)
    engine = LLMEngine(llm, ensemble=2, seed=3)
    assert isinstance(engine, Engine)
    assert engine.spec == llm.spec
    dataset = Dataset(
        [Episode("g", narrative="hit the glass door"), Episode("c", narrative="hit a chair leg")],
        domain="navigation",
    )
    found = engine.infer_reasons(dataset)
    assert found.ids == ["g", "c"]
    clusters = engine.discover_clusters(found, min_clusters=2, max_clusters=4)
    assert clusters.ids == ["C1", "C2"]
    assert clusters.provenance["prompt_domain"] == "navigation"
    assert len(clusters.provenance["prompts"]["paraphrases"]) == 2
    assigned = engine.assign(found, clusters)
    assert assigned.labels() == {"g": "C1", "c": "C2"}
    assert "front-facing camera" in server.requests[0].prompt


def test_quota_error_stops_the_run_and_keeps_finished_assignments(server: LoopbackServer) -> None:
    from fmviz.providers.runner import RunStopped
    from fmviz.testing import Reply

    def quota_on_meteor(request: RecordedRequest) -> Reply | str:
        if "meteor" in request.text:
            return Reply(status=429, quota=True)
        return responder(request)

    server.responder = quota_on_meteor
    pairs = [("a", "hit the glass door"), ("b", "hit the glass wall"), ("m", "hit by a meteor")]
    with pytest.raises(RunStopped) as info:
        assign_clusters(
            reasons(*pairs, ("z", "hit the glass again")), CLUSTERS, make_llm(server, concurrency=1)
        )
    partial = info.value.partial_assignments
    assert partial.labels() == {"a": "C1", "b": "C1"}
    assert "m" in partial.errors
