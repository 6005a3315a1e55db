"""Benchmark: stage 1 and stage 3 through a hostile server, a SIGKILL and resume, a dead server.

Run with ``python benchmarks/bench_faults.py`` (a few minutes on two cores; ``--episodes``
makes it smaller). Everything goes through the real ``openai`` client against
:class:`fmviz.testing.LoopbackServer`:

1. **Faults.** 1,000 episodes (5% of them exact duplicates of others) through stage 1 and
   stage 3 while the server injects faults into 30% of requests: 429 with ``Retry-After``,
   500, connection reset, a hang past the client's timeout, garbage and truncated JSON
   (:func:`fmviz.testing.faulty`), and in stage 3 also hallucinated cluster ids.
   ``completed_share`` is the share of episodes with a reason and an assignment (target
   1.0); ``paid_twice`` counts request bodies the server answered (HTTP 200 delivered) more
   than once (target 0: duplicates and retries of identical requests are shared). Baseline
   in the same run: the same episodes against a fault-free server (``seconds_without_faults``).
2. **SIGKILL and resume.** A second run in a child process is killed with SIGKILL midway,
   then resumed on the same cache. ``repeated_after_kill`` counts bodies answered both
   before the kill and again after it (target: at most the concurrency, the calls in flight).
3. **Server down.** Stage 1 against a closed port with the default retry policy (6 retries,
   1 s backoff base). ``server_down_fail_s`` is the time until the run stops with one line
   naming the endpoint (target under 10 s; before the circuit breaker: 88.6 s).

Episodes and answers are synthetic (scripted). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmviz.episodes import Dataset, Episode
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM, RunStopped
from fmviz.results import Cluster, ClusterSet
from fmviz.stages import assign_clusters, infer_reasons
from fmviz.testing import LoopbackServer, RecordedRequest, Reply, closed_port, faulty

CONCURRENCY = 16
FAULT_RATE = 0.3
TIMEOUT_S = 1.0
CLUSTERS = ("C1", "C2", "C3", "C4", "C5")
CAUSES = ("a glass door", "a chair leg", "a wet floor", "a low shelf", "a moving cart")


def dataset(n: int, prefix: str, duplicate_share: float = 0.05) -> Dataset:
    """Synthetic navigation episodes; a share of them repeat an earlier narrative exactly."""
    draw = random.Random(n)
    episodes: list[Episode] = []
    for i in range(n):
        if i > 20 and draw.random() < duplicate_share:
            source = episodes[draw.randrange(i)]
            text = source.narrative
        else:
            text = f"synthetic case {prefix}{i}: the robot hit {CAUSES[i % len(CAUSES)]} while turning"
        episodes.append(Episode(f"{prefix}{i:05d}", narrative=text, task="reach the goal (synthetic)"))
    return Dataset(episodes, name=f"faults-{prefix}", domain="navigation")


def answer(request: RecordedRequest) -> Reply:
    """The scripted model: a reason for stage 1, a cluster id for stage 3 (sometimes made up)."""
    text = request.text
    if "cluster_id" in text:
        digest = int(hashlib.sha256(text.encode()).hexdigest(), 16)
        made_up = digest % 20 == 0 and "could not be used" not in request.prompt
        cluster = "C42" if made_up else CLUSTERS[digest % len(CLUSTERS)]
        return Reply(text=json.dumps({"cluster_id": cluster, "rationale": "synthetic"}))
    cause = next((c for c in CAUSES if c in text), "an obstacle")
    case = text.split("synthetic case ", 1)[-1].split(":", 1)[0] if "synthetic case " in text else "?"
    reason = {"trajectory": f"turned in case {case} (synthetic)", "failure_reason": f"did not see {cause}"}
    return Reply(text=json.dumps(reason))


class Billing:
    """Counts, per request body, the HTTP 200 answers the server delivered (what a provider bills)."""

    def __init__(self, responder) -> None:
        self.responder = responder
        self.phase = "run"
        self.paid: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply | str:
        reply = self.responder(request)
        status = 200 if isinstance(reply, str) else reply.status
        delivered = status == 200 and not (
            isinstance(reply, Reply) and (reply.reset or reply.delay >= TIMEOUT_S)
        )
        if delivered:
            body = hashlib.sha256(json.dumps(request.body, sort_keys=True).encode()).hexdigest()
            with self._lock:
                self.paid[body][self.phase] += 1
        return reply

    def paid_twice(self, phase: str) -> int:
        return sum(max(0, counts[phase] - 1) for counts in self.paid.values())

    def in_both(self, first: str, second: str) -> int:
        return sum(1 for counts in self.paid.values() if counts[first] and counts[second])


def make_llm(base_url: str, cache: Path | None, **kwargs) -> LLM:
    provider = OpenAIProvider("faulty-model", base_url=base_url, api_key="sk-bench", timeout=TIMEOUT_S)
    options = {"concurrency": CONCURRENCY, "backoff_base": 0.05, "backoff_max": 0.5, "max_retries": 10}
    return LLM(provider, cache=cache if cache is not None else False, max_repairs=4, **(options | kwargs))


def clusters() -> ClusterSet:
    return ClusterSet(
        [
            Cluster(cid, f"collision with {cause}", f"The robot hit {cause}.")
            for cid, cause in zip(CLUSTERS, CAUSES, strict=True)
        ]
    )


def stages(data: Dataset, llm: LLM) -> tuple[int, int]:
    reasons = infer_reasons(data, llm)
    assignments = assign_clusters(reasons, clusters(), llm)
    return len(reasons), len(assignments)


def worker(base_url: str, cache: str, n: int) -> None:
    """Child process of phase 2: stage 1 on its own episodes, on the shared cache."""
    reasons = infer_reasons(dataset(n, "k"), make_llm(base_url, Path(cache)))
    print(json.dumps({"reasons": len(reasons), "errors": len(reasons.errors)}))


def kill_and_resume(server: LoopbackServer, billing: Billing, cache: Path, n: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker", server.openai_base_url, str(cache), str(n)]
    env = os.environ | {"TQDM_DISABLE": "1"}
    billing.phase = "before_kill"
    start = server.count
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while server.count - start < n // 2 and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    billing.phase = "after_kill"
    resumed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    outcome = json.loads(resumed.stdout.strip().splitlines()[-1])
    return {
        "killed_after_requests": server.count - start,
        "resumed_reasons": outcome["reasons"],
        "repeated_after_kill": billing.in_both("before_kill", "after_kill"),
    }


def server_down(episodes: int) -> tuple[float, str]:
    """Seconds until a run against a closed port stops, with the default retry policy."""
    provider = OpenAIProvider("m", base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key="sk-bench")
    llm = LLM(provider, cache=False, concurrency=CONCURRENCY)  # defaults: 6 retries, 1 s backoff base
    start = time.perf_counter()
    try:
        infer_reasons(dataset(episodes, "d", duplicate_share=0.0), llm)
        message = "did not stop"
    except RunStopped as stopped:
        message = str(stopped)
    return time.perf_counter() - start, message


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--kill-episodes", type=int, default=400)
    parser.add_argument("--worker", nargs=3, metavar=("BASE_URL", "CACHE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        sys.exit(0)

    data = dataset(args.episodes, "e")
    duplicates = len(data) - len({e.narrative for e in data})
    with tempfile.TemporaryDirectory() as tmp:
        with LoopbackServer(answer) as clean:
            start = time.perf_counter()
            stages(data, make_llm(clean.openai_base_url, Path(tmp) / "clean.sqlite"))
            seconds_clean = time.perf_counter() - start
            requests_clean = clean.count

        responder = faulty(answer, rate=FAULT_RATE, hang_s=2 * TIMEOUT_S, retry_after=0.2, seed=11)
        billing = Billing(responder)
        with LoopbackServer(billing) as server:
            start = time.perf_counter()
            reasons_done, assigned = stages(
                data, make_llm(server.openai_base_url, Path(tmp) / "faults.sqlite")
            )
            seconds_faults = time.perf_counter() - start
            requests_faults = server.count
            paid_twice = billing.paid_twice("run")
            kill = kill_and_resume(server, billing, Path(tmp) / "kill.sqlite", args.kill_episodes)
        down_seconds, down_message = server_down(32)

    completed = min(reasons_done, assigned) / len(data)
    return {
        "benchmark": "faults",
        "data": "synthetic",
        "episodes": len(data),
        "duplicate_episodes": duplicates,
        "fault_rate": FAULT_RATE,
        "faults_injected": dict(responder.injected),
        "requests": requests_faults,
        "requests_without_faults": requests_clean,
        "seconds_with_faults": round(seconds_faults, 2),
        "seconds_without_faults": round(seconds_clean, 2),
        "completed_share": round(completed, 4),
        "paid_twice": paid_twice,
        "kill_episodes": args.kill_episodes,
        **kill,
        "concurrency": CONCURRENCY,
        "server_down_fail_s": round(down_seconds, 2),
        "server_down_message": down_message,
        "passed": completed == 1.0
        and paid_twice == 0
        and kill["repeated_after_kill"] <= CONCURRENCY
        and kill["resumed_reasons"] == args.kill_episodes
        and down_seconds < 10,
    }


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome))
    sys.exit(0 if outcome["passed"] else 1)
