"""The runner (``LLM``): cache, retries, budget, JSON repair and map, through both real clients."""

from __future__ import annotations

import threading
import time

import pydantic
import pytest

from fmviz.episodes import EpisodeError
from fmviz.providers import (
    AuthError,
    GeminiProvider,
    Image,
    LLMRequest,
    OpenAIProvider,
    ProviderError,
    QuotaError,
    TransientError,
)
from fmviz.providers.cache import CallCache
from fmviz.providers.ledger import Ledger, PriceTable
from fmviz.providers.runner import LLM, BudgetExceeded, MalformedOutputError, RunStopped, parse_json_answer
from fmviz.testing import LoopbackServer, Reply, scripted

APIS = ["openai", "gemini"]
KEYS = {"openai": "sk-test-SECRET-0123456789abcdef", "gemini": "AIzaSECRET0123456789abcdef"}


class Answer(pydantic.BaseModel):
    trajectory: str
    failure_reason: str


GOOD = '{"trajectory": "moved left", "failure_reason": "hit the shelf"}'


def _provider(api: str, server: LoopbackServer, **kwargs):
    kwargs.setdefault("timeout", 5.0)
    if api == "openai":
        return OpenAIProvider("gpt-4o-mini", base_url=server.openai_base_url, api_key=KEYS[api], **kwargs)
    return GeminiProvider("gemini-2.5-flash", base_url=server.gemini_base_url, api_key=KEYS[api], **kwargs)


def _llm(api: str, server: LoopbackServer, tmp_path, *, timeout: float = 5.0, **kwargs) -> LLM:
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_max", 2.0)
    kwargs.setdefault("cache", tmp_path / "calls.sqlite")
    return LLM(_provider(api, server, timeout=timeout), **kwargs)


@pytest.mark.parametrize("api", APIS)
def test_plain_answer_is_recorded_in_the_ledger(api, tmp_path):
    with LoopbackServer(lambda r: Reply(text="hello", input_tokens=1000, output_tokens=100)) as server:
        llm = _llm(api, server, tmp_path)
        response = llm.generate(LLMRequest("hi", stage="reasons", episode_id="ep1"))
    assert response.text == "hello"
    assert not response.cached
    row = llm.ledger.to_frame().iloc[0]
    assert (row.stage, row.episode_id, row.input_tokens, row.output_tokens) == ("reasons", "ep1", 1000, 100)
    expected = PriceTable().cost(llm.provider.model, 1000, 100)
    assert row.cost_usd == pytest.approx(expected)
    assert expected > 0
    assert llm.calls_made == 1


@pytest.mark.parametrize("api", APIS)
def test_images_reach_the_server_through_llm(api, tmp_path):
    frames = tuple(Image(bytes([i]) * 20) for i in range(3))
    with LoopbackServer(lambda r: GOOD) as server:
        answer, _ = _llm(api, server, tmp_path).generate_json(LLMRequest("explain", images=frames), Answer)
    assert answer.failure_reason == "hit the shelf"
    assert server.requests[0].images == [f.data for f in frames]


@pytest.mark.parametrize("api", APIS)
def test_schema_answer_is_parsed_and_schema_sent(api, tmp_path):
    with LoopbackServer(lambda r: f"```json\n{GOOD}\n```") as server:
        answer, response = _llm(api, server, tmp_path).generate_json(LLMRequest("explain"), Answer)
    assert answer == Answer(trajectory="moved left", failure_reason="hit the shelf")
    assert response.text.startswith("```json")
    body = server.requests[0].body
    sent = (
        body["response_format"]["json_schema"]["schema"]
        if api == "openai"
        else body["generationConfig"]["responseJsonSchema"]
    )
    assert sent == Answer.model_json_schema()


@pytest.mark.parametrize("api", APIS)
def test_malformed_json_is_repaired_by_reasking_with_the_error(api, tmp_path):
    with LoopbackServer(scripted(['{"trajectory": "moved left"}', GOOD])) as server:
        llm = _llm(api, server, tmp_path)
        answer, _ = llm.generate_json(LLMRequest("explain", episode_id="ep7"), Answer)
    assert answer.failure_reason == "hit the shelf"
    assert server.count == 2
    repair = server.requests[1]
    assert "failure_reason: Field required" in repair.prompt
    assert '{"trajectory": "moved left"}' in repair.text  # the bad answer is in the history
    assert "explain" in repair.text


