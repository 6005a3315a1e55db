"""Flags shared by the commands that build engines, and the options object they become."""

from __future__ import annotations

import argparse
from pathlib import Path

from fmviz.engine import EngineOptions

__all__ = ["ENGINE_HELP", "add_engine_options", "engine_options"]

ENGINE_HELP = (
    "engine spec: 'offline' (embeddings, no key), 'gemini[:MODEL]' (GEMINI_API_KEY), "
    "'openai[:MODEL]' (OPENAI_API_KEY, or --base-url for vLLM/Ollama/LM Studio), 'local[:MODEL]' "
    "(in-process transformers model; 'local' alone uses the bundled SmolLM2)"
)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engines and providers")
    group.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://localhost:11434/v1")
    group.add_argument("--cache", help="call cache file (sqlite); default: $FMVIZ_CACHE or ~/.cache/fmviz")
    group.add_argument("--concurrency", type=int, default=16, help="parallel model calls (default 16)")
    group.add_argument("--rpm", type=float, help="cap on requests per minute")
    group.add_argument("--budget", type=float, help="stop before the run spends more than this many USD")
    group.add_argument("--timeout", type=float, default=120.0, help="seconds per model call")
    group.add_argument("--domain", help="prompt preset: generic, manipulation, driving, navigation")
    group.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="override one prompt template (reasons, cluster, paraphrase, aggregate, merge_batches, assign)",
    )
    group.add_argument("--ensemble", type=int, default=3, help="prompt paraphrases in stage 2 (0 = none)")
    group.add_argument("--frames", type=int, default=8, help="T: frames from the clip tail (default 8)")
    group.add_argument("--fps", type=float, default=1.0, help="frame rate of the tail (default 1)")
    group.add_argument("--max-side", type=int, default=512, help="resize frames to this longest side")
    group.add_argument(
        "--embedding-model",
        help="offline embedding model: static-minilm (default), minilm (the transformer), or a "
        "sentence-transformers / model2vec name or path",
    )
    group.add_argument("--no-clean", action="store_true", help="skip boilerplate/masked-span removal")
    group.add_argument("--outlier-threshold", type=float, help="offline assignment: min cosine to a cluster")
    group.add_argument(
        "--map-method",
        choices=["tsne", "umap", "pca"],
        default="tsne",
        help="layout of the report's embedding map (tsne: fast at any size; umap: exact, slower)",
    )
    group.add_argument(
        "--replay-failed",
        action="store_true",
        help="replay cached answers that failed validation instead of asking the model again",
    )
    group.add_argument("--seed", type=int, default=0)
    group.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where tail decoding and embedding run: this process (default) or a Ray cluster (extra 'ray')",
    )
    group.add_argument("--ray-address", help="Ray cluster of --executor ray (default: $RAY_ADDRESS or local)")
    batch = parser.add_argument_group("batch APIs (stages 1 and 3 at batch prices; answers within 24 h)")
    batch.add_argument(
        "--batch",
        action="store_true",
        help="send stages 1 and 3 through the OpenAI Batch API / Gemini batch mode; rerun to resume",
    )
    batch.add_argument(
        "--batch-reasks",
        choices=["batch", "online"],
        default="batch",
        help="repair re-asks for invalid answers: into the next batch (default) or online",
    )
    batch.add_argument(
        "--batch-missing",
        choices=["batch", "online"],
        default="batch",
        help="requests a batch did not answer (failed, expired, error lines): resubmit (default) or online",
    )
    batch.add_argument("--batch-poll", type=float, default=30.0, help="first seconds between polls")
    batch.add_argument("--batch-max-wait", type=float, help="stop after waiting this long, in s (resumable)")
    group.add_argument("--prices", help="price table (JSON/TOML: prices, batch_prices, batch_discount)")


def engine_options(args: argparse.Namespace, domain: str) -> EngineOptions:
    overrides = {}
    for item in args.prompt:
        name, sep, file = item.partition("=")
        if not sep:
            raise SystemExit(f"--prompt expects NAME=FILE, got {item!r}")
        overrides[name] = Path(file)
    return EngineOptions(
        base_url=args.base_url,
        cache=args.cache,
        concurrency=args.concurrency,
        requests_per_minute=args.rpm,
        budget_usd=args.budget,
        timeout=args.timeout,
        domain=args.domain or domain,
        prompt_overrides=overrides,
        ensemble=args.ensemble,
        frames=args.frames,
        fps=args.fps,
        max_side=args.max_side,
        seed=args.seed,
        embedding_model=args.embedding_model,
        clean_text=not args.no_clean,
        outlier_threshold=args.outlier_threshold,
        map_method=args.map_method,
        replay_failed=args.replay_failed,
        batch=getattr(args, "batch", False),
        batch_reasks=getattr(args, "batch_reasks", "batch"),
        batch_missing=getattr(args, "batch_missing", "batch"),
        batch_poll=getattr(args, "batch_poll", 30.0),
        batch_max_wait=getattr(args, "batch_max_wait", None),
        prices=getattr(args, "prices", None),
        executor=getattr(args, "executor", "local"),
        ray_address=getattr(args, "ray_address", None),
    )
