"""The dry run: call counts, image tokens, cache hits and cost per stage, with nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fmviz.episodes import Dataset, Episode
from fmviz.providers.gemini import GeminiProvider
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.stages import estimate_pipeline, infer_reasons
from fmviz.testing import LoopbackServer
from fmviz.video import TailSpec

TAIL = TailSpec(frames=2, fps=1.0, max_side=32)


def scripted_reason(request) -> str:
    return json.dumps({"trajectory": "scripted trajectory", "failure_reason": "scripted reason"})


@pytest.fixture
def server():
    with LoopbackServer(scripted_reason) as running:
        yield running


def dataset(tmp_path: Path) -> Dataset:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"not a video at all" * 20)
    frames = np.full((6, 24, 24, 3), 90, dtype=np.uint8)
    return Dataset(
        [
            Episode("t1", narrative="rolled into a ditch"),
            Episode("t2", narrative="clipped a mirror"),
            Episode("t3", narrative="stopped too late"),
            Episode("img", source=frames, fps=2.0),
            Episode("broken", source=corrupt, fps=30.0),
        ],
        domain="driving",
    )


def llms(server: LoopbackServer, cache: object = False) -> dict[str, LLM]:
    gemini = GeminiProvider("gemini-2.5-pro", base_url=server.gemini_base_url, api_key="test-key")
    openai = OpenAIProvider("o4-mini", base_url=server.openai_base_url, api_key="test-key")
    return {
        "reasons": LLM(gemini, cache=cache, backoff_base=0.001),
        "clusters": LLM(openai, cache=False),
        "assign": LLM(openai, cache=False),
    }


def row(frame, stage: str) -> dict:
    return frame.set_index("stage").loc[stage].to_dict()


def test_counts_per_stage_without_sending_anything(server: LoopbackServer, tmp_path: Path) -> None:
    frame = estimate_pipeline(dataset(tmp_path), llms(server), tail=TAIL, ensemble=3, progress=False)
    assert list(frame["stage"]) == ["reasons", "clusters", "assign", "total"]
    reasons, clusters, assign = row(frame, "reasons"), row(frame, "clusters"), row(frame, "assign")
    assert reasons["calls"] == 4  # the corrupt video cannot be read: skipped, not priced
    assert reasons["skipped"] == 1
    assert reasons["engine"] == "gemini:gemini-2.5-pro"
    assert clusters["calls"] == 1 + 4 + 1  # paraphrase, 4 members, aggregate
    assert assign["calls"] == 4
    assert all(r["cost_usd"] > 0 for r in (reasons, clusters, assign))
    assert row(frame, "total")["calls"] == 14
    assert row(frame, "total")["cost_usd"] == pytest.approx(frame["cost_usd"][:3].sum())
    assert server.requests == []


def test_image_tokens_and_ensemble_size_change_the_estimate(server: LoopbackServer, tmp_path: Path) -> None:
    frames = np.full((6, 24, 24, 3), 90, dtype=np.uint8)
    data = Dataset([Episode("img", source=frames, fps=2.0, narrative="scraped a pole")])
    with_frames = row(estimate_pipeline(data, llms(server), tail=TAIL, progress=False), "reasons")
    text_only = row(
        estimate_pipeline(data, llms(server), tail=TAIL, include_frames=False, progress=False), "reasons"
    )
    # Gemini bills 258 tokens per small image; two tail frames were priced.
    assert with_frames["input_tokens"] - text_only["input_tokens"] == pytest.approx(2 * 258, abs=40)
    assert with_frames["cost_usd"] > text_only["cost_usd"]
    single = estimate_pipeline(dataset(tmp_path), llms(server), tail=TAIL, ensemble=0, progress=False)
    assert row(single, "clusters")["calls"] == 1


def test_stages_without_an_llm_cost_nothing(server: LoopbackServer, tmp_path: Path) -> None:
    frame = estimate_pipeline(
        dataset(tmp_path), {"reasons": llms(server)["reasons"], "clusters": None}, tail=TAIL, progress=False
    )
    assert row(frame, "clusters")["calls"] == 0
    assert row(frame, "clusters")["engine"] == "no LLM"
    assert row(frame, "assign")["cost_usd"] == 0


def test_cached_stage_one_calls_are_free(server: LoopbackServer, tmp_path: Path) -> None:
    data = dataset(tmp_path)
    cache = tmp_path / "calls.sqlite"
    stage_llms = llms(server, cache=cache)
    before = row(estimate_pipeline(data, stage_llms, tail=TAIL, progress=False), "reasons")
    assert before["cached_calls"] == 0
    infer_reasons(data, stage_llms["reasons"], tail=TAIL)
    assert len(server.requests) == 4
    after = row(estimate_pipeline(data, llms(server, cache=cache), tail=TAIL, progress=False), "reasons")
    assert after["calls"] == 4
    assert after["cached_calls"] == 4
    assert after["cost_usd"] == 0
    assert len(server.requests) == 4
