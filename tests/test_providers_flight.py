"""Single-flight: identical requests in flight are paid once, in one process and across several."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time

from fmviz.providers import LLMRequest, LLMResponse, OpenAIProvider, TransientError
from fmviz.providers.cache import CallCache
from fmviz.providers.flight import SingleFlight
from fmviz.providers.runner import LLM
from fmviz.testing import LoopbackServer, Reply


def _llm(server: LoopbackServer, cache, **kwargs) -> LLM:
    provider = OpenAIProvider("gpt-4o-mini", base_url=server.openai_base_url, api_key="sk-test", timeout=10)
    return LLM(provider, cache=cache, backoff_base=0.01, backoff_max=0.1, **kwargs)


def test_identical_requests_in_flight_at_once_are_sent_once(tmp_path):
    with LoopbackServer(lambda r: Reply(text=f"answer to {r.prompt}", delay=0.3)) as server:
        llm = _llm(server, tmp_path / "c.sqlite", concurrency=16)
        # 100 episodes, each narrative twice: 200 requests, 100 distinct bodies
        requests = [LLMRequest(f"narrative {i // 2}", episode_id=f"e{i}") for i in range(200)]
        outcome = llm.map(requests, llm.generate, key=lambda r: r.episode_id)
    assert server.count == 100
    assert len(outcome.results) == 200
    assert all(outcome.results[f"e{i}"].text == f"answer to narrative {i // 2}" for i in range(200))
    ledger = llm.ledger.to_frame()
    assert int((~ledger["cached"]).sum()) == 100  # paid once per distinct body


def test_single_flight_shares_the_leaders_exception():
    flight = SingleFlight()
    started, release = threading.Event(), threading.Event()
    errors: dict[str, BaseException] = {}
    called: list[str] = []

    def failing() -> LLMResponse:
        called.append("leader")
        started.set()
        release.wait(5)
        raise TransientError("gave up")

    def run(name: str, call) -> None:
        try:
            flight.run("k", call)
        except TransientError as exc:
            errors[name] = exc

    leader = threading.Thread(target=run, args=("leader", failing))
    leader.start()
    started.wait(5)
    follower = threading.Thread(target=run, args=("follower", lambda: called.append("follower")))
    follower.start()
    time.sleep(0.2)  # the follower is now waiting on the leader's call
    release.set()
    leader.join(5)
    follower.join(5)
    assert called == ["leader"]
    assert set(errors) == {"leader", "follower"}
    assert errors["follower"] is errors["leader"]


_WORKER = textwrap.dedent(
    """
    import json, sys
    from fmviz.providers import LLMRequest, OpenAIProvider
    from fmviz.providers.runner import LLM
    base, cache, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    llm = LLM(OpenAIProvider("gpt-4o-mini", base_url=base, api_key="sk-test", timeout=10),
              cache=cache, concurrency=8, backoff_base=0.01)
    requests = [LLMRequest(f"shared question {i}", episode_id=f"e{i}") for i in range(n)]
    out = llm.map(requests, llm.generate, key=lambda r: r.episode_id)
    paid = int((~llm.ledger.to_frame()["cached"]).sum())
    print(json.dumps({"results": len(out.results), "paid": paid}))
    """
)


def test_two_processes_sharing_a_cache_pay_each_request_once(tmp_path):
    cache = tmp_path / "shared.sqlite"
    CallCache(cache).close()
    with LoopbackServer(lambda r: Reply(text=f"answer to {r.prompt}", delay=0.2)) as server:
        command = [sys.executable, "-c", _WORKER, server.openai_base_url, str(cache), "40"]
        workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        lines = [worker.communicate(timeout=120)[0].strip().splitlines()[-1] for worker in workers]
    outputs = [json.loads(line) for line in lines]
    assert server.count == 40
    assert [o["results"] for o in outputs] == [40, 40]
    assert sum(o["paid"] for o in outputs) == 40


def test_a_claim_left_by_a_killed_process_is_taken_over_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with LoopbackServer(lambda r: Reply(text="fresh answer")) as server:
        llm = _llm(server, path)
        request = LLMRequest("claimed by a dead process")
        key = llm.cache_key(request)
        with llm.cache._lock:  # forge the claim row a SIGKILLed owner leaves behind
            llm.cache._connect().execute(
                "INSERT INTO claims VALUES (?, ?, ?, ?, ?)",
                (key, "ghost", socket.gethostname(), dead.pid, time.time() + 3600),
            )
        started = time.monotonic()
        assert llm.generate(request).text == "fresh answer"
    assert time.monotonic() - started < 2.0
    assert server.count == 1


def test_a_live_owners_claim_is_waited_for_and_its_answer_shared(tmp_path):
    path = tmp_path / "c.sqlite"
    other = CallCache(path)  # another process's view of the same file
    with LoopbackServer(lambda r: Reply(text="should not be asked")) as server:
        llm = _llm(server, path)
        request = LLMRequest("being answered elsewhere")
        key = llm.cache_key(request)
        assert other.claim(key, lease=30)

        def answer_elsewhere() -> None:
            time.sleep(0.3)
            other.put(key, LLMResponse("answered elsewhere", model="gpt-4o-mini"), "openai:gpt-4o-mini")
            other.release(key)

        threading.Thread(target=answer_elsewhere).start()
        response = llm.generate(request)
    assert response.text == "answered elsewhere"
    assert response.cached
    assert server.count == 0


def test_an_expired_claim_is_taken_over(tmp_path):
    path = tmp_path / "c.sqlite"
    other = CallCache(path)
    with LoopbackServer(lambda r: Reply(text="asked after the lease ran out")) as server:
        llm = _llm(server, path)
        request = LLMRequest("stale claim")
        assert other.claim(llm.cache_key(request), lease=0.3)
        assert llm.generate(request).text == "asked after the lease ran out"
    assert server.count == 1
