"""The loopback server's fault injection, through the real OpenAI client."""

from __future__ import annotations

import openai
import pytest

from fmviz.testing import FAULTS, LoopbackServer, Reply, closed_port, faulty


def _client(server: LoopbackServer, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0, timeout=timeout)


def _ask(client: openai.OpenAI) -> str:
    completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    return completion.choices[0].message.content or ""


def test_a_reset_reply_drops_the_connection():
    with LoopbackServer(lambda r: Reply(reset=True)) as server, pytest.raises(openai.APIConnectionError):
        _ask(_client(server))


def test_faults_are_injected_at_the_rate_asked_and_counted():
    responder = faulty(lambda r: '{"ok": true}', rate=0.3, kinds=["500", "garbage", "truncated"], seed=2)
    outcomes = {"500": 0, "answer": 0, "garbage": 0, "truncated": 0}
    with LoopbackServer(responder) as server:
        client = _client(server)
        for _ in range(200):
            try:
                text = _ask(client)
            except openai.InternalServerError:
                outcomes["500"] += 1
                continue
            key = "answer" if text == '{"ok": true}' else "garbage" if "Bad Gateway" in text else "truncated"
            outcomes[key] += 1
    assert outcomes["500"] == responder.injected["500"]
    assert outcomes["garbage"] == responder.injected["garbage"]
    assert outcomes["truncated"] == responder.injected["truncated"]
    assert 40 <= sum(responder.injected.values()) <= 80  # 30% of 200, give or take


def test_a_hang_outlasts_the_client_timeout():
    responder = faulty(lambda r: "ok", rate=1.0, kinds=["hang"], hang_s=3.0)
    with LoopbackServer(responder) as server, pytest.raises(openai.APITimeoutError):
        _ask(_client(server, timeout=0.3))


def test_unknown_fault_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        faulty(lambda r: "ok", kinds=["meteor"])
    assert "reset" in FAULTS


def test_closed_port_refuses_connections():
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        _ask(client)
