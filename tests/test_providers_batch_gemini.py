"""Gemini's batch mode through the official ``google-genai`` client: inline jobs and file jobs.

Against the loopback server's ``batchGenerateContent``, ``batches/{id}``, resumable upload and
file download endpoints: inline requests carry what ``generateContent`` sends online, large
jobs go as an uploaded JSONL file (the client's resumable upload protocol) with the same
answers, results are read from inlined responses and from the result file, and error lines
are told from missing ones. Answers are scripted (``tests/_batch.py``), episodes SYNTHETIC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _batch import dataset, fast, make_llm, online_baseline, responder, run_stages, summary

from fmviz.prompts import load_prompts
from fmviz.providers.batch.core import backend_for
from fmviz.providers.batch.gemini_batch import GeminiBatch
from fmviz.stages import infer_reasons
from fmviz.stages.reasons import build_reason_request
from fmviz.testing import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(responder) as running:
        yield running


def test_inline_requests_carry_what_online_sends(server: LoopbackServer, tmp_path: Path) -> None:
    online = make_llm(server, "gemini", tmp_path / "online.sqlite")
    infer_reasons(dataset(), online)
    sent_online = {r.prompt: r for r in server.requests}
    batch = make_llm(server, "gemini", tmp_path / "batch.sqlite", batch=fast())
    infer_reasons(dataset(), batch)
    job = next(iter(server.batches.jobs.values()))
    assert job.input_file is None  # small: inline
    assert len(job.lines) == 7
    for line in server.batches.lines[:7]:
        twin = sent_online[line.prompt]
        assert (line.system, line.text) == (twin.system, twin.text)
        assert line.body["generationConfig"] == twin.body["generationConfig"]
        assert line.body["systemInstruction"] == twin.body["systemInstruction"]


def test_file_jobs_upload_jsonl_and_read_the_result_file(server: LoopbackServer, tmp_path: Path) -> None:
    expected = online_baseline("gemini", tmp_path)
    llm = make_llm(server, "gemini", tmp_path / "calls.sqlite", batch=fast(gemini_input="file"))
    assert summary(*run_stages(llm)) == expected
    assert server.count == 0
    jobs = list(server.batches.jobs.values())
    assert all(job.input_file and job.input_file.startswith("files/in") for job in jobs)
    assert all(job.output_file for job in jobs)
    uploaded = server.batches.files[jobs[0].input_file or ""][1].decode().splitlines()
    first = json.loads(uploaded[0])
    assert set(first) == {"key", "request"}
    assert first["request"]["generationConfig"]["responseMimeType"] == "application/json"
    assert "responseJsonSchema" in first["request"]["generationConfig"]


def test_auto_input_switches_to_a_file_above_the_inline_limit(server: LoopbackServer, tmp_path: Path) -> None:
    llm = make_llm(server, "gemini", tmp_path / "calls.sqlite")
    requests = [("k", build_reason_request(e, load_prompts("generic"))) for e in dataset()]
    small = backend_for(llm.provider, fast())
    large = backend_for(llm.provider, fast(inline_max_bytes=100))
    assert isinstance(small, GeminiBatch)
    assert isinstance(large, GeminiBatch)
    assert not small.uses_file(requests)
    assert large.uses_file(requests)


@pytest.mark.parametrize("source", ["inline", "file"])
def test_partial_results_tell_error_lines_from_missing_ones(
    server: LoopbackServer, tmp_path: Path, source: str
) -> None:
    llm = make_llm(server, "gemini", tmp_path / "calls.sqlite")
    backend = backend_for(llm.provider, fast(gemini_input=source))
    requests = [build_reason_request(e, load_prompts("generic")) for e in dataset()][:4]
    entries = [(f"k{i}", request) for i, request in enumerate(requests)]
    server.batches.script(["partial"])
    job_id = backend.submit(entries, "test")
    assert job_id.startswith("batches/")
    assert backend.poll(job_id).state == "running"
    status = backend.poll(job_id)
    assert status.state == "completed"
    answers, errors = backend.collect(status, [k for k, _ in entries])
    assert set(answers) == {"k0", "k3"}
    assert set(errors) == {"k1"}
    assert errors["k1"].status == 500
    assert json.loads(answers["k0"].text)["failure_reason"].startswith("cause: ")
    assert answers["k0"].input_tokens > 0


def test_failed_and_expired_jobs_report_their_state(server: LoopbackServer, tmp_path: Path) -> None:
    llm = make_llm(server, "gemini", tmp_path / "calls.sqlite")
    backend = backend_for(llm.provider, fast())
    requests = [build_reason_request(e, load_prompts("generic")) for e in dataset()][:2]
    entries = [("k0", requests[0]), ("k1", requests[1])]
    server.batches.script(["failed", "expired"])
    job_id = backend.submit(entries, "test")
    backend.poll(job_id)
    status = backend.poll(job_id)
    assert status.state == "failed"
    assert backend.collect(status, ["k0", "k1"]) == ({}, {})

    job_id = backend.submit(entries, "test")
    backend.poll(job_id)
    status = backend.poll(job_id)
    assert status.state == "expired"
    answers, errors = backend.collect(status, ["k0", "k1"])
    assert set(answers) == {"k0"}  # the first half ran before the job expired
    assert "could not be executed" in errors["k1"].message
