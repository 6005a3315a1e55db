"""Stage 1 + stage 3 through both batch APIs (real clients, loopback server), scenario by scenario.

Each scenario runs the real stages in batch mode and compares with the same stages online:
a clean run, a failed job, an expired job, partial results, repair re-asks (in the next batch
or online), a run interrupted while its job is still running (resumed by id, no second
create), the cache (an online rerun sends nothing) and the budget. Answers are scripted by
``tests/_batch.py`` (not a real model's), the episodes SYNTHETIC.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _batch import NARRATIVES, fast, make_llm, online_baseline, responder, run_stages, summary

from fmviz.providers.batch.store import JobStore
from fmviz.providers.runner import RunStopped
from fmviz.stages import infer_reasons
from fmviz.testing import LoopbackServer

APIS = ["openai", "gemini"]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(responder) as running:
        yield running


@pytest.mark.parametrize("api", APIS)
def test_batch_run_matches_online_and_rerun_online_sends_nothing(
    server: LoopbackServer, api: str, tmp_path: Path
) -> None:
    expected = online_baseline(api, tmp_path)
    llm = make_llm(server, api, tmp_path / "calls.sqlite", batch=fast())
    reasons, assignments = run_stages(llm)
    assert summary(reasons, assignments) == expected
    assert not reasons.errors
    assert not assignments.errors
    assert server.count == 0  # nothing online
    # stage 1: 7 requests + 1 repair re-ask (e4); stage 3: 7 + 1 re-ask (e5's invalid id)
    assert server.batches.creates[api] == 4
    assert len(server.batches.lines) == 16
    ledger = llm.ledger.to_frame()
    assert ledger["batch"].all()
    assert len(ledger) == 16
    assert not ledger["cached"].any()

    online = make_llm(server, api, tmp_path / "calls.sqlite")  # same cache, batch off
    assert summary(*run_stages(online)) == expected
    assert server.count == 0
    assert server.batches.creates[api] == 4
    assert online.ledger.to_frame()["cached"].all()


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("outcome", ["failed", "expired", "partial"])
def test_unanswered_requests_are_resubmitted_then_complete(
    server: LoopbackServer, api: str, outcome: str, tmp_path: Path
) -> None:
    expected = online_baseline(api, tmp_path)
    server.batches.script([outcome])
    llm = make_llm(server, api, tmp_path / "calls.sqlite", batch=fast())
    assert summary(*run_stages(llm)) == expected
    assert server.count == 0
    first = server.batches.jobs[next(iter(server.batches.jobs))]
    assert first.outcome == outcome
    unanswered = {key for key, _ in first.lines} - set(first.answers)
    assert len(unanswered) >= (7 if outcome == "failed" else 2)
    later = [key for job in list(server.batches.jobs.values())[1:] for key, _ in job.lines]
    assert unanswered <= set(later)  # resubmitted (with e4's re-ask) in the next job
    assert len(server.batches.lines) == 16  # lines that ran: every request exactly once
    answered_keys = [key for job in server.batches.jobs.values() for key in job.answers]
    assert len(answered_keys) == len(set(answered_keys)) == 16  # each request paid exactly once
    assert llm.ledger.to_frame()["batch"].sum() == 16


@pytest.mark.parametrize("api", APIS)
def test_missing_answers_go_online_when_configured(server: LoopbackServer, api: str, tmp_path: Path) -> None:
    expected = online_baseline(api, tmp_path)
    server.batches.script(["failed"])
    llm = make_llm(server, api, tmp_path / "calls.sqlite", batch=fast(missing="online", reasks="online"))
    reasons = infer_reasons(_dataset(), llm)
    assert {r.episode_id: r.failure_reason for r in reasons} == expected[0]
    assert server.batches.creates[api] == 1  # no resubmission
    assert server.count == 8  # all 7 online, plus e4's re-ask
    frame = llm.ledger.to_frame()
    assert not frame["batch"].any()
    assert len(frame) == 8


@pytest.mark.parametrize("api", APIS)
def test_a_job_failing_every_time_falls_back_online_after_max_submissions(
    server: LoopbackServer, api: str, tmp_path: Path
) -> None:
    server.batches.script(["failed", "failed"])
    llm = make_llm(server, api, tmp_path / "calls.sqlite", batch=fast(max_submissions=2, reasks="online"))
    reasons = infer_reasons(_dataset(), llm)
    assert len(reasons) == 7
    assert not reasons.errors
    assert server.batches.creates[api] == 2
    assert server.count == 8


@pytest.mark.parametrize("api", APIS)
def test_repair_reask_goes_online_when_configured(server: LoopbackServer, api: str, tmp_path: Path) -> None:
    expected = online_baseline(api, tmp_path)
    llm = make_llm(server, api, tmp_path / "calls.sqlite", batch=fast(reasks="online"))
    assert summary(*run_stages(llm)) == expected
    assert server.batches.creates[api] == 2  # one job per stage, the re-asks went online
    assert server.count == 2
    assert "could not be used" in server.requests[0].text  # e4's repair re-ask
    assert "not a valid cluster id" in server.requests[1].text  # e5's re-ask


@pytest.mark.parametrize("api", APIS)
def test_interrupted_run_resumes_its_job_by_id_without_a_second_create(
    server: LoopbackServer, api: str, tmp_path: Path
) -> None:
    cache = tmp_path / "calls.sqlite"
    server.batches.polls_to_finish = 10**6  # the job stays running
    llm = make_llm(server, api, cache, batch=fast(max_wait=0.05))
    with pytest.raises(RunStopped, match=r"still running.*rerun the same command") as stopped:
        infer_reasons(_dataset(), llm)
    assert len(stopped.value.partial_reasons) == 0
    assert server.batches.creates[api] == 1
    job_id = next(iter(server.batches.jobs))
    store = JobStore(cache)
    assert [job.job_id for job in store.open_jobs(llm.endpoint)] == [job_id]
    llm.close()

    server.batches.polls_to_finish = 1  # the provider finishes the job meanwhile
    resumed = make_llm(server, api, cache, batch=fast())
    reasons = infer_reasons(_dataset(), resumed)
    assert len(reasons) == 7
    assert not reasons.errors
    assert server.batches.jobs[job_id].answers  # the first job was collected
    assert server.batches.creates[api] == 2  # the job resumed; only e4's re-ask was new
    assert len(server.batches.jobs[job_id].lines) == 7
    assert store.open_jobs(llm.endpoint) == []
    assert set(store.to_frame()["status"]) == {"completed"}
    store.close()


@pytest.mark.parametrize("api", APIS)
def test_a_stored_job_the_provider_lost_is_resubmitted(
    server: LoopbackServer, api: str, tmp_path: Path
) -> None:
    cache = tmp_path / "calls.sqlite"
    server.batches.polls_to_finish = 10**6
    with pytest.raises(RunStopped, match="still running"):
        infer_reasons(_dataset(), make_llm(server, api, cache, batch=fast(max_wait=0.02)))
    server.batches.jobs.clear()  # the provider deleted it meanwhile
    server.batches.polls_to_finish = 1
    reasons = infer_reasons(_dataset(), make_llm(server, api, cache, batch=fast()))
    assert len(reasons) == 7
    assert server.batches.creates[api] == 3  # the lost job, its resubmission (+ e4's re-ask)
    store = JobStore(cache)
    assert store.to_frame()["status"].tolist() == ["failed", "completed", "completed"]
    store.close()


@pytest.mark.parametrize("api", APIS)
def test_budget_is_checked_before_a_job_is_created(server: LoopbackServer, api: str, tmp_path: Path) -> None:
    llm = make_llm(server, api, tmp_path / "calls.sqlite", batch=fast(), budget_usd=1e-9)
    with pytest.raises(RunStopped, match="budget cap reached"):
        infer_reasons(_dataset(), llm)
    assert server.batches.creates[api] == 0
    assert server.count == 0


def test_batch_mode_needs_the_cache(server: LoopbackServer) -> None:
    from fmviz.providers.openai import OpenAIProvider
    from fmviz.providers.runner import LLM

    llm = LLM(OpenAIProvider("gpt-4o-mini", base_url=server.openai_base_url), cache=False, batch=True)
    with pytest.raises(ValueError, match="needs the call cache"):
        infer_reasons(_dataset(), llm)


def _dataset():
    from _batch import dataset

    data = dataset()
    assert len(data) == len(NARRATIVES)
    return data


@pytest.mark.parametrize("api", APIS)
def test_the_pipeline_batches_stages_1_and_3_and_keeps_stage_2_online(
    server: LoopbackServer, api: str, tmp_path: Path
) -> None:
    from fmviz.engine import EngineOptions
    from fmviz.pipeline import run_pipeline

    base_url = server.openai_base_url if api == "openai" else server.gemini_base_url
    options = EngineOptions(
        base_url=base_url, cache=str(tmp_path / "calls.sqlite"), ensemble=0, batch=True, batch_poll=0.001
    )
    spec = "openai:gpt-4o-mini" if api == "openai" else "gemini:gemini-2.5-flash"
    run = run_pipeline(
        _dataset(), reasons=spec, clusters=spec, assign=spec, options=options, embedding_map=False
    )
    names = {c.id: c.name for c in run.clusters}
    labels = {episode: names[cid] for episode, cid in run.assignments.labels().items()}
    assert labels["e1"] == labels["e4"] == "Transparent surfaces"
    assert labels["e5"] == "Thin legs"
    assert labels["e3"] == "Floor clutter"
    assert server.count == 1  # stage 2's one clustering call, online
    assert server.batches.creates[api] == 4
    summary = run.ledger.summary().set_index("stage")
    assert summary.loc["reasons", "batch_calls"] == summary.loc["reasons", "calls"] == 8
    assert summary.loc["clusters", "batch_calls"] == 0
    assert summary.loc["assign", "batch_calls"] == 8
