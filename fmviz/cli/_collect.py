"""``fmviz collect``: the targeted data-collection plan of a finished run.

A thin layer over :func:`fmviz.stages.collection.plan_for_run`: per failure mode, how many
episodes to collect under ``--budget`` (frequency times optional ``--severity``), the conditions
to collect in and example episodes; written to ``RUN_DIR/collection/plan.csv`` and ``plan.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "collect",
        help="plan targeted data collection from a run's failure modes",
        description="Split a budget of new episodes across the run's failure modes (by frequency, "
        "times an optional severity) and list, per mode, the conditions to collect in (keywords, "
        "description, the member episodes' recorded conditions) and example episodes.",
    )
    parser.add_argument("run_dir", type=Path, help="a run folder written by `fmviz run`")
    parser.add_argument("--budget", type=int, required=True, help="episodes to collect in total")
    parser.add_argument(
        "--severity",
        action="append",
        default=[],
        metavar="CLUSTER=WEIGHT",
        help="weight a failure mode (repeatable), e.g. --severity C2=3",
    )
    parser.add_argument("--examples", type=int, default=3, help="example episodes per mode (default 3)")
    parser.add_argument("--data", help="the dataset folder, if it moved since the run")
    parser.set_defaults(func=_cmd_collect)


def _severity(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise ValueError(f"--severity takes CLUSTER=WEIGHT (e.g. C2=3), got {item!r}")
    return out


def _cmd_collect(args: argparse.Namespace) -> int:
    from fmviz.loaders import load_dataset
    from fmviz.pipeline import load_run
    from fmviz.stages.collection import plan_for_run

    run = load_run(args.run_dir, load_dataset(args.data) if args.data else None)
    plan = plan_for_run(run, args.budget, severity=_severity(args.severity), n_examples=args.examples)
    out = Path(args.run_dir) / "collection"
    plan.to_csv(out / "plan.csv")
    plan.to_json(out / "plan.json")
    frame = plan.to_frame()[["cluster_id", "name", "episodes_to_collect", "members", "conditions"]]
    print(frame.to_string(index=False))
    print(f"wrote {out / 'plan.csv'} and plan.json", file=sys.stderr)
    return 0
