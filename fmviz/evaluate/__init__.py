"""Evaluation: agreement of discovered failure modes and assignments with ground truth."""

from __future__ import annotations

from fmviz.evaluate.metrics import cluster_agreement, contingency, label_mapping, weighted_f1

__all__ = ["cluster_agreement", "contingency", "label_mapping", "weighted_f1"]
