"""Evaluation: every comparison of the paper's Sec. V, as DataFrames, on any run.

Split by role: :mod:`~fmviz.evaluate.metrics` (partition agreement, weighted F1, purity),
:mod:`~fmviz.evaluate.assignment` (Fig. 5 with the EA and RA baselines),
:mod:`~fmviz.evaluate.taxonomy` (Fig. 4: similarity to an expert taxonomy, matching, coverage),
:mod:`~fmviz.evaluate.reason_quality` (Table I: cosine, ROUGE-L, LLM judge),
:mod:`~fmviz.evaluate.stability` (ensemble members, seeds, input orders),
:mod:`~fmviz.evaluate.baselines` (BERTopic and BERTopic-LLM),
:mod:`~fmviz.evaluate.monitor_metrics` (Table II: detection rates and lead time),
:mod:`~fmviz.evaluate.judge` (the LLM judge) and :mod:`~fmviz.evaluate.run_eval` (all of it on
one run, what ``fmviz eval`` calls). Figures are in :mod:`fmviz.views.evaluation_figures`.
"""

from __future__ import annotations

from fmviz.evaluate.assignment import assignment_quality, compare_assigners, optimal_mapping
from fmviz.evaluate.metrics import cluster_agreement, contingency, label_mapping, purity, weighted_f1
from fmviz.evaluate.monitor_metrics import episode_detections, monitor_metrics
from fmviz.evaluate.reason_quality import reason_quality, rouge_l, summarize_reason_quality
from fmviz.evaluate.run_eval import Evaluation, evaluate_run, truth_labels
from fmviz.evaluate.stability import ensemble_stability, pairwise_ari, rerun_stability
from fmviz.evaluate.taxonomy import Category, Taxonomy, align_taxonomy, load_taxonomy, similarity_matrix

__all__ = [
    "Category",
    "Evaluation",
    "Taxonomy",
    "align_taxonomy",
    "assignment_quality",
    "cluster_agreement",
    "compare_assigners",
    "contingency",
    "ensemble_stability",
    "episode_detections",
    "evaluate_run",
    "label_mapping",
    "load_taxonomy",
    "monitor_metrics",
    "optimal_mapping",
    "pairwise_ari",
    "purity",
    "reason_quality",
    "rerun_stability",
    "rouge_l",
    "similarity_matrix",
    "summarize_reason_quality",
    "truth_labels",
    "weighted_f1",
]
