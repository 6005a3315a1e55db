"""Rebuild the three case-study datasets under ``sample_data/`` with one command.

    python scripts/build_sample_data.py [--shared ../shared] [--only driving manipulation navigation]

- ``driving``: ~300 real NHTSA SGO ADS crash narratives (public domain), a seeded selection
  stratified by reporting entity and crash scenario, from ``<shared>/data/nhtsa_sgo_ads``.
- ``manipulation``: the 30 real-world REFLECT/RoboFail episodes (MIT) plus the one
  simulated AI2-THOR failure video, downsampled, from ``<shared>/data/reflect``.
- ``navigation``: synthetic clips from :func:`fmviz.synth.generate_navigation` (no input).

The repository's tests never read ``../shared``; they only check what this script wrote.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmviz.episodes import EPISODE_COLUMNS  # noqa: E402

DRIVING_SEED = 20240601
DRIVING_TARGET = 300
DRIVING_EXTRA = [
    "Reporting Entity",
    "Make",
    "Model",
    "Incident Date",
    "City",
    "State",
    "Roadway Type",
    "SV Pre-Crash Movement",
    "CP Pre-Crash Movement",
    "SV Contact Areas",
    "CP Contact Areas",
    "SV Precrash Speed (MPH)",
    "Highest Injury Severity Alleged",
    "Report Version",
    "Narrative - CBI?",
]
DRIVING_TASK = "Drive the automated vehicle safely along its route to its destination."
DRIVING_SUCCESS = "The vehicle completes its route without contact with any road user or object."
DRIVING_NOTES = (
    "Task and success condition are generic context added by fmviz; they are not part of the "
    "NHTSA report. Text-only episode (no video)."
)
THOR_SIZE = 320


def sqrt_quotas(counts: pd.Series, target: int) -> pd.Series:
    """Per-group quotas proportional to sqrt(group size), capped at the group size, summing to target.

    Square-root allocation keeps the biggest reporter (one company files ~70% of reports)
    well represented without letting it crowd out the others.
    """
    counts = counts.astype(int)
    if counts.sum() <= target:
        return counts.copy()
    lo, hi = 0.0, float(target)
    for _ in range(100):
        c = (lo + hi) / 2
        quota = np.minimum(counts, np.floor(c * np.sqrt(counts)).astype(int))
        if quota.sum() < target:
            lo = c
        else:
            hi = c
    quota = np.minimum(counts, np.floor(lo * np.sqrt(counts)).astype(int))
    # Hand out what rounding left over to the groups with the most headroom, in a fixed order.
    short = target - int(quota.sum())
    order = sorted(counts.index, key=lambda g: (-(counts[g] - quota[g]), str(g)))
    for g in order:
        if short <= 0:
            break
        if quota[g] < counts[g]:
            quota[g] += 1
            short -= 1
    return quota


def select_driving(
    frame: pd.DataFrame, target: int = DRIVING_TARGET, seed: int = DRIVING_SEED
) -> pd.DataFrame:
    """The documented selection: eligible rows, sqrt quotas per entity, round-robin over scenarios."""
    df = frame.copy()
    df["Narrative"] = df["Narrative"].fillna("").astype(str).str.strip()
    df = df.sort_values(["Report ID", "Report Version"]).drop_duplicates("Report ID", keep="last")
    df = df[df["Narrative"].str.len() >= 200]
    df = df[~df["Narrative"].str.contains("duplicate of report", case=False)]
    df = df[df["Crash With"].notna()]
    rng = np.random.default_rng(seed)
    df = df.assign(_key=rng.random(len(df)))
    quotas = sqrt_quotas(df["Reporting Entity"].value_counts(), target)
    picks = []
    for entity, group in df.groupby("Reporting Entity", sort=True):
        group = group.sort_values("_key")
        # Round-robin over crash scenarios: the i-th pick of each `Crash With` value comes
        # before the (i+1)-th of any, so every scenario an entity reported appears early.
        group = group.assign(_rank=group.groupby("Crash With").cumcount())
        group = group.sort_values(["_rank", "_key"])
        picks.append(group.head(int(quotas[entity])))
    chosen = pd.concat(picks).sort_values("Report ID")
    return chosen.drop(columns=["_key", "_rank"])


def build_driving(shared: Path, out: Path) -> pd.DataFrame:
    source = shared / "data" / "nhtsa_sgo_ads" / "sgo_ads_incidents_2021_2025.csv"
    raw = pd.read_csv(source, dtype={"Report ID": str})
    chosen = select_driving(raw)
    table = pd.DataFrame(
        {
            "id": chosen["Report ID"].values,
            "source": "",
            "fps": None,
            "failure_frame": None,
            "failure_time": None,
            "task": DRIVING_TASK,
            "success_condition": DRIVING_SUCCESS,
            "action_plan": "[]",
            "notes": DRIVING_NOTES,
            "narrative": chosen["Narrative"].values,
            "expert_reason": None,
            "label": chosen["Crash With"].values,
        }
    )
    for column in DRIVING_EXTRA:
        values = chosen[column].values
        table[column] = [v.strip() if isinstance(v, str) else v for v in values]
    _reset(out)
    table.to_csv(out / "manifest.csv", index=False)
    info = {
        "name": "driving",
        "domain": "driving",
        "description": (
            f"{len(table)} real automated-driving-system crash narratives from NHTSA Standing General "
            "Order 2021-01 (public domain), a seeded selection stratified by reporting entity and "
            "crash scenario. label = `Crash With` (a scenario, not a root cause). Text only."
        ),
        # Lets text cleaning learn each company's standard sentences (fmviz.offline.TextCleaner).
        "group_column": "Reporting Entity",
    }
    _write_json(out / "dataset.json", info)
    return table


def _mmss(text: str) -> float:
    minutes, seconds = str(text).split(":")
    return 60 * int(minutes) + float(seconds)


def _failure_start(step: object) -> float:
    """Seconds of a REFLECT ``gt_failure_step``: "MM:SS", [start, end] or [[start, end]] -> start."""
    while isinstance(step, list):
        step = step[0]
    return _mmss(str(step))


def build_manipulation(shared: Path, out: Path) -> pd.DataFrame:
    reflect = shared / "data" / "reflect"
    real = json.loads((reflect / "tasks_real_world.json").read_text())
    rows = []
    for key, task in real.items():
        objects = list(task.get("object_list", []))
        row = {
            "id": task["general_folder_name"],
            "source": "",
            "fps": None,
            "failure_frame": None,
            "failure_time": _failure_start(task["gt_failure_step"]),
            "task": task["name"],
            "success_condition": task["success_condition"],
            "action_plan": json.dumps(task["actions"]),
            "notes": "Objects in the scene: " + "; ".join(objects) + ".",
            "narrative": None,
            "expert_reason": task["gt_failure_reason"],
            "label": None,
            "origin": "real (UR5 robot); video not public",
            "reflect_key": key,
            "task_idx": task.get("task_idx"),
            "gt_failure_step": json.dumps(task["gt_failure_step"]),
            "object_list": json.dumps(objects),
            "distractor_list": json.dumps(task["distractor_list"]) if "distractor_list" in task else None,
        }
        rows.append(row)

    sim_tasks = json.loads((reflect / "tasks.json").read_text())
    key, sim = next((k, t) for k, t in sim_tasks.items() if t.get("folder_name") == "boilWater-1")
    video_rel = "videos/boilWater-1.mp4"
    _reset(out)
    frames = _downsample_video(reflect / "thor_tasks" / "boilWater-1" / "original-video.mp4", THOR_SIZE)
    from fmviz.video import write_video

    write_video(frames, out / video_rel, 1.0, crf=28)
    start = _failure_start(sim["gt_failure_step"])
    rows.append(
        {
            "id": "thor-boilWater-1",
            "source": video_rel,
            "fps": 1.0,
            "failure_frame": int(start),
            "failure_time": start,
            "task": sim["name"],
            "success_condition": sim["success_condition"],
            "action_plan": json.dumps(sim["actions"]),
            "notes": f"SIMULATED episode (AI2-THOR {sim['scene']}); video downsampled to "
            f"{THOR_SIZE}x{THOR_SIZE} at 1 frame per second.",
            "narrative": None,
            "expert_reason": sim["gt_failure_reason"],
            "label": None,
            "origin": "simulated (AI2-THOR)",
            "reflect_key": key,
            "task_idx": sim.get("task_idx"),
            "gt_failure_step": json.dumps(sim["gt_failure_step"]),
            "object_list": None,
            "distractor_list": None,
        }
    )
    table = pd.DataFrame(rows)
    assert list(table.columns[: len(EPISODE_COLUMNS)]) == list(EPISODE_COLUMNS)
    table.to_csv(out / "manifest.csv", index=False)
    shutil.copyfile(reflect / "LICENSE", out / "LICENSE")
    info = {
        "name": "manipulation",
        "domain": "manipulation",
        "description": (
            "REFLECT/RoboFail kitchen-robot failures (Liu et al. 2023, MIT licence): 30 real UR5 "
            "episodes with task context and expert failure reasons (no video), plus one simulated "
            "AI2-THOR failure video (boilWater-1)."
        ),
    }
    _write_json(out / "dataset.json", info)
    return table


def _downsample_video(path: Path, side: int) -> list[np.ndarray]:
    import av
    from PIL import Image

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_image().resize((side, side), Image.Resampling.LANCZOS)
            frames.append(np.asarray(image))
    return frames


def build_navigation(out: Path, seed: int = 0) -> pd.DataFrame:
    from fmviz.synth import generate_navigation

    _reset(out)
    dataset = generate_navigation(out, n_per_cause=10, n_safe=20, seed=seed, size=(128, 96), fps=10.0)
    return dataset.to_frame()


def _reset(out: Path) -> None:
    """Empty the generated parts of a case folder (its README.md is kept)."""
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.name == "README.md":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared/ folder")
    parser.add_argument("--out", type=Path, default=ROOT / "sample_data")
    parser.add_argument("--only", nargs="*", default=["driving", "manipulation", "navigation"])
    args = parser.parse_args(argv)
    report = {}
    if "driving" in args.only:
        table = build_driving(args.shared, args.out / "driving")
        report["driving"] = {
            "episodes": len(table),
            "entities": int(table["Reporting Entity"].nunique()),
            "labels": int(table["label"].nunique()),
        }
    if "manipulation" in args.only:
        table = build_manipulation(args.shared, args.out / "manipulation")
        report["manipulation"] = {"episodes": len(table)}
    if "navigation" in args.only:
        table = build_navigation(args.out / "navigation")
        report["navigation"] = {"episodes": len(table), "labels": int(table["label"].nunique())}
    for name in report:
        report[name]["size_mb"] = round(_size_mb(args.out / name), 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
