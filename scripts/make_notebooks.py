"""Write the three case-study notebooks (sources only; run them to fill the outputs).

Kept as a script so the notebooks stay consistent with each other: edit here, then
`python scripts/make_notebooks.py`.
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
from fmviz.evaluate.metrics import cluster_agreement, contingency, weighted_f1
from fmviz.offline.assign import random_assign
from fmviz.pipeline import EngineOptions, PipelineResult, make_engine
from fmviz.views import cluster_frequency_figure, embedding_map_figure, taxonomy_heatmap

# plotly figures that survive `jupyter nbconvert --execute --to html` as well as JupyterLab
pio.renderers.default = "plotly_mimetype+notebook"

ROOT = Path.cwd() if (Path.cwd() / "sample_data").exists() else Path.cwd().parent
# Engines per stage: "offline" needs no key. With GEMINI_API_KEY / OPENAI_API_KEY set you can
# use e.g. FMVIZ_REASONS=gemini:gemini-2.5-pro FMVIZ_CLUSTERS=openai:o4-mini FMVIZ_ASSIGN=openai:o4-mini.
STAGES = ("reasons", "clusters", "assign")
ENGINES = {stage: os.environ.get(f"FMVIZ_{stage.upper()}", "offline") for stage in STAGES}
ENGINES"""


def engines_cell(domain: str) -> str:
    return f"""\
# A call cache beside the notebook: re-running replays paid calls for free, and a colleague can
# replay them offline. Keys are read from the environment and never stored.
options = EngineOptions(domain="{domain}", cache=ROOT / "notebooks" / "{domain}.cache.sqlite")
engines = {{stage: make_engine(spec, options) for stage, spec in ENGINES.items()}}"""


PIPELINE = """\
reasons = engines["reasons"].infer_reasons(dataset)
print(f"{len(reasons)} reasons, {len(reasons.errors)} episodes without one")
reasons.to_frame()[["episode_id", "failure_reason", "engine"]].head()"""

CLUSTERS = """\
clusters = engines["clusters"].discover_clusters(reasons)
clusters.to_frame()"""

ASSIGN = """\
assignments = engines["assign"].assign(reasons, clusters)
offline = engines["reasons"] if ENGINES["reasons"] == "offline" else make_engine("offline", options)
result = PipelineResult(
    dataset, reasons, clusters, assignments, engines=ENGINES,
    embedding_map=offline.embedding_map(reasons, clusters, assignments),
)
result.summary()[["id", "name", "assigned", "share", "keywords"]]"""

FIGURES = """\
cluster_frequency_figure(result.summary()).show()
hover = reasons.to_frame().set_index("episode_id")["failure_reason"]
embedding_map_figure(result.embedding_map, cluster_names=clusters.names(), hover=hover).show()"""

SAVE = """\
written = result.save(ROOT / "runs" / dataset.name)
written["report"]"""


