"""The ``fmviz eval`` command: every comparison of the paper that applies to a finished run.

It reads a run folder, computes what the data supports (:func:`fmviz.evaluate.evaluate_run`)
and writes ``RUN_DIR/evaluation/`` (:func:`fmviz.views.evaluation.write_evaluation`), which the
run's report shows. Offline by default: taxonomy similarity by embeddings, no judge. ``--judge``
adds the LLM judge and ``--labeller`` the model that names BERTopic-LLM's topics, both through
the same cached runner as the stages.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fmviz import LLM
    from fmviz.evaluate import Evaluation, Taxonomy
    from fmviz.pipeline import Run

__all__ = ["register"]

#: Taxonomy used when ``--taxonomy`` is not given, by dataset domain.
DEFAULT_TAXONOMY = {"manipulation": "robofail", "driving": "volpe"}


def load_run_folder(run_dir: str | Path, data: str | None) -> Run:
    """The run in ``run_dir`` (``.dataset``, ``.reasons``, ``.clusters``, ``.assignments``).

    The dataset is the one the run folder records, unless ``data`` names another copy of it.
    """
    from fmviz.loaders import load_dataset
    from fmviz.pipeline import load_run

    return load_run(run_dir, load_dataset(data) if data else None)


def _model(spec: str | None, args: argparse.Namespace, domain: str) -> LLM | None:
    """The runner for a model spec (``None`` or ``offline``: no model)."""
    if not spec or spec == "offline":
        return None
    from fmviz.engine import EngineOptions, make_engine

    options = EngineOptions(
        base_url=args.base_url,
        cache=args.cache,
        concurrency=args.concurrency,
        budget_usd=args.budget,
        timeout=args.timeout,
        domain=domain,
    )
    return make_engine(spec, options).llm  # type: ignore[attr-defined]


def _evaluate(
    args: argparse.Namespace,
    run: Run,
    labels: list[str],
    taxonomy: Taxonomy | None,
    baselines: list[str],
    judge: LLM | None,
    labeller: LLM | None,
) -> Evaluation:
    from fmviz.evaluate import evaluate_run
    from fmviz.offline.embeddings import Embedder

    return evaluate_run(
        run.dataset,
        run.reasons,
        run.clusters,
        run.current_assignments,
        labels=labels,
        taxonomy=taxonomy,
        baselines=baselines,
        judge=judge,
        labeller=labeller,
        embedder=Embedder(args.embedding_model) if args.embedding_model else None,
        seed=args.seed,
        stability=not args.no_stability,
    )


def _cmd_eval(args: argparse.Namespace) -> int:
    from fmviz.evaluate import load_taxonomy
    from fmviz.views.evaluation import EVALUATION_DIR, write_evaluation

    run = load_run_folder(args.run_dir, args.data)
    dataset = run.dataset
    labels = [item.strip() for item in args.labels or [] if item.strip()]
    if not labels and any(e.label for e in dataset):
        labels = ["label"]
    taxonomy_name = args.taxonomy or DEFAULT_TAXONOMY.get(dataset.domain)
    taxonomy = load_taxonomy(taxonomy_name) if taxonomy_name and taxonomy_name != "none" else None
    baselines = [b.strip().lower() for b in args.baselines.split(",") if b.strip()]
    judge = _model(args.judge, args, dataset.domain)
    labeller = _model(args.labeller, args, dataset.domain) if args.labeller else judge
    print(
        f"fmviz eval: {len(run.reasons)} reasons, {len(run.clusters)} clusters; labels {labels or 'none'}; "
        f"taxonomy {taxonomy.name if taxonomy else 'none'}; baselines {baselines or 'none'}; "
        f"judge {judge.spec if judge else 'none (similarity by embeddings)'}",
        file=sys.stderr,
    )
    try:
        evaluation = _evaluate(args, run, labels, taxonomy, baselines, judge, labeller)
    except ImportError as exc:  # an optional extra (bertopic) is missing: say which, no traceback
        print(f"fmviz: error: {exc}", file=sys.stderr)
        return 2
    folder = Path(args.run_dir) / EVALUATION_DIR
    written = write_evaluation(evaluation, folder)
    summary = evaluation.summary()
    if len(summary):
        shown = ["labels", "method", "weighted_f1_optimal", "weighted_f1_majority", "ari", "nmi", "purity"]
        shown += ["alignment", "coverage"]
        table = summary[[c for c in shown if c in summary.columns]]
        print(table.to_string(index=False, float_format="%.3f"))
    stale = run.stale_message()
    if stale:
        print(f"note: {stale}; pending episodes are scored as they stand")
    for note in evaluation.notes:
        print(f"note: {note}")
    print(f"{len(written)} files -> {folder}")
    report = Path(args.run_dir) / "report.html"
    if report.exists():  # the report shows the evaluation: bring it up to date
        print(f"report -> {run.write_report(report)}")
    if judge is not None and len(judge.ledger.to_frame()):
        print(f"judge cost: ${judge.ledger.total_cost:.4f}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval",
        help="evaluate a run: assignment F1 with EA/RA, taxonomy alignment, baselines, stability",
        description="Compute every comparison that applies to a finished run and write RUN_DIR/evaluation/.",
    )
    parser.add_argument("run_dir", help="a run folder written by `fmviz run`")
    parser.add_argument(
        "--labels",
        action="append",
        metavar="COLUMN",
        help="label column to score assignments against: 'label' or a metadata column; 'A|B' joins "
        "columns; repeat for several (default: label, when the episodes carry one)",
    )
    parser.add_argument(
        "--taxonomy",
        metavar="FILE|robofail|volpe|none",
        help="expert taxonomy to align clusters with (default: robofail for manipulation, volpe for driving)",
    )
    parser.add_argument(
        "--baselines",
        default="ea,ra",
        help="comma-separated: ea, ra, bertopic, bertopic-llm (needs --labeller or --judge) (default: ea,ra)",
    )
    parser.add_argument(
        "--judge",
        metavar="SPEC",
        help="LLM judge for reason quality and taxonomy similarity (1-10 per pair), e.g. openai:o4-mini "
        "(default: none; similarity by embeddings)",
    )
    parser.add_argument(
        "--labeller",
        metavar="SPEC",
        help="model that names BERTopic topics (bertopic-llm), e.g. local, openai:MODEL (default: --judge)",
    )
    parser.add_argument("--data", help="the dataset the run came from (only for run folders that lack it)")
    group = parser.add_argument_group("model calls (with --judge or --labeller)")
    group.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://localhost:11434/v1")
    group.add_argument("--cache", help="call cache file (sqlite); default: $FMVIZ_CACHE or ~/.cache/fmviz")
    group.add_argument("--concurrency", type=int, default=16, help="parallel model calls (default 16)")
    group.add_argument("--budget", type=float, help="stop before the judge spends more than this many USD")
    group.add_argument("--timeout", type=float, default=120.0, help="seconds per model call")
    parser.add_argument("--embedding-model", help="sentence-transformers model for EA, cosine, similarity")
    parser.add_argument("--seed", type=int, default=0, help="seed of RA, BERTopic's UMAP and the reruns")
    parser.add_argument("--no-stability", action="store_true", help="skip the rerun stability tables")
    parser.set_defaults(func=_cmd_eval)
