"""OpenAI's Batch API through the official ``openai`` client: the JSONL, the files, the ledger.

Against the loopback server's ``/v1/files`` and ``/v1/batches`` endpoints: each line carries
the online request's body under its cache key, the uploaded file has ``purpose=batch``, error
lines (error file) and expired lines are read, a rejected line (400) goes online where its
error reaches the episode, and the ledger prices batch calls at half the online rate.
Answers are scripted (``tests/_batch.py``), the episodes SYNTHETIC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _batch import dataset, fast, make_llm, responder

from fmviz.prompts import load_prompts
from fmviz.providers.batch.core import backend_for
from fmviz.providers.batch.openai_batch import OpenAIBatch
from fmviz.providers.ledger import PriceTable
from fmviz.stages import infer_reasons
from fmviz.stages.reasons import build_reason_request
from fmviz.testing import LoopbackServer, RecordedRequest, Reply


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(responder) as running:
        yield running


def test_lines_carry_the_online_body_under_the_cache_key(server: LoopbackServer, tmp_path: Path) -> None:
    llm = make_llm(server, "openai", tmp_path / "calls.sqlite", batch=fast(max_requests=3))
    reasons = infer_reasons(dataset(), llm)
    assert len(reasons) == 7
    first_round = list(server.batches.jobs.values())[:3]  # 7 requests, 3 a job
    assert [len(job.lines) for job in first_round] == [3, 3, 1]
    stored = server.batches.files[first_round[0].input_file or ""]
    line = json.loads(stored[1].decode().splitlines()[0])
    assert line["method"] == "POST"
    assert line["url"] == "/v1/chat/completions"
    episode = next(
        e
        for e in dataset()
        if llm.cache_key(build_reason_request(e, load_prompts("generic"))) == line["custom_id"]
    )
    request = build_reason_request(episode, load_prompts("generic"))
    assert line["body"] == llm.provider._arguments(request)  # exactly what online would send
    assert line["body"]["response_format"]["type"] == "json_schema"


def test_error_and_expired_lines_are_read_from_the_error_file(server: LoopbackServer, tmp_path: Path) -> None:
    llm = make_llm(server, "openai", tmp_path / "calls.sqlite")
    backend = backend_for(llm.provider, fast())
    assert isinstance(backend, OpenAIBatch)
    requests = [build_reason_request(e, load_prompts("generic")) for e in dataset()][:4]
    entries = [(f"k{i}", request) for i, request in enumerate(requests)]
    server.batches.script(["partial"])
    job_id = backend.submit(entries, "test")
    status = backend.poll(job_id)
    assert status.state == "running"
    status = backend.poll(job_id)
    assert status.state == "completed"
    assert status.total == 4
    answers, errors = backend.collect(status, [k for k, _ in entries])
    assert set(answers) == {"k0", "k3"}  # k1: a 500 line, k2: missing altogether
    assert errors["k1"].status == 500
    assert not errors["k1"].permanent
    assert "k2" not in errors
    assert json.loads(answers["k0"].text)["failure_reason"].startswith("cause: ")
    assert answers["k0"].input_tokens > 0

    server.batches.script(["expired"])
    job_id = backend.submit(entries, "test")
    backend.poll(job_id)
    status = backend.poll(job_id)
    answers, errors = backend.collect(status, [k for k, _ in entries])
    assert status.state == "expired"
    assert set(answers) == {"k0", "k1"}
    assert errors["k2"].status == 0
    assert "batch_expired" in errors["k2"].message


def test_cancel_reaches_the_server(server: LoopbackServer, tmp_path: Path) -> None:
    llm = make_llm(server, "openai", tmp_path / "calls.sqlite")
    backend = backend_for(llm.provider, fast())
    request = build_reason_request(dataset().episodes[0], load_prompts("generic"))
    job_id = backend.submit([("k", request)], "test")
    backend.cancel(job_id)
    assert backend.poll(job_id).state == "cancelled"


def test_a_rejected_line_goes_online_and_names_its_episode(tmp_path: Path) -> None:
    def rejecting(request: RecordedRequest) -> Reply | str:
        if "chair" in request.text:
            return Reply(status=400, message="image too large")
        return responder(request)

    with LoopbackServer(rejecting) as server:
        llm = make_llm(server, "openai", tmp_path / "calls.sqlite", batch=fast(reasks="online"))
        reasons = infer_reasons(dataset(), llm)
        assert set(reasons.errors) == {"e2", "e5"}  # the chair episodes
        assert "e2" in reasons.errors["e2"]
        assert "image too large" in reasons.errors["e2"]
        assert server.batches.creates["openai"] == 1  # not resubmitted: a 400 would stay a 400
        assert sum("chair" in r.text for r in server.requests) == 2  # asked online once each


def test_ledger_marks_batch_calls_and_prices_them_at_batch_rates(
    server: LoopbackServer, tmp_path: Path
) -> None:
    llm = make_llm(server, "openai", tmp_path / "calls.sqlite", batch=fast())
    infer_reasons(dataset(), llm)
    frame = llm.ledger.to_frame()
    assert frame["batch"].all()
    table = PriceTable()
    online = sum(
        table.cost(m, i, o)
        for m, i, o in zip(frame.model, frame.input_tokens, frame.output_tokens, strict=False)
    )
    assert frame["cost_usd"].sum() == pytest.approx(online * 0.5)
    assert llm.ledger.summary()["batch_calls"].sum() == len(frame)


def test_a_full_job_is_submitted_mid_round_and_identical_requests_wait_for_it(
    server: LoopbackServer, tmp_path: Path
) -> None:
    from fmviz.providers.batch.session import BatchSession, Deferred

    llm = make_llm(server, "openai", tmp_path / "calls.sqlite")
    session = BatchSession(llm, fast(max_requests=3), backend_for(llm.provider, fast()))
    requests = [build_reason_request(e, load_prompts("generic")) for e in dataset()]
    for request in requests[:3]:
        with pytest.raises(Deferred):
            session.answer(request)
    assert server.batches.creates["openai"] == 1  # submitted before the round ended
    assert session.pending == {}
    with pytest.raises(Deferred):
        session.answer(requests[0])  # in flight: waits, is not queued again
    assert session.pending == {}
    with pytest.raises(Deferred):
        session.answer(requests[3])
    session.flush()  # the 4th goes out now; both jobs are collected
    assert server.batches.creates["openai"] == 2
    assert [len(job.lines) for job in server.batches.jobs.values()] == [3, 1]
    assert all(session.answer(request) is not None for request in requests[:4])
    session.close()
