"""The ``fmviz`` command line: a thin layer over :mod:`fmviz.pipeline` and the stages.

Every sub-command does what a notebook cell does with the same functions, so a run
started in a terminal and one started in JupyterLab give the same files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from fmviz.pipeline import STAGES, EngineOptions, make_engine, parse_spec, run_pipeline

__all__ = ["main"]

_ENGINE_HELP = (
    "engine spec: 'offline' (embeddings, no key), 'gemini[:MODEL]' (GEMINI_API_KEY), "
    "'openai[:MODEL]' (OPENAI_API_KEY, or --base-url for vLLM/Ollama/LM Studio), 'local[:MODEL]' "
    "(in-process transformers model; 'local' alone uses the bundled SmolLM2)"
)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
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
    group.add_argument("--embedding-model", help="sentence-transformers model name or path (offline)")
    group.add_argument("--no-clean", action="store_true", help="skip boilerplate/masked-span removal")
    group.add_argument("--outlier-threshold", type=float, help="offline assignment: min cosine to a cluster")
    group.add_argument(
        "--map-method",
        choices=["umap", "pca"],
        default="umap",
        help="projection of the report's embedding map",
    )
    group.add_argument("--seed", type=int, default=0)


def _options(args: argparse.Namespace, domain: str) -> EngineOptions:
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
    )


def _load(path: str):
    from fmviz.loaders import load_dataset

    return load_dataset(path)


def _cmd_run(args: argparse.Namespace) -> int:
    dataset = _load(args.data)
    options = _options(args, dataset.domain)
    specs = {stage: getattr(args, stage) or args.engine for stage in STAGES}
    print(f"fmviz: {len(dataset)} episodes from {dataset.name!r}; engines {specs}", file=sys.stderr)
    result = run_pipeline(
        dataset,
        reasons=specs["reasons"],
        clusters=specs["clusters"],
        assign=specs["assign"],
        options=options,
        min_clusters=args.min_clusters,
        max_clusters=args.max_clusters,
    )
    written = result.save(args.out, report=not args.no_report)
    print(result.summary()[["id", "name", "assigned", "share"]].to_string(index=False))
    for kind, path in written.items():
        print(f"{kind:>14}: {path}")
    if result.ledger is not None and len(result.ledger.to_frame()):
        print(f"model cost: ${result.ledger.total_cost:.4f}")
    return 0


def _cmd_reasons(args: argparse.Namespace) -> int:
    dataset = _load(args.data)
    engine = make_engine(args.engine, _options(args, dataset.domain))
    reasons = engine.infer_reasons(dataset)
    path = reasons.save(Path(args.out) / "reasons.json")
    print(f"{len(reasons)} reasons, {len(reasons.errors)} errors -> {path}")
    return 0 if len(reasons) else 1


def _cmd_clusters(args: argparse.Namespace) -> int:
    from fmviz.results import Reasons

    reasons = Reasons.load(args.reasons)
    engine = make_engine(args.engine, _options(args, args.domain or "generic"))
    clusters = engine.discover_clusters(
        reasons, min_clusters=args.min_clusters, max_clusters=args.max_clusters
    )
    path = clusters.save(Path(args.out) / "clusters.json")
    print(clusters.to_frame()[["id", "name", "frequency"]].to_string(index=False))
    print(f"-> {path}")
    return 0


def _cmd_assign(args: argparse.Namespace) -> int:
    from fmviz.results import ClusterSet, Reasons

    reasons = Reasons.load(args.reasons)
    clusters = ClusterSet.load(args.clusters)
    engine = make_engine(args.engine, _options(args, args.domain or "generic"))
    assignments = engine.assign(reasons, clusters)
    path = assignments.save(Path(args.out) / "assignments.json")
    print(assignments.counts().to_string())
    print(f"-> {path}")
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from fmviz.pipeline import estimate_run

    dataset = _load(args.data)
    options = _options(args, dataset.domain)
    specs = {stage: getattr(args, stage) or args.engine for stage in STAGES}
    table = estimate_run(dataset, specs, options)
    print(table.to_string(index=False))
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), default=str))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from fmviz.pipeline import load_result

    result = load_result(args.results, _load(args.data))
    path = result.save(args.results, report=True)["report"]
    print(f"report -> {path}")
    return 0


def _cmd_prompts(args: argparse.Namespace) -> int:
    from fmviz.stages import load_prompts

    prompts = load_prompts(args.domain)
    written = prompts.save(args.out)
    print(f"prompt templates for {args.domain!r} -> {written}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from fmviz.synth.navigation import generate_navigation

    dataset = generate_navigation(args.out, n_per_cause=args.per_cause, n_safe=args.safe, seed=args.seed)
    print(f"{len(dataset)} synthetic navigation failures -> {args.out}")
    return 0


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Failures a user can act on: shown as one line, not a traceback."""
    from fmviz.episodes import EpisodeError
    from fmviz.providers.base import ProviderError

    errors: list[type[BaseException]] = [EpisodeError, ProviderError, FileNotFoundError, ValueError]
    try:
        from fmviz.llm import BudgetExceeded, RunStopped

        errors += [BudgetExceeded, RunStopped]
    except ImportError:  # pragma: no cover - during partial installs
        pass
    return tuple(errors)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmviz",
        description="Turn robot and AV failure logs into named failure modes "
        "(reasons -> clusters -> assignment). Runs offline with no API key by default.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run all three stages and write results and an HTML report")
    run.add_argument(
        "data", help="dataset: a folder (manifest.csv/jsonl/parquet, videos, image folders) or file"
    )
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--engine", default="offline", help=_ENGINE_HELP + " (default: offline)")
    for stage in STAGES:
        run.add_argument(f"--{stage}", help=f"engine for the {stage} stage only (overrides --engine)")
    run.add_argument("--min-clusters", type=int)
    run.add_argument("--max-clusters", type=int)
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    _add_engine_options(run)
    run.set_defaults(func=_cmd_run)

    reasons = sub.add_parser("reasons", help="stage 1 only: a trajectory and failure reason per episode")
    reasons.add_argument("data")
    reasons.add_argument("--out", required=True)
    reasons.add_argument("--engine", default="offline", help=_ENGINE_HELP)
    _add_engine_options(reasons)
    reasons.set_defaults(func=_cmd_reasons)

    clusters = sub.add_parser("clusters", help="stage 2 only: failure modes from a reasons.json")
    clusters.add_argument("reasons", help="reasons.json or .parquet written by `fmviz reasons`")
    clusters.add_argument("--out", required=True)
    clusters.add_argument("--engine", default="offline", help=_ENGINE_HELP)
    clusters.add_argument("--min-clusters", type=int)
    clusters.add_argument("--max-clusters", type=int)
    _add_engine_options(clusters)
    clusters.set_defaults(func=_cmd_clusters)

    assign = sub.add_parser("assign", help="stage 3 only: each episode to one failure mode or outlier")
    assign.add_argument("reasons")
    assign.add_argument("clusters", help="clusters.json (possibly edited by hand)")
    assign.add_argument("--out", required=True)
    assign.add_argument("--engine", default="offline", help=_ENGINE_HELP)
    _add_engine_options(assign)
    assign.set_defaults(func=_cmd_assign)

    estimate = sub.add_parser("estimate", help="dry run: expected calls, tokens and cost; spends nothing")
    estimate.add_argument("data")
    estimate.add_argument("--engine", default="offline", help=_ENGINE_HELP)
    for stage in STAGES:
        estimate.add_argument(f"--{stage}", help=f"engine for the {stage} stage only")
    estimate.add_argument("--json", action="store_true", help="also print the table as JSON")
    _add_engine_options(estimate)
    estimate.set_defaults(func=_cmd_estimate)

    report = sub.add_parser("report", help="re-render report.html from a results folder")
    report.add_argument("results", help="folder written by `fmviz run`")
    report.add_argument("--data", required=True, help="the dataset the results came from")
    report.set_defaults(func=_cmd_report)

    prompts = sub.add_parser("prompts", help="copy the prompt templates to a folder to read or edit")
    prompts.add_argument("out")
    prompts.add_argument("--domain", default="generic")
    prompts.set_defaults(func=_cmd_prompts)

    synth = sub.add_parser("synth", help="generate the synthetic indoor-navigation dataset")
    synth.add_argument("what", choices=["navigation"])
    synth.add_argument("--out", required=True)
    synth.add_argument("--per-cause", type=int, default=10)
    synth.add_argument("--safe", type=int, default=20)
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(func=_cmd_synth)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fmviz`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    spec_options = ("engine", *STAGES) if args.command in ("run", "estimate") else ("engine",)
    for stage in spec_options:
        spec = getattr(args, stage, None)
        if isinstance(spec, str):
            try:
                parse_spec(spec)
            except ValueError as exc:
                parser.error(str(exc))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(
            "interrupted: finished model calls are cached; rerun the same command to resume", file=sys.stderr
        )
        return 130
    except Exception as exc:  # one clear line instead of a traceback, for expected failures
        if isinstance(exc, _expected_errors()):
            print(f"fmviz: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