@pytest.mark.parametrize("api", APIS)
def test_truncated_json_is_repaired(api, tmp_path):
    truncated = Reply(text='{"trajectory": "moved le', finish_reason="length")
    with LoopbackServer(scripted([truncated, GOOD])) as server:
        llm = _llm(api, server, tmp_path)
        answer, _ = llm.generate_json(LLMRequest("explain", max_output_tokens=50), Answer)
    assert answer.trajectory == "moved left"
    assert "cut off" in server.requests[1].prompt
    limit = (
        server.requests[1].body["max_tokens"]
        if api == "openai"
        else server.requests[1].body["generationConfig"]["maxOutputTokens"]
    )
    assert limit == 100


@pytest.mark.parametrize("api", APIS)
def test_exhausted_repairs_raise_naming_the_episode(api, tmp_path):
    with LoopbackServer(lambda r: "I cannot answer in JSON, sorry") as server:
        llm = _llm(api, server, tmp_path, max_repairs=2)
        with pytest.raises(MalformedOutputError, match="episode 'ep42'") as info:
            llm.generate_json(LLMRequest("explain", episode_id="ep42"), Answer)
    assert server.count == 3
    assert info.value.episode_id == "ep42"
    assert "sorry" in info.value.last_text


@pytest.mark.parametrize("api", APIS)
def test_check_rejection_triggers_a_repair(api, tmp_path):
    other = '{"trajectory": "moved left", "failure_reason": "gripper slipped"}'
    with LoopbackServer(scripted([GOOD, other])) as server:
        llm = _llm(api, server, tmp_path)
        answer, _ = llm.generate_json(
            LLMRequest("explain"),
            Answer,
            check=lambda a: "mention the gripper" if "gripper" not in a.failure_reason else None,
        )
    assert answer.failure_reason == "gripper slipped"
    assert "mention the gripper" in server.requests[1].prompt


@pytest.mark.parametrize("api", APIS)
def test_repaired_answers_replay_from_cache(api, tmp_path):
    with LoopbackServer(scripted(["not json", GOOD])) as server:
        _llm(api, server, tmp_path).generate_json(LLMRequest("explain"), Answer)
        rerun = _llm(api, server, tmp_path)
        answer, response = rerun.generate_json(LLMRequest("explain"), Answer)
    assert server.count == 2
    assert rerun.calls_made == 0
    assert response.cached
    assert answer.trajectory == "moved left"


@pytest.mark.parametrize("api", APIS)
def test_429_waits_for_retry_after(api, tmp_path):
    with LoopbackServer(scripted([Reply(status=429, retry_after=0.6), "ok"])) as server:
        llm = _llm(api, server, tmp_path)
        started = time.monotonic()
        response = llm.generate(LLMRequest("x"))
        elapsed = time.monotonic() - started
    assert response.text == "ok"
    assert server.count == 2
    assert elapsed >= 0.6


@pytest.mark.parametrize("api", APIS)
def test_server_error_then_success(api, tmp_path):
    with LoopbackServer(scripted([Reply(status=500), Reply(status=503), "ok"])) as server:
        llm = _llm(api, server, tmp_path)
        assert llm.generate(LLMRequest("x")).text == "ok"
    assert server.count == 3
    assert llm.calls_made == 3
    assert len(llm.ledger) == 1


@pytest.mark.parametrize("api", APIS)
def test_timeout_then_success(api, tmp_path):
    with LoopbackServer(scripted([Reply(text="late", delay=2.0), "on time"])) as server:
        llm = _llm(api, server, tmp_path, timeout=0.3)
        assert llm.generate(LLMRequest("x")).text == "on time"
    assert server.count == 2


@pytest.mark.parametrize("api", APIS)
def test_transient_errors_give_up_after_max_retries(api, tmp_path):
    with LoopbackServer(lambda r: Reply(status=500)) as server:
        llm = _llm(api, server, tmp_path, max_retries=2)
        with pytest.raises(TransientError, match="gave up after 3 attempts"):
            llm.generate(LLMRequest("x", episode_id="e1"))
    assert server.count == 3