def navigation() -> list:
    return [
        new_markdown_cell(
            "# Case study 3: vision-based indoor navigation (synthetic)\n\n"
            "A ground robot drives through office-like rooms and sometimes collides. The clips in "
            "`sample_data/navigation` are **synthetic**: rendered by `fmviz.synth.navigation`, each with a "
            "known cause (thin chair legs, white walls, glass doors, narrow gaps, low clutter, corners, "
            "dark boxes, overhangs) and a log narrative written from the simulator state. Because the "
            "causes are known, this notebook also measures how well the discovered failure modes recover "
            "them.\n\nEverything runs offline with no API key; set `FMVIZ_REASONS` etc. to use a model."
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## Data in\nOne row per collision episode; `label` is the generator's cause."),
        new_code_cell(
            'dataset = fmviz.load_dataset(ROOT / "sample_data" / "navigation")\n'
            "print(dataset.summary())\n"
            'dataset.to_frame()[["id", "source", "failure_frame", "label", "narrative"]].head()'
        ),
        new_markdown_cell(
            "The tail of one clip, as stage 1 sends it to a multimodal model: the last T frames at a "
            "reduced frame rate, resized. Drag the slider to scrub; it also works in the exported HTML."
        ),
        new_code_cell(
            "from fmviz.video import TailSpec, select_tail\n"
            "from fmviz.views import clip_figure\n\n"
            "clip = select_tail(dataset[0], TailSpec(frames=8, fps=5, max_side=256))\n"
            "print(dataset[0].label, '|', dataset[0].narrative[:200])\n"
            "clip_figure(clip).show()"
        ),
        new_markdown_cell("## Stage 1: failure reasons"),
        new_code_cell(engines_cell("navigation")),
        new_code_cell(PIPELINE),
        new_markdown_cell("## Stage 2: failure modes\nThe engine chooses the number of clusters itself."),
        new_code_cell(CLUSTERS),
        new_markdown_cell("## Stage 3: assignment"),
        new_code_cell(ASSIGN),
        new_code_cell(FIGURES),
        new_markdown_cell(
            "## Evaluation against the known causes\n"
            "Adjusted Rand index and NMI of the assignment against the generator's labels, the "
            "cluster-vs-cause heatmap, and weighted F1 (each cluster mapped to its majority cause) "
            "for our assignment and a random assigner (RA)."
        ),
        new_code_cell(
            "truth = {e.id: e.label for e in dataset}\n"
            "predicted = assignments.labels()\n"
            "print(cluster_agreement(predicted, truth))\n"
            'print("weighted F1, ours:", round(weighted_f1(predicted, truth), 3))\n'
            "random_labels = random_assign(reasons, clusters, seed=0).labels()\n"
            'print("weighted F1, RA:  ", round(weighted_f1(random_labels, truth), 3))\n'
            "taxonomy_heatmap(contingency(predicted, truth)).show()"
        ),
        new_markdown_cell(
            "## Results out\nThe same files `fmviz run` writes, including a standalone HTML report."
        ),
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
            'frame = dataset.to_frame()\nframe[["id", "Reporting Entity", "label", "narrative"]].head()'
        ),
        new_code_cell('frame["Reporting Entity"].value_counts().head(10)'),
        new_markdown_cell(
            "## Stage 1: failure reasons, after cleaning\n"
            "Most narratives come from one company and share its standard sentences; masked spans like "
            "`[XXX]` carry no content. The offline engine strips both before clustering, so clusters follow "
            "the crash, not the reporting company. The table shows what was removed."
        ),
        new_code_cell(engines_cell("driving")),
        new_code_cell(PIPELINE),
        new_code_cell(
            'if ENGINES["reasons"] == "offline":\n    display(engines["reasons"].cleaning_report().head(10))'
        ),
        new_markdown_cell("## Stage 2: failure modes"),
        new_code_cell(CLUSTERS),
        new_markdown_cell("## Stage 3: assignment"),
        new_code_cell(ASSIGN),
        new_code_cell(FIGURES),
        new_markdown_cell(
            "## Clusters vs the reports' own scenario labels\n"
            "`Crash With` says what was hit; it describes the scenario, not the root cause, so expect "
            "partial agreement."
        ),
        new_code_cell(
            "truth = {e.id: e.label for e in dataset if e.label}\n"
            "predicted = {k: v for k, v in assignments.labels().items() if k in truth}\n"
            "print(cluster_agreement(predicted, truth))\n"
            "taxonomy_heatmap(contingency(predicted, truth)).show()"
        ),
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
            "stage 1 reasons from the clip and the task context with the paper's chain-of-thought prompt."
        ),
        new_code_cell(SETUP),
        new_markdown_cell("## Data in"),
        new_code_cell(
            'dataset = fmviz.load_dataset(ROOT / "sample_data" / "manipulation")\n'
            "print(dataset.summary())\n"
            'dataset.to_frame()[["id", "task", "success_condition", "action_plan", "expert_reason"]].head()'
        ),
        new_markdown_cell(
            "The simulated clip's tail at 1 frame per second, ending at the annotated failure time."
        ),
        new_code_cell(
            "from fmviz.video import TailSpec, select_tail\n"
            "from fmviz.views import clip_figure\n\n"
            "simulated = next(e for e in dataset if e.has_frames)\n"
            "print(simulated.task, '|', simulated.expert_reason)\n"
            "clip_figure(select_tail(simulated, TailSpec(frames=8, fps=1, max_side=320))).show()"
        ),
        new_markdown_cell(
            "The prompt stage 1 would send for it (the paper's Fig. 2 prompt, filled with the task context):"
        ),
        new_code_cell(
            "from fmviz.stages import load_prompts\n\n"
            'prompts = load_prompts("manipulation")\n'
            'print(prompts.render("reasons", **simulated.context(), observations="<8 frames attached>"))'
        ),
        new_markdown_cell("## Stage 1: failure reasons"),
        new_code_cell(engines_cell("manipulation")),
        new_code_cell(PIPELINE),
        new_markdown_cell("## Stage 2: failure modes"),
        new_code_cell(CLUSTERS),
        new_markdown_cell("## Stage 3: assignment"),
        new_code_cell(ASSIGN),
        new_code_cell(FIGURES),
        new_markdown_cell("## Results out"),
        new_code_cell(SAVE),
    ]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in (
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
