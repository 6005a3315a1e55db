"""The MLLM monitor sources through the real OpenAI and Gemini clients against a loopback server.

The responder's verdicts are scripted text (not a model's): unsafe, naming the first failure mode
listed, when the prompt lists failure modes; safe otherwise. Tests check what was sent (prompt
text per source, frames as images) and that a rerun is served from the call cache.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fmviz.monitor import LLMSource, MonitorEpisode, Window, score_source
from fmviz.providers.base import AuthError
from fmviz.providers.gemini import GeminiProvider
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.results import Cluster, ClusterSet
from fmviz.testing import LoopbackServer, RecordedRequest

MODE = re.compile(r"^1\. ([^:]+):", re.MULTILINE)


def scripted_verdict(request: RecordedRequest) -> str:
    """Scripted: unsafe with the first listed mode if modes are listed, else safe."""
    match = MODE.search(request.prompt)
    return json.dumps(
        {
            "observation": f"{request.n_images} frames of a corridor",
            "unsafe": bool(match),
            "failure_mode": match.group(1) if match else "none",
            "rationale": "matches a known mode" if match else "nothing ahead",
        }
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(scripted_verdict) as running:
        yield running


CLUSTERS = ClusterSet(
    [
        Cluster("C1", "Glass doors not seen", "Transparent doors the depth sensor misses", ["glass", "door"]),
        Cluster("C2", "Thin chair legs", "Legs too thin for the detector", ["chair", "leg"]),
    ]
)


class KeylessGemini(GeminiProvider):
    """The same endpoint and cache identity, on a machine where no key is configured."""

    def check_ready(self) -> None:
        raise AuthError("no Gemini key: set GEMINI_API_KEY")


def make_llm(server: LoopbackServer, api: str, cache: Path | bool, *, keyless: bool = False) -> LLM:
    if api == "openai":
        provider = OpenAIProvider("gpt-test", base_url=server.openai_base_url, api_key="test-key")
    else:
        kind = KeylessGemini if keyless else GeminiProvider
        provider = kind("gemini-test", base_url=server.gemini_base_url, api_key="test-key")
    return LLM(provider, cache=cache, backoff_base=0.001, backoff_max=0.01, max_retries=1)


def window(n: int = 3, level: int = 120, episode: str = "e1") -> Window:
    frames = tuple(np.full((24, 32, 3), level + i, np.uint8) for i in range(n))
    return Window(frames, tuple(i * 0.2 for i in range(n)), episode, 0, "deliver mail to lab 2")


@pytest.mark.parametrize("api", ["openai", "gemini"])
def test_the_llm_source_lists_the_failure_modes_and_names_the_match(server: LoopbackServer, api: str) -> None:
    source = LLMSource(make_llm(server, api, cache=False), "llm", clusters=CLUSTERS, context="office robot")
    verdict = source.judge(window(3))
    assert verdict.unsafe
    assert verdict.failure_mode == "Glass doors not seen"
    sent = server.requests[-1]
    assert sent.n_images == 3
    assert "Thin chair legs: Legs too thin for the detector (keywords: chair, leg)" in sent.prompt
    assert "deliver mail to lab 2" in sent.prompt


def test_nocontext_and_llm_ad_prompts_leave_the_failure_modes_out(server: LoopbackServer) -> None:
    llm = make_llm(server, "openai", cache=False)
    nocontext = LLMSource(llm, "nocontext", clusters=CLUSTERS).judge(window())
    assert not nocontext.unsafe
    assert "Glass doors" not in server.requests[-1].prompt
    LLMSource(llm, "llm-ad").judge(window())
    prompt = server.requests[-1].prompt
    assert "Nominal:" in prompt
    assert "Anomalous:" in prompt
    assert "written by hand for fmviz" in prompt
    assert "Glass doors" not in prompt


def test_the_llm_source_needs_failure_modes_and_a_known_kind(server: LoopbackServer) -> None:
    llm = make_llm(server, "openai", cache=False)
    with pytest.raises(ValueError, match="failure modes"):
        LLMSource(llm, "llm")
    with pytest.raises(ValueError, match="unknown LLM monitor source"):
        LLMSource(llm, "oracle", clusters=CLUSTERS)


def episodes(n: int) -> list[MonitorEpisode]:
    rng = np.random.default_rng(0)
    return [
        MonitorEpisode(
            f"ep{i}",
            rng.integers(0, 255, (6, 24, 32, 3)).astype(np.uint8),
            np.arange(6) / 5.0,
            failed=i % 2 == 0,
            failure_time=1.0 if i % 2 == 0 else None,
        )
        for i in range(n)
    ]


def test_a_rerun_is_served_from_the_cache_and_a_keyless_run_replays_it(
    server: LoopbackServer, tmp_path: Path
) -> None:
    cache = tmp_path / "calls.sqlite"
    sets = {"in_distribution": episodes(4)}
    first = LLMSource(make_llm(server, "gemini", cache), "llm", clusters=CLUSTERS)
    metrics, steps = score_source(first, sets, k=2, window=3, progress=False)
    sent = server.count
    assert sent == len(steps) == 4 * 6
    assert metrics.iloc[0]["status"] == "ok"
    keyless = LLMSource(make_llm(server, "gemini", cache, keyless=True), "llm", clusters=CLUSTERS)
    again, again_steps = score_source(keyless, sets, k=2, window=3, progress=False)
    assert server.count == sent  # zero new requests
    assert again_steps["unsafe"].tolist() == steps["unsafe"].tolist()
    assert again.iloc[0]["tpr"] == metrics.iloc[0]["tpr"]
    more = {"in_distribution": episodes(5)}
    skipped, none = score_source(keyless, more, k=2, window=3, progress=False)
    assert none.empty
    assert server.count == sent
    assert skipped.iloc[0]["status"].startswith("not run:")
    assert "6 of 30 calls are not in the cache" in skipped.iloc[0]["status"]
