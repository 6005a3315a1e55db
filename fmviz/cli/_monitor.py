"""``fmviz monitor``: score one runtime-monitor source on held-out runs, as a Table-II row.

It reads a run folder, builds (once, then reuses) held-out navigation episodes from the
generator, an in-distribution half and an out-of-distribution "new building" half
(:func:`fmviz.synth.heldout.monitor_test_sets`), replays them through the streaming monitor with
the k-consecutive rule, and writes ``RUN_DIR/monitor/``: ``metrics.csv`` (every source scored so
far, overall and per failure mode), ``steps_<source>.csv`` (each step's verdict) and
``table.csv`` / ``table.md`` (the paper's Table II layout). ``learned`` trains the frame
classifier on the run's own episodes and safe runs (no key). The LLM sources call the model
through the cached runner; with no key they run from the call cache or are written as not run.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["register"]

SOURCES = ("learned", "llm", "nocontext", "llm-ad")
MONITOR_DIR = "monitor"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "monitor",
        help="score a runtime failure monitor on held-out runs (Table II)",
        description="Evaluate one monitor source (learned frame classifier, the MLLM with the run's "
        "failure modes, its NoContext ablation, or the LLM-AD baseline) on in-distribution and "
        "out-of-distribution held-out runs; writes RUN_DIR/monitor/table.md and .csv.",
    )
    parser.add_argument("run_dir", type=Path, help="a run folder written by `fmviz run`")
    parser.add_argument("--source", choices=SOURCES, required=True, help="which verdict source to score")
    parser.add_argument(
        "--k", type=int, default=3, help="unsafe verdicts in a row before an alarm (default 3)"
    )
    parser.add_argument("--window", type=int, default=4, help="frames of history per step (default 4)")
    parser.add_argument(
        "--every", type=int, default=2, help="judge every N-th frame (default 2: 5 Hz at 10 fps)"
    )
    parser.add_argument(
        "--horizon", type=float, default=1.0, help="learned: unsafe label this many s before failure"
    )
    parser.add_argument(
        "--n-per-cause", type=int, default=3, help="held-out collisions per cause in each half"
    )
    parser.add_argument("--n-safe", type=int, default=12, help="held-out safe runs in each half")
    parser.add_argument("--size", default="128x96", help="held-out frame size WxH (default 128x96)")
    parser.add_argument("--frames", type=int, default=32, help="frames per held-out episode (default 32)")
    parser.add_argument("--seed", type=int, default=1, help="held-out seed (the sample data uses 0)")
    parser.add_argument(
        "--llm", help="model for the LLM sources, e.g. gemini:gemini-2.5-flash (default: the run's)"
    )
    parser.add_argument("--base-url", help="OpenAI-compatible server for --llm")
    parser.add_argument("--cache", help="call cache file (default: the shared cache)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--budget", type=float, help="stop before spending more than this (USD)")
    parser.add_argument("--data", help="the dataset folder, if it moved since the run")
    parser.set_defaults(func=_cmd_monitor)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 128x96, got {text!r}") from None
    if width < 16 or height < 12:
        raise ValueError(f"--size {text} is too small (at least 16x12)")
    return width, height


def _heldout(args: argparse.Namespace, out: Path) -> dict[str, list]:
    """The held-out halves, generated once per setting and kept in ``monitor/heldout.npz``."""
    from fmviz.monitor import MonitorEpisode
    from fmviz.synth.heldout import monitor_test_sets

    size = _size(args.size)
    tag = f"seed{args.seed}-n{args.n_per_cause}-s{args.n_safe}-{size[0]}x{size[1]}-f{args.frames}"
    path = out / f"heldout-{tag}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=False)
        table = pd.read_json(io.StringIO(str(data["table"])), orient="records")
        sets: dict[str, list] = {}
        for row in table.to_dict(orient="records"):
            key = f"{row['half']}/{row['id']}"
            failure_time = float(data[key + "/failure_time"]) if row["failed"] else None
            sets.setdefault(row["half"], []).append(
                MonitorEpisode(
                    id=row["id"],
                    frames=data[key + "/frames"],
                    times=data[key + "/times"],
                    failed=bool(row["failed"]),
                    failure_time=failure_time,
                    failure_mode=row["failure_mode"] or None,
                    task=row["task"],
                )
            )
        return sets
    sets = monitor_test_sets(args.n_per_cause, args.n_safe, seed=args.seed, size=size, frames=args.frames)
    arrays: dict[str, np.ndarray] = {}
    rows = []
    for half, episodes in sets.items():
        for e in episodes:
            arrays[f"{half}/{e.id}/frames"] = e.frames
            arrays[f"{half}/{e.id}/times"] = e.times
            arrays[f"{half}/{e.id}/failure_time"] = np.array(
                np.nan if e.failure_time is None else e.failure_time
            )
            rows.append(
                {
                    "half": half,
                    "id": e.id,
                    "failed": e.failed,
                    "failure_mode": e.failure_mode or "",
                    "task": e.task,
                }
            )
    arrays["table"] = np.array(pd.DataFrame(rows).to_json(orient="records"))
    np.savez_compressed(path, **arrays)
    return sets


def _source(args: argparse.Namespace, run: object) -> object:
    from fmviz.monitor import LLMSource, load_safe_runs, monitor_episodes, train_learned_source

    dataset = run.dataset  # type: ignore[attr-defined]
    if args.source == "learned":
        safe = load_safe_runs(dataset)
        if safe is None:
            raise ValueError(
                "the learned monitor trains on safe runs too, and no safe_runs.csv is next to "
                f"the dataset ({dataset.root}) or its recordings; pass --data DATA_DIR"
            )
        episodes = monitor_episodes(dataset, failed=True) + monitor_episodes(safe, failed=False)
        print(f"fmviz monitor: training the frame classifier on {len(episodes)} episodes", file=sys.stderr)
        return train_learned_source(episodes, horizon=args.horizon, every=args.every)
    from fmviz.engine import EngineOptions, make_engine
    from fmviz.prompts import load_prompts

    spec = args.llm or next((s for s in run.engines.values() if s and s != "offline"), "gemini")  # type: ignore[attr-defined]
    options = EngineOptions.from_dict(run.options)  # type: ignore[attr-defined]
    options.base_url = args.base_url or options.base_url
    options.cache = args.cache or options.cache
    options.concurrency = args.concurrency
    options.budget_usd = args.budget
    llm = make_engine(spec, options).llm  # type: ignore[attr-defined]
    context = load_prompts(dataset.domain).context.strip()
    return LLMSource(llm, args.source, clusters=run.clusters, context=context)  # type: ignore[attr-defined]


def _cmd_monitor(args: argparse.Namespace) -> int:
    from fmviz.loaders import load_dataset
    from fmviz.monitor import monitor_table, score_source, table_markdown
    from fmviz.pipeline import load_run

    if args.k < 1 or args.window < 1 or args.every < 1:
        raise ValueError("--k, --window and --every must be at least 1")
    run = load_run(args.run_dir, load_dataset(args.data) if args.data else None)
    if run.dataset.domain != "navigation":
        raise ValueError(
            "held-out monitor runs come from the navigation generator; "
            f"this run's domain is {run.dataset.domain!r}"
        )
    out = Path(args.run_dir) / MONITOR_DIR
    out.mkdir(parents=True, exist_ok=True)
    source = _source(args, run)
    sets = _heldout(args, out)
    metrics, steps = score_source(source, sets, k=args.k, window=args.window, every=args.every)  # type: ignore[arg-type]
    metrics = metrics.assign(k=args.k)
    metrics_path = out / "metrics.csv"
    if metrics_path.exists():
        old = pd.read_csv(metrics_path)
        metrics = pd.concat([old[old["method"] != args.source], metrics], ignore_index=True)
    metrics.to_csv(metrics_path, index=False)
    if len(steps):
        steps.to_csv(out / f"steps_{args.source}.csv", index=False)
    order = {name: i for i, name in enumerate(SOURCES)}
    table = monitor_table(metrics).sort_values("method", key=lambda m: m.map(order)).reset_index(drop=True)
    table.to_csv(out / "table.csv", index=False)
    text = table_markdown(table)
    (out / "table.md").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"wrote {out / 'table.md'}", file=sys.stderr)
    return 0