@pytest.mark.parametrize("api", APIS)
def test_auth_error_fails_fast_naming_the_env_var(api, tmp_path):
    with LoopbackServer(lambda r: Reply(status=401)) as server:
        llm = _llm(api, server, tmp_path)
        with pytest.raises(AuthError) as info:
            llm.generate(LLMRequest("x"))
    assert server.count == 1
    assert ("OPENAI_API_KEY" if api == "openai" else "GEMINI_API_KEY") in str(info.value)


@pytest.mark.parametrize("api", APIS)
def test_quota_error_fails_fast(api, tmp_path):
    with LoopbackServer(lambda r: Reply(status=429, quota=True)) as server:
        llm = _llm(api, server, tmp_path)
        with pytest.raises(QuotaError):
            llm.generate(LLMRequest("x"))
    assert server.count == 1


@pytest.mark.parametrize("api", APIS)
def test_budget_cap_stops_before_overspending(api, tmp_path):
    # 1000 in + 1000 out tokens at $1 per 1M each = $0.002 per call; cap $0.007 -> 3 calls.
    prices = PriceTable({"gpt-4o-mini": (1.0, 1.0), "gemini-2.5-flash": (1.0, 1.0)})
    with LoopbackServer(lambda r: Reply(text="ok", input_tokens=1000, output_tokens=1000)) as server:
        llm = _llm(api, server, tmp_path, budget_usd=0.007, prices=prices, ledger=Ledger(prices))
        request = LLMRequest("x" * 4000, max_output_tokens=1000)
        for i in range(3):
            llm.generate(LLMRequest(request.prompt, max_output_tokens=1000, extra=(("i", i),)))
        with pytest.raises(BudgetExceeded, match="budget"):
            llm.generate(LLMRequest(request.prompt, max_output_tokens=1000, extra=(("i", 3),)))
    assert llm.calls_made == 3
    assert server.count == 3
    assert llm.ledger.total_cost == pytest.approx(0.006)
    assert llm.ledger.total_cost <= 0.007


@pytest.mark.parametrize("api", APIS)
def test_budget_cap_holds_under_concurrency(api, tmp_path):
    prices = PriceTable({"gpt-4o-mini": (1.0, 1.0), "gemini-2.5-flash": (1.0, 1.0)})
    reply = Reply(text="ok", input_tokens=1000, output_tokens=1000, delay=0.05)
    with LoopbackServer(lambda r: reply) as server:
        llm = _llm(
            api, server, tmp_path, budget_usd=0.011, prices=prices, ledger=Ledger(prices), concurrency=8
        )
        requests = [LLMRequest("x" * 4000, max_output_tokens=1000, extra=(("i", i),)) for i in range(20)]
        with pytest.raises(RunStopped) as info:
            llm.map(requests, llm.generate, key=lambda r: r.extra[0][1])
    assert isinstance(info.value.__cause__, BudgetExceeded)
    assert llm.ledger.total_cost <= 0.011
    assert server.count == len(info.value.partial.results) == 5


@pytest.mark.parametrize("api", APIS)
def test_cache_hit_makes_no_new_requests(api, tmp_path):
    with LoopbackServer(lambda r: Reply(text="answer", input_tokens=10, output_tokens=5)) as server:
        _llm(api, server, tmp_path).generate(LLMRequest("same question", images=(Image(b"img"),)))
        again = _llm(api, server, tmp_path)
        response = again.generate(LLMRequest("same question", images=(Image(b"img"),)))
        changed = again.generate(LLMRequest("same question", images=(Image(b"other"),)))
    assert response.cached
    assert response.text == "answer"
    assert (response.input_tokens, response.output_tokens) == (10, 5)
    assert not changed.cached
    assert server.count == 2
    frame = again.ledger.to_frame()
    assert list(frame["cached"]) == [True, False]
    assert frame["cost_usd"].iloc[0] == 0


@pytest.mark.parametrize("api", APIS)
def test_cache_false_always_calls(api, tmp_path):
    with LoopbackServer() as server:
        llm = _llm(api, server, tmp_path, cache=False)
        llm.generate(LLMRequest("x"))
        llm.generate(LLMRequest("x"))
    assert llm.cache is None
    assert server.count == 2


