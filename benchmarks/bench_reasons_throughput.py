"""Stage-1 throughput and cache replay against a loopback server with 200 ms latency.

Stage 1 is one model call per episode, so on a real provider its wall time is set by
latency and concurrency, not by fmviz. This benchmark checks that fmviz's wrapper (the
thread pool, the SQLite cache, the ledger, JSON validation) does not eat into that:

* ``infer_reasons`` runs 500 synthetic text-only episodes through the real OpenAI client
  against a loopback server that answers each request after 200 ms, with concurrency 16.
  The ideal is 16 / 0.2 s = 80 requests/s; we report the measured rate as a ratio of it.
* Baseline in the same run: the bare ``openai`` client called from 16 threads on the same
  server (no fmviz at all), to show what the machine itself allows.
* Diagnostic: the median round trip of a zero-delay request through the bare client, the
  harness's own per-request cost (tens of ms here means a TCP/Nagle stall in the harness,
  not in fmviz).
* A second ``infer_reasons`` over the same episodes with the same cache must send zero
  requests.

The episodes and the server's answers are synthetic (scripted), not real model output.

Run: ``python benchmarks/bench_reasons_throughput.py``. The last line is one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

try:
    import fmviz  # noqa: F401
except ModuleNotFoundError:  # run from a clone without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmviz.episodes import Dataset, Episode
from fmviz.llm import LLM
from fmviz.providers.openai import OpenAIProvider
from fmviz.stages import infer_reasons
from fmviz.testing import LoopbackServer, RecordedRequest, Reply

EPISODES = 500
LATENCY_S = 0.2
CONCURRENCY = 16
BASELINE_REQUESTS = 160
TARGET_RATIO = 0.8


def responder(request: RecordedRequest) -> Reply:
    """Scripted stage-1 answer after a fixed latency (synthetic)."""
    tag = (
        request.prompt.rsplit("synthetic case ", 1)[-1].split()[0]
        if "synthetic case" in request.prompt
        else "?"
    )
    text = json.dumps(
        {"trajectory": f"synthetic trajectory {tag}", "failure_reason": f"synthetic failure reason {tag}"}
    )
    return Reply(text=text, delay=0.0 if "zero-delay probe" in request.prompt else LATENCY_S)


def synthetic_dataset(n: int) -> Dataset:
    episodes = [
        Episode(
            f"syn-{i:04d}",
            narrative=f"synthetic case {i}: the robot bumped into obstacle {i % 7} while turning",
            task="reach the goal (synthetic)",
        )
        for i in range(n)
    ]
    return Dataset(episodes, name="synthetic-throughput", description="synthetic benchmark episodes")


def harness_round_trip_ms(server: LoopbackServer, probes: int = 10) -> float:
    """Median round trip of a zero-delay request: the harness's own per-request overhead."""
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="bench", max_retries=0)
    times = []
    for _ in range(probes):
        start = time.perf_counter()
        client.chat.completions.create(
            model="bench-model", messages=[{"role": "user", "content": "zero-delay probe"}]
        )
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def raw_client_rate(server: LoopbackServer) -> float:
    """Requests/s of the bare openai client from CONCURRENCY threads (no fmviz)."""
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="bench", max_retries=0)

    def call(i: int) -> None:
        client.chat.completions.create(
            model="bench-model", messages=[{"role": "user", "content": f"synthetic case {i} baseline"}]
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(call, range(BASELINE_REQUESTS)))
    return BASELINE_REQUESTS / (time.perf_counter() - start)


def make_llm(server: LoopbackServer, cache: Path) -> LLM:
    provider = OpenAIProvider("bench-model", base_url=server.openai_base_url, api_key="bench")
    return LLM(provider, cache=cache, concurrency=CONCURRENCY, backoff_base=0.01, backoff_max=0.1)


def main() -> dict[str, object]:
    dataset = synthetic_dataset(EPISODES)
    with LoopbackServer(responder) as server, tempfile.TemporaryDirectory() as tmp:
        round_trip_ms = harness_round_trip_ms(server)
        baseline_rps = raw_client_rate(server)
        server.reset()

        cache = Path(tmp) / "calls.sqlite"
        start = time.perf_counter()
        reasons = infer_reasons(dataset, make_llm(server, cache))
        seconds = time.perf_counter() - start
        requests = server.count

        server.reset()
        rerun_start = time.perf_counter()
        again = infer_reasons(dataset, make_llm(server, cache))
        rerun_seconds = time.perf_counter() - rerun_start
        rerun_requests = server.count

    ideal_rps = CONCURRENCY / LATENCY_S
    rps = requests / seconds
    result = {
        "benchmark": "reasons_throughput",
        "episodes": EPISODES,
        "data": "synthetic",
        "latency_s": LATENCY_S,
        "concurrency": CONCURRENCY,
        "requests": requests,
        "seconds": round(seconds, 3),
        "requests_per_second": round(rps, 2),
        "ideal_requests_per_second": ideal_rps,
        "ratio_of_ideal": round(rps / ideal_rps, 3),
        "baseline_raw_client_requests_per_second": round(baseline_rps, 2),
        "ratio_of_raw_client": round(rps / baseline_rps, 3),
        "harness_zero_delay_round_trip_ms": round(round_trip_ms, 1),
        "reasons": len(reasons),
        "errors": len(reasons.errors),
        "rerun_requests": rerun_requests,
        "rerun_seconds": round(rerun_seconds, 3),
        "rerun_reasons": len(again),
        "target_ratio": TARGET_RATIO,
        "passed": rps / ideal_rps >= TARGET_RATIO and rerun_requests == 0 and len(reasons) == EPISODES,
    }
    return result


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome))
    sys.exit(0 if outcome["passed"] else 1)
