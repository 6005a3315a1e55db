"""Reason quality (the paper's Table I): cosine, ROUGE-L and the LLM judge through the loopback server.

The judge's verdicts are scripted from keywords in the prompt, not written by a model.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from fmviz import LLM
from fmviz.evaluate.reason_quality import reason_quality, rouge_l, summarize_reason_quality
from fmviz.providers.openai import OpenAIProvider
from fmviz.results import Reason, Reasons
from fmviz.testing import LoopbackServer, RecordedRequest

REFERENCES = {
    "e1": "The robot dropped the pot on the floor while moving to the stove.",
    "e2": "The robot picked up the pan instead of the pot.",
    "e3": "The knife was blocked by the pot.",
}


def reasons() -> Reasons:
    return Reasons(
        [
            Reason("e1", "", "The robot dropped the pot on the floor while moving to the stove."),
            Reason("e2", "", "The pot was dropped near the sink."),
            Reason("e3", "", "The robot forgot to open the fridge."),
            Reason("e4", "", "No reference for this one."),
        ]
    )


def test_rouge_l_is_one_for_identical_text_and_zero_for_disjoint_text() -> None:
    assert rouge_l(["a robot dropped a pot"], ["a robot dropped a pot"]) == [1.0]
    assert rouge_l(["glass door"], ["chair legs"]) == [0.0]
    # longest common subsequence "robot drop pot" with stemming: 3 of 4 and 3 of 5 words
    assert rouge_l(["robot drops the pot"], ["the robot dropped a pot"])[0] == pytest.approx(
        2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4)
    )


def test_pairs_without_a_reference_are_skipped_and_identical_pairs_score_one() -> None:
    frame = reason_quality(reasons(), REFERENCES)
    assert list(frame["episode_id"]) == ["e1", "e2", "e3"]
    first = frame.set_index("episode_id").loc["e1"]
    assert first["cosine"] == pytest.approx(1.0, abs=1e-5)
    assert first["rouge_l"] == pytest.approx(1.0)
    assert frame.set_index("episode_id").loc["e3", "cosine"] < 0.6
    assert frame["judge_verdict"].isna().all()
    summary = summarize_reason_quality(frame).iloc[0]
    assert summary["n"] == 3
    assert summary["cs_pct"] == pytest.approx(100 * frame["cosine"].mean())
    assert summary["judged"] == 0


def scripted_verdict(request: RecordedRequest) -> str:
    """'match' when the two fenced reasons share the word 'dropped' (scripted, not a model)."""
    expert, inferred = re.findall(r"<<<(.*?)>>>", request.prompt, flags=re.DOTALL)
    same = "dropped" in expert and "dropped" in inferred
    return json.dumps(
        {
            "rationale": "both mention a drop" if same else "different causes",
            "verdict": "match" if same else "mismatch",
        }
    )


def test_the_judge_makes_one_call_per_pair_and_a_rerun_makes_none(tmp_path) -> None:
    cache = tmp_path / "judge.sqlite"
    with LoopbackServer(scripted_verdict) as server:
        provider = OpenAIProvider("judge-test", base_url=server.openai_base_url, api_key="test-key")
        frame = reason_quality(reasons(), REFERENCES, llm=LLM(provider, cache=cache))
        assert server.count == 3
        assert all("never an instruction" in " ".join(r.system.split()) for r in server.requests)
        verdicts = dict(zip(frame["episode_id"], frame["judge_verdict"], strict=True))
        assert verdicts == {"e1": "match", "e2": "mismatch", "e3": "mismatch"}
        assert frame.set_index("episode_id").loc["e1", "judge_rationale"] == "both mention a drop"
        server.reset()
        again = reason_quality(reasons(), REFERENCES, llm=LLM(provider, cache=cache))
        assert server.count == 0
        assert list(again["judge_verdict"]) == list(frame["judge_verdict"])
    summary = summarize_reason_quality(frame).iloc[0]
    assert summary["llm_pct"] == pytest.approx(100 / 3)
    assert summary["judged"] == 3


def test_an_unanswerable_pair_is_reported_not_fatal(tmp_path) -> None:
    def responder(request: RecordedRequest) -> str:
        return "not json at all" if "pan" in request.prompt else scripted_verdict(request)

    with LoopbackServer(responder) as server:
        provider = OpenAIProvider("judge-test", base_url=server.openai_base_url, api_key="test-key")
        frame = reason_quality(
            reasons(), REFERENCES, llm=LLM(provider, cache=False, max_repairs=1, backoff_base=0.001)
        )
    row = frame.set_index("episode_id").loc["e2"]
    assert pd.isna(row["judge_verdict"])
    assert "e2" in row["judge_error"]
    assert summarize_reason_quality(frame).iloc[0]["judged"] == 2
