"""Benchmark: 10,000 real-derived crash narratives from text to clusters, assignment and report.

The texts: the 1,506 real NHTSA Standing General Order ADS crash narratives of
``../shared/data/nhtsa_sgo_ads/`` (outside this repository: the benchmark prints one JSON line
saying so and exits 0 when the folder is absent; ``--data`` points elsewhere), followed by
``n - 1,506`` texts RECOMBINED from them at sentence level: each takes a real narrative and
swaps about a third of its sentences for sentences of other real narratives of the same
reporting company and the same ``Crash With`` (so each keeps a company's template and a
scenario). They are distinct (checked), of the real ones' length, and derived, not real reports.
They repeat sentences more than real reports do (8% of their sentences are distinct, against
51% in the real archive), which flatters the cleaner's per-sentence memo: the cleaning of the
1,506 real narratives alone is timed too (``clean_real_1506``).

Both paths run in one process on the same texts, each with a fresh embedding cache, as
``run_pipeline`` runs them (clean, embed, discover, assign, map, then the run folder with
``report.html``): the old default (the bundled MiniLM transformer, ``"minilm"``, and the
exact UMAP map) against the new default (``OfflineEngine()``'s embedder, the static model
distilled from that MiniLM, and ``EngineOptions()``'s map, t-SNE on landmarks). Model load
(and, for the static model, a distillation on first use) is timed apart.
Agreement: NMI between the two paths' assignments on all texts, and NMI of each against
``Crash With`` on the 1,506 real narratives. The map's seconds are compared with discover +
assign. Run from the repository root::

    python benchmarks/bench_offline_scale.py [--n 10000] [--data DIR] [--only new]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmviz.engine import EngineOptions  # noqa: E402
from fmviz.episodes import Dataset, Episode  # noqa: E402
from fmviz.offline import OfflineEngine  # noqa: E402
from fmviz.offline.assign import reason_text  # noqa: E402
from fmviz.pipeline import compute_embedding_map  # noqa: E402
from fmviz.run import Run  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nhtsa_sgo_ads"
METADATA = ("Reporting Entity", "Crash With", "City")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def load(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / "sgo_ads_incidents_2021_2025.csv", dtype=str).fillna("")
    return frame[frame["Narrative"].str.strip() != ""].reset_index(drop=True)


def recombine(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """The real rows, then distinct sentence-level recombinations of them up to ``n`` rows."""
    rng = np.random.default_rng(seed)
    sentences = [_SENTENCE.split(t.strip()) for t in frame["Narrative"]]
    records = frame[[*METADATA, "Narrative"]].to_dict("records")
    pools: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(records):
        pools.setdefault((row["Reporting Entity"], row["Crash With"]), []).append(i)
    rows = [{**row, "real": True} for row in records]
    seen = set(frame["Narrative"])
    attempts = 0
    while len(rows) < n and attempts < 50 * n:
        attempts += 1
        base = int(rng.integers(len(records)))
        meta = records[base]
        pool = pools[(meta["Reporting Entity"], meta["Crash With"])]
        out = list(sentences[base])
        for j in range(len(out)):
            if len(pool) > 1 and rng.random() < 0.35:
                donor = sentences[pool[int(rng.integers(len(pool)))]]
                out[j] = donor[min(j, len(donor) - 1)]
        text = " ".join(out)
        if text in seen:
            continue
        seen.add(text)
        rows.append({**{c: meta[c] for c in METADATA}, "Narrative": text, "real": False})
    return pd.DataFrame(rows)


def to_dataset(frame: pd.DataFrame) -> Dataset:
    episodes = [
        Episode(f"e{i:05d}", narrative=row["Narrative"], metadata={c: row[c] for c in METADATA})
        for i, row in enumerate(frame.to_dict("records"))
    ]
    return Dataset(episodes, name="nhtsa-scale", domain="driving", group_column="Reporting Entity")


def run_path(
    label: str, dataset: Dataset, embedding_model: str | None, map_method: str, seed: int, out: Path
) -> dict[str, object]:
    """One path as run_pipeline runs it, timed per phase; model load apart."""
    cache = Path(tempfile.mkdtemp(prefix=f"fmviz-scale-{label}-"))
    engine = OfflineEngine(embedding_model, seed=seed, cache_dir=cache)
    start = time.perf_counter()
    engine.embedder._load()  # model load (and distillation on first use) is not part of the run
    model_load = time.perf_counter() - start
    options = EngineOptions(domain=dataset.domain, map_method=map_method)
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        value = fn(*args, **kwargs)
        phases[name] = round(time.perf_counter() - begin, 2)
        cpu[name] = round(time.process_time() - begin_cpu, 2)
        print(f"  {label}: {name} {phases[name]:.1f}s (cpu {cpu[name]:.1f}s)", flush=True)
        return value

    reasons = timed("clean", engine.infer_reasons, dataset)
    timed("embed", engine.embed, [reason_text(r) for r in reasons])
    clusters = timed("discover", engine.discover_clusters, reasons)
    assignments = timed("assign", engine.assign, reasons, clusters)
    assignments.cluster_set_version = clusters.version
    engines = {"reasons": engine, "clusters": engine, "assign": engine}
    emap = timed("map", compute_embedding_map, reasons, clusters, assignments, engines, options)

    def report() -> None:
        run = Run(
            dataset=dataset,
            reasons=reasons,
            clusters=clusters,
            assignments=assignments,
            engines=dict.fromkeys(engines, engine.spec),
            embedding_map=emap,
            cleaning=engine.cleaning_report(),
            options=options.to_dict(),
        )
        run.save(out / label)

    timed("report", report)
    shutil.rmtree(cache, ignore_errors=True)
    total = round(sum(phases.values()), 2)
    return {
        "embedding_model": engine.embedder.model_id,
        "map_method": map_method,
        "model_load_s": round(model_load, 2),
        "phases_s": phases,
        "phases_cpu_s": cpu,
        "total_s": total,
        "map_vs_discover_assign": round(phases["map"] / max(phases["discover"] + phases["assign"], 1e-9), 2),
        "k": len(clusters),
        "outliers": sum(v == "outlier" for v in assignments.labels().values()),
        "empty_after_cleaning": len(reasons.errors),
        "labels": assignments.labels(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--old-model", default="minilm", help="today's default: the bundled MiniLM transformer"
    )
    parser.add_argument("--old-map", default="umap", help="map method of the old path")
    parser.add_argument("--new-model", default=None, help="default: the engine's default embedder")
    parser.add_argument("--new-map", default=None, help="default: EngineOptions' default map method")
    parser.add_argument("--only", choices=["old", "new"], default=None, help="run one path")
    args = parser.parse_args()
    if not (args.data / "sgo_ads_incidents_2021_2025.csv").exists():
        print(json.dumps({"skipped": True, "reason": f"no NHTSA archive at {args.data} (outside the repo)"}))
        return
    frame = recombine(load(args.data), args.n, args.seed)
    dataset = to_dataset(frame)
    ids = [e.id for e in dataset]
    real = frame["real"].to_numpy()
    print(
        f"{len(frame)} texts ({int(real.sum())} real, {int((~real).sum())} recombined); "
        f"mean length {frame['Narrative'].str.len().mean():.0f} chars; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    old_model = args.old_model
    new_map = args.new_map or EngineOptions().map_method
    paths = {"old": (old_model, args.old_map), "new": (args.new_model, new_map)}
    result: dict[str, object] = {"n": len(frame), "real": int(real.sum()), "load_avg_1m": os.getloadavg()[0]}
    real_dataset = to_dataset(frame[real].reset_index(drop=True))
    begin, begin_cpu = time.perf_counter(), time.process_time()
    OfflineEngine(cache_dir=False).infer_reasons(real_dataset)  # the cleaner on real text only
    result["clean_real_1506_s"] = round(time.perf_counter() - begin, 2)
    result["clean_real_1506_cpu_s"] = round(time.process_time() - begin_cpu, 2)
    labels: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="fmviz-scale-runs-") as out:
        for name, (model, method) in paths.items():
            if args.only and name != args.only:
                continue
            measured = run_path(name, dataset, model, method, args.seed, Path(out))
            assigned = measured.pop("labels")
            labels[name] = [assigned.get(i, "outlier") for i in ids]
            truth = frame.loc[real, "Crash With"].tolist()
            real_labels = [v for v, r in zip(labels[name], real, strict=True) if r]
            measured["nmi_crash_with_real"] = round(
                float(normalized_mutual_info_score(truth, real_labels)), 4
            )
            result[name] = measured
            print(f"{name}: {json.dumps(measured)}", flush=True)
    if len(labels) == 2:
        result["nmi_new_vs_old"] = round(float(normalized_mutual_info_score(labels["old"], labels["new"])), 4)
    if "new" in result:
        result["new_under_60s"] = result["new"]["total_s"] < 60  # type: ignore[index]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
