"""The closed loop on the synthetic navigation generator: failure rate before, after targeted, after random.

Reproduces the shape of the paper's Sec. V-B.2a experiment with fmviz's own pieces (see
:mod:`fmviz.synth.closed_loop`): a brake policy trained on demonstrations that miss a few scene
types, its deployment failures clustered by the offline engine, a collection plan over those
modes, and the same number of extra demonstrations collected targeted or uniformly. Prints one
row per seed, the summary (mean and sample std over seeds), and on its last line one JSON object.
The paper reports 46% -> 18% (targeted) vs 34% (random); these figures are whatever this run
measures. All data is synthetic.

    python benchmarks/bench_closed_loop.py [--seeds 0 1 2] [--budget 12]
"""

from __future__ import annotations

import argparse
import json
import time

from fmviz.synth.closed_loop import LoopConfig, closed_loop, loop_summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=LoopConfig.budget, help="extra demonstrations")
    args = parser.parse_args()
    start = time.perf_counter()
    table = closed_loop(args.seeds, LoopConfig(budget=args.budget), progress=True)
    summary = loop_summary(table)
    print(table.drop(columns=["mode_names"]).to_string(index=False))
    print(summary.to_string(index=False))
    result = {"seeds": args.seeds, "budget": args.budget, "seconds": round(time.perf_counter() - start, 1)}
    for _, row in summary.iterrows():
        for metric in ("failure", "collision", "false_stop"):
            result[f"{metric}_{row['policy']}_mean"] = round(float(row[f"{metric}_mean"]), 3)
            result[f"{metric}_{row['policy']}_std"] = round(float(row[f"{metric}_std"]), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
