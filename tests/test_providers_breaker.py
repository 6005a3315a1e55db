"""The circuit breaker: a dead endpoint stops a run in seconds; random faults never trip it."""

from __future__ import annotations

import random
import time

import pytest

from fmviz.providers import GeminiProvider, LLMRequest, OpenAIProvider, RateLimitError, TransientError
from fmviz.providers.breaker import CircuitBreaker, EndpointDown, failure_kind
from fmviz.providers.runner import LLM, RunStopped
from fmviz.testing import FAULTS, LoopbackServer, closed_port, faulty

APIS = ["openai", "gemini"]


def _provider(api: str, base: str, timeout: float = 2.0):
    if api == "openai":
        return OpenAIProvider("gpt-4o-mini", base_url=f"{base}/v1", api_key="sk-test", timeout=timeout)
    return GeminiProvider("gemini-2.5-flash", base_url=base, api_key="AIza-test", timeout=timeout)


@pytest.mark.parametrize("api", APIS)
def test_a_closed_port_stops_the_run_within_seconds_naming_the_endpoint(api, tmp_path):
    base = f"http://127.0.0.1:{closed_port()}"
    llm = LLM(_provider(api, base), cache=tmp_path / "c.sqlite", backoff_base=1.0, max_retries=6)
    requests = [LLMRequest(f"question {i}", episode_id=f"e{i}") for i in range(32)]
    started = time.monotonic()
    with pytest.raises(RunStopped) as stopped:
        llm.map(requests, llm.generate, key=lambda r: r.episode_id)
    seconds = time.monotonic() - started
    assert seconds < 10
    assert isinstance(stopped.value.__cause__, EndpointDown)
    message = str(stopped.value)
    assert "127.0.0.1" in message
    assert "looks down" in message
    assert "rerun" in message
    assert "\n" not in message


@pytest.mark.parametrize("api", APIS)
def test_a_server_that_returns_502_to_everything_is_declared_down(api, tmp_path):
    from fmviz.testing import Reply

    with LoopbackServer(lambda request: Reply(status=502)) as server:
        base = server.openai_base_url.removesuffix("/v1")
        llm = LLM(_provider(api, base), cache=False, backoff_base=0.01, backoff_max=0.05, max_retries=50)
        with pytest.raises(EndpointDown, match="status 502"):
            llm.generate(LLMRequest("q"))
    assert server.count == llm.breaker.same_limit


@pytest.mark.parametrize("api", APIS)
def test_thirty_percent_random_faults_never_trip_the_breaker(api, tmp_path):
    kinds = [kind for kind in FAULTS if kind not in ("hang", "garbage", "truncated")]  # transport faults
    responder = faulty(lambda request: "fine", rate=0.3, kinds=kinds, retry_after=0.01, seed=7)
    with LoopbackServer(responder) as server:
        base = server.openai_base_url.removesuffix("/v1")
        llm = LLM(_provider(api, base), cache=False, backoff_base=0.01, backoff_max=0.05, max_retries=20)
        requests = [LLMRequest(f"q{i}", episode_id=f"e{i}") for i in range(120)]
        outcome = llm.map(requests, llm.generate, key=lambda r: r.episode_id)
    assert len(outcome.results) == 120
    assert not llm.breaker.is_open
    assert sum(responder.injected.values()) > 20  # faults really were injected


def test_failure_kinds_group_what_a_dead_server_repeats():
    assert failure_kind(TransientError("x: connection failed (Connection refused)")) == "refused"
    assert failure_kind(TransientError("x: timed out after 5 s")) == "timeout"
    assert failure_kind(TransientError("x: server error 503: overloaded")) == "status 503"
    assert failure_kind(RateLimitError("x: rate limited (429)")) is None


def test_a_success_resets_the_streak():
    breaker = CircuitBreaker("e", refused_limit=3)
    refused = TransientError("connection failed (Connection refused)")
    for _ in range(50):
        breaker.record_failure(refused)
        breaker.record_failure(refused)
        breaker.record_success()
    assert not breaker.is_open
    breaker.record_failure(refused)
    breaker.record_failure(refused)
    breaker.record_failure(refused)
    assert breaker.is_open
    with pytest.raises(EndpointDown, match="3 calls in a row"):
        breaker.check()


def test_mixed_random_failures_do_not_open_the_breaker():
    draw = random.Random(3)
    breaker = CircuitBreaker("e")
    messages = ["timed out", "server error 500", "server error 502", "connection reset", "rate limited"]
    for _ in range(5000):
        if draw.random() < 0.3:
            message = draw.choice(messages)
            error = RateLimitError(message) if "rate" in message else TransientError(message)
            breaker.record_failure(error)
        else:
            breaker.record_success()
    assert not breaker.is_open


def test_an_open_breaker_wakes_a_sleeping_backoff_at_once():
    breaker = CircuitBreaker("e", refused_limit=1)
    breaker.record_failure(TransientError("Connection refused"))
    started = time.monotonic()
    with pytest.raises(EndpointDown):
        breaker.wait(30.0)
    assert time.monotonic() - started < 1.0