@pytest.mark.parametrize("api", APIS)
def test_resume_after_auth_failure_only_pays_for_missing_items(api, tmp_path):
    served = []
    lock = threading.Lock()

    def failing_after_ten(request):
        with lock:
            served.append(request.prompt)
            if len(served) > 10:
                return Reply(status=401)
        return Reply(text=f'{{"trajectory": "t", "failure_reason": "{request.prompt}"}}', delay=0.02)

    episodes = [f"episode-{i:02d}" for i in range(20)]

    def explain(llm, episode):
        return llm.generate_json(LLMRequest(episode, episode_id=episode), Answer)[0].failure_reason

    with LoopbackServer(failing_after_ten) as server:
        llm = _llm(api, server, tmp_path, concurrency=4)
        with pytest.raises(RunStopped) as info:
            llm.map(episodes, lambda e: explain(llm, e), desc="test", key=str)
        partial = info.value.partial
        assert isinstance(info.value.__cause__, AuthError)
        assert len(partial.results) == 10
        assert all(partial.results[k] == k for k in partial.results)
        assert list(partial.results) == [e for e in episodes if e in partial.results]  # input order

        # The same endpoint, healthy again (cache keys include the server URL), fresh process state.
        server.responder = lambda r: f'{{"trajectory": "t", "failure_reason": "{r.prompt}"}}'
        server.reset()
        rerun = _llm(api, server, tmp_path, concurrency=4)
        outcome = rerun.map(episodes, lambda e: explain(rerun, e), key=str)
    assert server.count == rerun.calls_made == 10
    assert sorted(r.prompt for r in server.requests) == sorted(set(episodes) - set(partial.results))
    assert list(outcome.results) == episodes
    assert outcome.ok


@pytest.mark.parametrize("api", APIS)
def test_map_collects_item_errors_and_goes_on(api, tmp_path):
    def responder(request):
        return "no json here" if request.text.startswith("bad") else GOOD

    def explain(llm, name):
        if name == "corrupt":
            raise EpisodeError(name, "video cannot be decoded")
        return llm.generate_json(LLMRequest(name, episode_id=name), Answer)[0]

    names = ["a", "bad", "corrupt", "b"]
    with LoopbackServer(responder) as server:
        llm = _llm(api, server, tmp_path, max_repairs=1)
        outcome = llm.map(names, lambda n: explain(llm, n), key=str)
    assert list(outcome.results) == ["a", "b"]
    assert set(outcome.errors) == {"bad", "corrupt"}
    assert "episode 'bad'" in outcome.errors["bad"]
    assert "video cannot be decoded" in outcome.errors["corrupt"]
    assert not outcome.ok
    assert list(outcome.errors_frame()["error"]) == ["MalformedOutputError", "EpisodeError"]


def test_map_stops_on_an_unexpected_bug_and_keeps_finished_work(tmp_path):
    def fn(i):
        if i == 3:
            raise KeyError("bug")
        return i * 2

    with LoopbackServer() as server:
        llm = _llm("openai", server, tmp_path, concurrency=1)
        with pytest.raises(RunStopped) as info:
            llm.map(range(10), fn)
    assert info.value.partial.results == {0: 0, 1: 2, 2: 4}
    assert info.value.partial.skipped == list(range(4, 10))
    assert isinstance(info.value.__cause__, KeyError)


