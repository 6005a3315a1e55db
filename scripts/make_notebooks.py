"""Write the quick-start and the three case-study notebooks (sources only; run them to fill outputs).

Kept as a script so the notebooks stay consistent with each other: edit here, then
`python scripts/make_notebooks.py`. Notebook code uses the public API only (`fmviz.*` and a
run's methods), runs top to bottom with no key, and writes relative paths only, so an
exported report names no folder of the machine that made it.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parents[1] / "notebooks"

SETUP = """\
import os
from pathlib import Path

import plotly.io as pio

import fmviz

# plotly figures that survive `jupyter nbconvert --execute --to html` as well as JupyterLab
pio.renderers.default = "plotly_mimetype+notebook"
# relative paths only: an exported report names no folder of this machine
ROOT = Path(".") if Path("sample_data").exists() else Path("..")
# Engines per stage: "offline" needs no key (see "Using a model" below to switch).
STAGES = ("reasons", "clusters", "assign")
ENGINES = {stage: os.environ.get(f"FMVIZ_{stage.upper()}", "offline") for stage in STAGES}
ENGINES"""

PROVIDERS = """\
### Using a model instead of the offline engine

Keys come from the environment only (`GEMINI_API_KEY`, `OPENAI_API_KEY`) and never land in the
notebook, the cache or a report. Set the engines before running the pipeline cell, e.g.

```python
ENGINES = {"reasons": "gemini:gemini-2.5-pro", "clusters": "openai:o4-mini", "assign": "openai:o4-mini"}
# or any OpenAI-compatible server (vLLM, Ollama, LM Studio), no key needed:
ENGINES = {"reasons": "openai:llama3.1", "clusters": "openai:llama3.1", "assign": "openai:llama3.1"}
options = fmviz.EngineOptions(domain=DOMAIN, base_url="http://localhost:11434/v1", cache=CACHE)
```

or export `FMVIZ_REASONS=gemini:gemini-2.5-pro` (and `FMVIZ_CLUSTERS`, `FMVIZ_ASSIGN`) before
starting JupyterLab. `fmviz estimate` prices a run before it spends anything. The call cache
next to this notebook replays every paid call, so a colleague reruns the notebook offline."""


def pipeline_cell(domain: str, map_method: str = "umap") -> str:
    return f"""\
DOMAIN = "{domain}"
CACHE = ROOT / "notebooks" / "{domain}.cache.sqlite"
options = fmviz.EngineOptions(domain=DOMAIN, cache=CACHE, map_method="{map_method}")
run = fmviz.run_pipeline(dataset, options=options, **ENGINES)
run.summary()[["id", "name", "assigned", "share", "keywords"]]"""


EDIT_INTRO = (
    "## Edit the failure modes\n"
    "Every edit is an operation in the cluster set's log: logged, undoable, saved with the set. "
    "In JupyterLab the editor below does the same with buttons (select clusters and merge, split, "
    "rename inline, move episodes, triage the outlier queue, Undo / Redo, Assign). Here the edits "
    "are made from code so the notebook runs unattended: merge the two smallest modes and rename "
    "the largest. Merge and rename re-ask nobody; a split re-asks only the split mode's episodes."
)

EDIT = """\
summary = run.summary()
modes = summary[summary["id"] != fmviz.OUTLIER].sort_values("assigned")
smallest, largest = modes["id"].tolist()[:2], modes["id"].tolist()[-1]
run.edit().merge(*smallest, name="Merged: " + " / ".join(modes["name"].tolist()[:2]))
run.edit().split(largest, into=2)
print(f"{len(run.current_assignments.pending_ids)} episodes await re-assignment")
run.edit().log"""

REASSIGN = """\
outcome = run.reassign()  # asks the engine about the split mode's episodes only
print(outcome)
run.summary()[["id", "name", "assigned", "share"]]"""

SAVE = """\
written = run.save(ROOT / "runs" / dataset.name)
print("report:", written["report"].as_posix())
# share it: `fmviz export notebooks/<this notebook>.ipynb --out report.html` executes the notebook
# and writes one HTML file whose widgets and figures open offline"""


MONITOR = """\
from fmviz.monitor import load_safe_runs, monitor_episodes, monitor_table, score_source, train_learned_source
from fmviz.synth.heldout import monitor_test_sets

safe_runs = load_safe_runs(run.dataset)
training = monitor_episodes(run.dataset, failed=True) + monitor_episodes(safe_runs, failed=False)
monitor = train_learned_source(training, every=2)
heldout = monitor_test_sets(n_per_cause=1, n_safe=4, progress=False)
metrics, steps = score_source(monitor, heldout, k=3, window=4, every=2, progress=False)
monitor_table(metrics)"""

LOOP = """\
from fmviz.synth.closed_loop import LoopConfig, closed_loop, loop_summary

tiny = LoopConfig(demos_per_cause=2, deploy_per_cause=2, test_per_cause=1, budget=6, size=(32, 24), frames=24)
loop_summary(closed_loop(seeds=(0,), config=tiny, progress=False))"""


