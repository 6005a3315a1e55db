"""The pipeline commands: run, the three stages one at a time, estimate, report, prompts, synth."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fmviz.cli._logs import add_log_options, log_options
from fmviz.cli._options import ENGINE_HELP, add_engine_options, engine_options
from fmviz.errors import NoReasonsError, format_episode_errors
from fmviz.pipeline import STAGES, make_engine, run_pipeline

__all__ = ["register"]


def _load(path: str, args: argparse.Namespace | None = None):
    from fmviz.loaders import load_dataset

    return load_dataset(path, **(log_options(args) if args is not None else {}))


def _cmd_run(args: argparse.Namespace) -> int:
    dataset = _load(args.data, args)
    options = engine_options(args, dataset.domain)
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
    _print_errors(result.reasons.errors | result.assignments.errors)
    return 0


def _print_errors(errors: dict[str, str]) -> None:
    """Per-episode errors at the end of a run: the first few with their reasons, then a count."""
    if errors:
        print(f"fmviz: {len(errors)} episode(s) with errors:", file=sys.stderr)
        print(format_episode_errors(errors, limit=5), file=sys.stderr)


def _cmd_reasons(args: argparse.Namespace) -> int:
    dataset = _load(args.data, args)
    engine = make_engine(args.engine, engine_options(args, dataset.domain))
    reasons = engine.infer_reasons(dataset)
    path = reasons.save(Path(args.out) / "reasons.json")
    print(f"{len(reasons)} reasons, {len(reasons.errors)} errors -> {path}")
    _print_errors(reasons.errors)
    if not len(reasons):
        raise NoReasonsError(dataset.name, reasons.errors, episodes=len(dataset))
    return 0


def _cmd_clusters(args: argparse.Namespace) -> int:
    from fmviz.results import Reasons

    reasons = Reasons.load(args.reasons)
    engine = make_engine(args.engine, engine_options(args, args.domain or "generic"))
    clusters = engine.discover_clusters(
        reasons, min_clusters=args.min_clusters, max_clusters=args.max_clusters
    )
    path = clusters.save(Path(args.out) / "clusters.json")
    print(clusters.to_frame()[["id", "name", "frequency"]].to_string(index=False))
    print(f"-> {path}")
    return 0


def _cmd_assign(args: argparse.Namespace) -> int:
    if args.clusters is None:
        return _reassign_run(args)
    from fmviz.results import ClusterSet, Reasons

    if not args.out:
        raise ValueError(
            "fmviz assign REASONS CLUSTERS needs --out (or give one run folder: fmviz assign RUN_DIR)"
        )
    reasons = Reasons.load(args.reasons)
    clusters = ClusterSet.load(args.clusters)
    engine = make_engine(args.engine or "offline", engine_options(args, args.domain or "generic"))
    assignments = engine.assign(reasons, clusters)
    assignments.cluster_set_version = clusters.version
    path = assignments.save(Path(args.out) / "assignments.json")
    print(assignments.counts().to_string())
    print(f"-> {path}")
    return 0


def _reassign_run(args: argparse.Namespace) -> int:
    """``fmviz assign RUN_DIR``: re-assign only what the edits in the run folder touched."""
    from fmviz.pipeline import load_run

    run = load_run(args.reasons)
    if args.engine:
        run.use_engine("assign", make_engine(args.engine, engine_options(args, run.dataset.domain)))
    pending = len(run.current_assignments.pending_ids)
    print(
        f"fmviz: cluster set {run.clusters.version} ({len(run.clusters.log)} edits); "
        f"{pending} episode(s) touched"
    )
    outcome = run.reassign()
    written = run.save_assignments(args.reasons)
    written["report"] = run.write_report(Path(args.reasons) / "report.html")
    print(
        f"re-asked {outcome['reasked']} episode(s) with {run.engines.get('assign', 'offline')}; "
        f"{outcome['errors']} error(s)"
    )
    print(run.summary()[["id", "name", "assigned", "share"]].to_string(index=False))
    for kind, path in written.items():
        print(f"{kind:>14}: {path}")
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from fmviz.pipeline import estimate_run

    dataset = _load(args.data, args)
    options = engine_options(args, dataset.domain)
    specs = {stage: getattr(args, stage) or args.engine for stage in STAGES}
    table = estimate_run(dataset, specs, options)
    print(table.to_string(index=False))
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), default=str))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from fmviz.pipeline import load_run

    run = load_run(args.results, _load(args.data) if args.data else None)
    message = run.stale_message()
    if message:
        print(f"fmviz: warning: {message}", file=sys.stderr)
    path = run.write_report(Path(args.results) / "report.html")
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

    if args.format != "videos":
        return _synth_logs(args)
    dataset = generate_navigation(args.out, n_per_cause=args.per_cause, n_safe=args.safe, seed=args.seed)
    print(f"{len(dataset)} synthetic navigation failures -> {args.out}")
    return 0


def _synth_logs(args: argparse.Namespace) -> int:
    """``fmviz synth navigation --format mcap|bag|lerobot``: the same episodes as robot logs."""
    from fmviz.synth.export_lerobot import export_navigation_lerobot
    from fmviz.synth.export_logs import export_navigation_bag, export_navigation_mcap

    if args.format == "lerobot":
        dataset = export_navigation_lerobot(args.out, args.per_cause, args.safe, args.seed)
    elif args.format == "bag":
        dataset = export_navigation_bag(args.out, args.per_cause, args.seed)
    else:
        dataset = export_navigation_mcap(args.out, args.per_cause, args.seed)
    print(f"{len(dataset)} synthetic navigation failures ({args.format}) -> {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the pipeline commands to ``sub``."""
    run = sub.add_parser("run", help="run all three stages and write results and an HTML report")
    run.add_argument(
        "data",
        help="dataset: a folder (manifest.csv/jsonl/parquet, videos, image folders), a file, or a robot log "
        "(.mcap, .bag, a folder of them, a LeRobot folder)",
    )
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--engine", default="offline", help=ENGINE_HELP + " (default: offline)")
    for stage in STAGES:
        run.add_argument(f"--{stage}", help=f"engine for the {stage} stage only (overrides --engine)")
    run.add_argument("--min-clusters", type=int)
    run.add_argument("--max-clusters", type=int)
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    add_engine_options(run)
    add_log_options(run)
    run.set_defaults(func=_cmd_run)

    reasons = sub.add_parser("reasons", help="stage 1 only: a trajectory and failure reason per episode")
    reasons.add_argument("data")
    reasons.add_argument("--out", required=True)
    reasons.add_argument("--engine", default="offline", help=ENGINE_HELP)
    add_engine_options(reasons)
    add_log_options(reasons)
    reasons.set_defaults(func=_cmd_reasons)

    clusters = sub.add_parser("clusters", help="stage 2 only: failure modes from a reasons.json")
    clusters.add_argument("reasons", help="reasons.json or .parquet written by `fmviz reasons`")
    clusters.add_argument("--out", required=True)
    clusters.add_argument("--engine", default="offline", help=ENGINE_HELP)
    clusters.add_argument("--min-clusters", type=int)
    clusters.add_argument("--max-clusters", type=int)
    add_engine_options(clusters)
    clusters.set_defaults(func=_cmd_clusters)

    assign = sub.add_parser(
        "assign",
        help="stage 3: each episode to one failure mode or outlier; on a run folder, re-assign only "
        "the episodes that edits touched",
        description="fmviz assign RUN_DIR re-assigns the episodes touched by `fmviz edit` and rewrites the "
        "run folder; fmviz assign REASONS CLUSTERS --out DIR assigns from scratch.",
    )
    assign.add_argument("reasons", metavar="RUN_DIR|REASONS", help="a run folder, or a reasons.json")
    assign.add_argument("clusters", nargs="?", help="clusters.json (with REASONS)")
    assign.add_argument("--out", help="output folder (with REASONS CLUSTERS)")
    assign.add_argument(
        "--engine", default=None, help=ENGINE_HELP + " (default: the run's own, else offline)"
    )
    add_engine_options(assign)
    assign.set_defaults(func=_cmd_assign)

    estimate = sub.add_parser("estimate", help="dry run: expected calls, tokens and cost; spends nothing")
    estimate.add_argument("data")
    estimate.add_argument("--engine", default="offline", help=ENGINE_HELP)
    for stage in STAGES:
        estimate.add_argument(f"--{stage}", help=f"engine for the {stage} stage only")
    estimate.add_argument("--json", action="store_true", help="also print the table as JSON")
    add_engine_options(estimate)
    add_log_options(estimate)
    estimate.set_defaults(func=_cmd_estimate)

    report = sub.add_parser("report", help="re-render report.html from a run folder alone")
    report.add_argument("results", metavar="RUN_DIR", help="folder written by `fmviz run`")
    report.add_argument("--data", help="the dataset, for run folders written before fmviz kept a copy")
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
    synth.add_argument(
        "--format",
        choices=["videos", "mcap", "bag", "lerobot"],
        default="videos",
        help="videos + manifest (default), one MCAP / ROS 1 bag per collision, or a LeRobot folder",
    )
    synth.set_defaults(func=_cmd_synth)