@pytest.mark.parametrize("api", APIS)
def test_concurrency_is_bounded(api, tmp_path):
    active, peak = [0], [0]
    lock = threading.Lock()

    def responder(request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return "ok"

    with LoopbackServer(responder) as server:
        llm = _llm(api, server, tmp_path, concurrency=3)
        outcome = llm.map(range(12), lambda i: llm.generate(LLMRequest(f"q{i}")).text)
    assert len(outcome.results) == 12
    assert 2 <= peak[0] <= 3


def test_requests_per_minute_spaces_calls(tmp_path):
    with LoopbackServer() as server:
        llm = _llm("openai", server, tmp_path, requests_per_minute=600, concurrency=4)
        started = time.monotonic()
        llm.map(range(5), lambda i: llm.generate(LLMRequest(f"q{i}")))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.4  # 5 calls, 0.1 s apart


def test_rate_limit_pause_holds_other_workers(tmp_path):
    served = []
    lock = threading.Lock()
    limited = threading.Event()

    def responder(request):
        with lock:
            served.append((request.prompt, time.monotonic()))
            first = len(served) == 1
        if first:
            limited.set()
        return Reply(status=429, retry_after=0.5) if first else "ok"

    def ask(prompt):
        if prompt == "late":
            limited.wait(5)
            time.sleep(0.1)  # starts while the other worker is told to wait
        return llm.generate(LLMRequest(prompt)).text

    with LoopbackServer(responder) as server:
        llm = _llm("openai", server, tmp_path, concurrency=2)
        outcome = llm.map(["early", "late"], ask, key=str)
    assert outcome.results == {"early": "ok", "late": "ok"}
    first_429 = served[0][1]
    assert len(served) == 3
    assert all(when - first_429 >= 0.45 for _, when in served[1:])


@pytest.mark.parametrize("api", APIS)
def test_api_key_never_written_to_cache_or_ledger(api, tmp_path):
    with LoopbackServer(lambda r: GOOD) as server:
        llm = _llm(api, server, tmp_path)
        llm.generate_json(LLMRequest("explain", stage="reasons", episode_id="e1"), Answer)
        server.responder = lambda r: Reply(status=401, message=f"bad key {KEYS[api]}")
        with pytest.raises(AuthError) as info:
            llm.generate(LLMRequest("other"))
        ledger_file = llm.ledger.save(tmp_path / "ledger.jsonl")
        llm.close()
    key = KEYS[api].encode()
    assert KEYS[api] not in str(info.value)
    for path in tmp_path.iterdir():
        assert key not in path.read_bytes(), path
    assert key not in ledger_file.read_bytes()
    assert KEYS[api] not in llm.ledger.to_frame().to_csv()


def test_parse_json_answer_is_tolerant():
    wrapped = f"Sure! Here it is:\n```json\n{GOOD}\n```\nAnything else?"
    assert parse_json_answer(wrapped, Answer).trajectory == "moved left"
    assert parse_json_answer(f"prefix {GOOD} suffix", Answer).failure_reason == "hit the shelf"
    with pytest.raises(ValueError, match="no JSON object"):
        parse_json_answer("nothing", Answer)
    with pytest.raises(pydantic.ValidationError):
        parse_json_answer('{"trajectory": 1}', Answer)


def test_default_cache_path_comes_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FMVIZ_CACHE", str(tmp_path / "env.sqlite"))
    with LoopbackServer() as server:
        llm = LLM(_provider("openai", server))
        llm.generate(LLMRequest("x"))
    assert llm.cache is not None
    assert llm.cache.path == tmp_path / "env.sqlite"
    assert len(CallCache(tmp_path / "env.sqlite")) == 1


def test_estimate_counts_cached_requests_as_free(tmp_path):
    with LoopbackServer() as server:
        llm = _llm("openai", server, tmp_path)
        llm.generate(LLMRequest("a" * 400, stage="reasons"))
        frame = llm.estimate(
            [LLMRequest("a" * 400, stage="reasons"), LLMRequest("b" * 400, stage="reasons")],
            expected_output_tokens=100,
        )
    row = frame.set_index("stage").loc["reasons"]
    assert (row.calls, row.cached) == (2, 1)
    assert row.cost_usd == pytest.approx(PriceTable().cost("gpt-4o-mini", 100, 100))


def test_provider_error_is_not_retried(tmp_path):
    with LoopbackServer(lambda r: Reply(status=400)) as server:
        llm = _llm("openai", server, tmp_path)
        with pytest.raises(ProviderError) as info:
            llm.generate(LLMRequest("x"))
    assert not isinstance(info.value, TransientError)
    assert server.count == 1


# -- hardening: failed answers, prompt cap, key checks, key fragments ---------------------------


@pytest.mark.parametrize("api", APIS)
def test_answers_that_failed_validation_are_asked_again_on_a_rerun(api, tmp_path):
    with LoopbackServer(lambda r: Reply(text="not json at all")) as server:
        llm = _llm(api, server, tmp_path, max_repairs=1)
        with pytest.raises(MalformedOutputError):
            llm.generate_json(LLMRequest("why", episode_id="e1"), Answer)
        bad_calls = server.count
        server.responder = lambda r: Reply(text=GOOD)
        answer, _ = _llm(api, server, tmp_path, max_repairs=1).generate_json(
            LLMRequest("why", episode_id="e1"), Answer
        )
    assert bad_calls == 2
    assert server.count == 3  # the rerun asked the provider again instead of replaying the bad answer
    assert answer.failure_reason == "hit the shelf"


@pytest.mark.parametrize("api", APIS)
def test_replay_failed_replays_the_failed_exchange_offline(api, tmp_path):
    with LoopbackServer(lambda r: Reply(text="not json at all")) as server:
        llm = _llm(api, server, tmp_path, max_repairs=1)
        with pytest.raises(MalformedOutputError):
            llm.generate_json(LLMRequest("why", episode_id="e1"), Answer)
        server.reset()
        server.responder = lambda r: Reply(text=GOOD)
        replaying = _llm(api, server, tmp_path, max_repairs=1, replay_failed=True)
        with pytest.raises(MalformedOutputError, match="e1"):
            replaying.generate_json(LLMRequest("why", episode_id="e1"), Answer)
    assert server.count == 0


@pytest.mark.parametrize("api", APIS)
def test_a_megabyte_prompt_is_refused_with_a_clear_error_and_never_sent(api, tmp_path):
    from fmviz.errors import PromptTooLargeError

    with LoopbackServer(lambda r: Reply(text="x")) as server:
        llm = _llm(api, server, tmp_path, max_prompt_tokens=50_000)
        requests = [LLMRequest("y" * 1_000_000, episode_id="huge"), LLMRequest("small", episode_id="ok")]
        outcome = llm.map(requests, llm.generate, key=lambda r: r.episode_id)
    assert server.count == 1
    assert list(outcome.results) == ["ok"]
    assert isinstance(outcome.exceptions["huge"], PromptTooLargeError)
    assert "episode 'huge'" in outcome.errors["huge"]
    assert "max_prompt_tokens" in outcome.errors["huge"]


def test_check_ready_reports_a_missing_key_for_every_provider_before_any_call(monkeypatch, tmp_path):
    for variable in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(AuthError, match="GEMINI_API_KEY"):
        LLM(GeminiProvider("gemini-2.5-pro"), cache=False).check_ready()
    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        LLM(OpenAIProvider("o4-mini"), cache=False).check_ready()
    # local servers need no key
    LLM(OpenAIProvider("llama3", base_url="http://127.0.0.1:9/v1"), cache=False).check_ready()
    LLM(GeminiProvider("g", base_url="http://127.0.0.1:9"), cache=False).check_ready()


@pytest.mark.parametrize("api", APIS)
def test_a_partly_echoed_key_never_reaches_the_error(api, tmp_path):
    key = KEYS[api]
    echoed = f"{key[:8]}...{key[-3:]}"
    with LoopbackServer(lambda r: Reply(status=400, message=f"API key {echoed} is not valid")) as server:
        llm = _llm(api, server, tmp_path)
        outcome = llm.map([LLMRequest("q", episode_id="e1")], llm.generate, key=lambda r: r.episode_id)
    message = outcome.errors["e1"]
    assert "is not valid" in message
    assert key[:8] not in message
    assert key[-3:] + " " not in message
    assert "***" in message


def test_redaction_masks_fragments_and_key_shapes_but_not_prose():
    from fmviz.providers._common import redact

    secret = "AIza-SECRET-0123456789"
    assert redact("bad key AIza-SEC...789 given", secret) == "bad key *** given"
    assert redact("key sk-pro****wxyz rejected", None) == "key *** rejected"
    assert redact("someone else's AIzaSyDUMMYDUMMYDUMMY12 leaked", secret) == "someone else's *** leaked"
    assert "SECRET-0123" not in redact("prefix AIza-SECRET-0123 only", secret)
    assert redact("the robot waited... then turned", secret) == "the robot waited... then turned"