def quickstart() -> list:
    return [
        new_markdown_cell(
            "# Quick start: from a folder of clips to edited, assigned failure modes\n\n"
            "The clips in `sample_data/navigation` are **synthetic** collisions of an indoor robot "
            "(rendered by `fmviz.synth.navigation`), each with a log narrative. Everything runs offline "
            "with no API key."
        ),
        new_code_cell(SETUP),
        new_code_cell(
            'dataset = fmviz.load_dataset(ROOT / "sample_data" / "navigation")\nprint(dataset.summary())'
        ),
        new_markdown_cell("## Reasons, failure modes, assignment: one call"),
        new_code_cell(pipeline_cell("navigation")),
        new_markdown_cell(
            "## Triage\nThe embedding map (box or lasso select), the episode list and the clip scrubber "
            "(play, scrub, the failure frame marked, the chain-of-thought reason beside it), linked in the "
            "browser, with the cluster editor below."
        ),
        new_code_cell("run.triage()"),
        new_markdown_cell(EDIT_INTRO),
        new_code_cell(EDIT),
        new_code_cell(REASSIGN),
        new_code_cell("run.editor()"),
        new_markdown_cell(PROVIDERS),
        new_markdown_cell("## Results out"),
        new_code_cell(SAVE),
    ]


def navigation() -> list:
    return [
        new_markdown_cell(
            "# Case study 3: vision-based indoor navigation (synthetic)\n\n"
            "A ground robot drives through office-like rooms and sometimes collides. The clips in "
            "`sample_data/navigation` are **synthetic**: rendered by `fmviz.synth.navigation`, each with a "
            "known cause (thin chair legs, white walls, glass doors, narrow gaps, low clutter, corners, "
            "dark boxes, overhangs) and a log narrative written from the simulator state. Because the "
            "causes are known, this notebook also measures how well the discovered failure modes recover "
            "them, runs a failure monitor, and closes the loop with targeted data collection."
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## Data in\nOne row per collision episode; `label` is the generator's cause."),
        new_code_cell(
            'dataset = fmviz.load_dataset(ROOT / "sample_data" / "navigation")\n'
            "print(dataset.summary())\n"
            'dataset.to_frame()[["id", "failure_frame", "label", "narrative"]].head()'
        ),
        new_markdown_cell("## Reasons, failure modes (the engine picks their number), assignment"),
        new_code_cell(pipeline_cell("navigation")),
        new_markdown_cell(
            "## Scrub the clips\nThe last frames before each collision, at a lower frame rate, as stage 1 "
            "sends them to a multimodal model. Play and the slider run in the browser."
        ),
        new_code_cell("run.scrubber()"),
        new_markdown_cell(EDIT_INTRO),
        new_code_cell(EDIT),
        new_code_cell(REASSIGN),
        new_code_cell("run.editor()"),
        new_markdown_cell(
            "## Evaluation against the known causes\n"
            "Weighted F1 after mapping clusters to causes (optimal one-to-one matching, and majority vote "
            "as a second view), ARI, NMI and purity, next to the paper's baselines: the embedding assigner "
            "(EA) and random assignment (RA)."
        ),
        new_code_cell(
            'evaluation = run.evaluate(labels=["label"], baselines=["ea", "ra"])\nevaluation.summary()'
        ),
        new_code_cell('run.heatmap("label")'),
        new_markdown_cell(
            "## A runtime failure monitor\n"
            "The monitor watches a stream of frames and alarms after k consecutive unsafe verdicts (the "
            "paper uses k = 3). With no key it runs the learned frame classifier, trained on this run's "
            "collisions and safe runs; `fmviz monitor RUN_DIR --source llm` runs the multimodal monitor "
            "with the failure modes above as context (and `nocontext`, `llm-ad` for the paper's "
            "baselines). Held-out runs come from the generator: the same building (in distribution) "
            "and a restyled one (out of distribution). A small held-out set keeps this cell quick."
        ),
        new_code_cell(MONITOR),
        new_markdown_cell(
            "## Closing the loop\nA learned braking policy drives the generator's rooms; fmviz finds the "
            "failure modes of its collisions; the same number of extra demonstrations is collected either "
            "targeted at the modes' conditions or uniformly, and the policy retrained. This cell runs one "
            "seed at a tiny size to show the mechanics; `python benchmarks/bench_closed_loop.py` runs "
            "the measured version (several seeds, with a spread)."
        ),
        new_code_cell(LOOP),
        new_markdown_cell(PROVIDERS),
        new_markdown_cell(
            "## Targeted data collection\nPer failure mode, the conditions to collect more data in (from "
            "its members' recorded conditions, keywords and description) and how many episodes, weighted "
            "by frequency, under a budget."
        ),
        new_code_cell("run.collection_plan(budget=40).to_frame()"),
        new_markdown_cell("## Results out"),
        new_code_cell(SAVE),
    ]


def driving() -> list:
    return [
        new_markdown_cell(
            "# Case study 2: automated-driving crashes (real NHTSA reports)\n\n"
            "`sample_data/driving` holds 300 **real** crash narratives that operators of automated driving "
            "systems filed with NHTSA under Standing General Order 2021-01 (public domain). There is no "
            "video, so stage 1 reads the operator's narrative. The report columns `Crash With`, "
            "`SV Pre-Crash Movement` and `CP Pre-Crash Movement` describe the crash scenario and serve as "
            "the closest thing to expert labels."
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## Data in"),
        new_code_cell(
            'dataset = fmviz.load_dataset(ROOT / "sample_data" / "driving")\n'
            "print(dataset.summary())\n"
            'frame = dataset.to_frame()\nframe[["id", "label", "narrative"]].head()'
        ),
        new_markdown_cell(
            "## Reasons (after cleaning), failure modes, assignment\n"
            "Most narratives share their company's standard sentences, places and names; the offline "
            "engine masks and strips them before clustering, so clusters follow the crash, not the city "
            "or the company. `run.cleaning` lists every removal."
        ),
        new_code_cell(pipeline_cell("driving")),
        new_code_cell("run.cleaning.head(10) if run.cleaning is not None else None"),
        new_markdown_cell("## The embedding map\nHover for the narrative; box or lasso select."),
        new_code_cell("run.map()"),
        new_markdown_cell(EDIT_INTRO),
        new_code_cell(EDIT),
        new_code_cell(REASSIGN),
        new_markdown_cell(
            "## Against the reports' own scenario columns\n"
            "`Crash With` says what was hit and the pre-crash movements what both parties were doing; "
            "they describe the scenario, not the root cause, so expect partial agreement. The leakage "
            "columns (`City`, `Reporting Entity`) should agree as little as possible."
        ),
        new_code_cell(
            'scenario = ["label", "SV Pre-Crash Movement|CP Pre-Crash Movement"]\n'
            'evaluation = run.evaluate(labels=scenario, taxonomy="volpe", baselines=["ea", "ra"])\n'
            "evaluation.summary()"
        ),
        new_code_cell('run.heatmap("label")'),
        new_markdown_cell(PROVIDERS),
        new_markdown_cell("## Targeted data collection"),
        new_code_cell("run.collection_plan(budget=100).to_frame()"),
        new_markdown_cell("## Results out"),
        new_code_cell(SAVE),
    ]


def manipulation() -> list:
    return [
        new_markdown_cell(
            "# Case study 1: robot manipulation (REFLECT / RoboFail)\n\n"
            "`sample_data/manipulation` holds the 30 **real** kitchen-robot failures of the REFLECT "
            "dataset (MIT licence): task, success condition, the robot's action plan, the failure time and "
            "an expert's failure reason; plus one **simulated** failure clip (AI2-THOR). The real videos are "
            "not public, so offline stage 1 reads the expert reasons; with a multimodal model configured, "
            "stage 1 reasons from the clip and the task context with the paper's chain-of-thought prompt "
            "(and from the task context alone where there is no clip)."
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## Data in"),
        new_code_cell(
            'dataset = fmviz.load_dataset(ROOT / "sample_data" / "manipulation")\n'
            "print(dataset.summary())\n"
            'dataset.to_frame()[["id", "task", "success_condition", "action_plan", "expert_reason"]].head()'
        ),
        new_markdown_cell("## Reasons, failure modes, assignment"),
        new_code_cell(pipeline_cell("manipulation", map_method="pca")),
        new_markdown_cell(
            "## Scrub the simulated clip\nIts tail ends at the annotated failure time; the real episodes "
            "show their task context and reasons as text."
        ),
        new_code_cell("run.scrubber()"),
        new_markdown_cell(EDIT_INTRO),
        new_code_cell(EDIT),
        new_code_cell(REASSIGN),
        new_code_cell("run.editor()"),
        new_markdown_cell(
            "## Against the RoboFail failure taxonomy\n"
            "The similarity of each failure mode to each of the expert taxonomy's categories, the optimal "
            "one-to-one matching and how many categories are covered (the paper's Fig. 4, scored offline "
            "by embeddings here; with a key, by an LLM judge on a 1-10 scale)."
        ),
        new_code_cell('evaluation = run.evaluate(taxonomy="robofail", baselines=[])\nevaluation.summary()'),
        new_markdown_cell(PROVIDERS),
        new_markdown_cell("## Targeted data collection"),
        new_code_cell("run.collection_plan(budget=20).to_frame()"),
        new_markdown_cell("## Results out"),
        new_code_cell(SAVE),
    ]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in (
        ("00_quickstart", quickstart()),
        ("01_manipulation", manipulation()),
        ("02_driving_crashes", driving()),
        ("03_indoor_navigation", navigation()),
    ):
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(notebook, HERE / f"{name}.ipynb")
        print(HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
