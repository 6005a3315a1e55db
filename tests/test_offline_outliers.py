"""Outliers are real: narratives from another domain mixed into real crash reports are flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmviz.episodes import Dataset, Episode
from fmviz.loaders import load_dataset
from fmviz.offline import OfflineEngine
from fmviz.offline.outliers import OutlierRule

ROOT = Path(__file__).resolve().parents[1]
#: SYNTHETIC off-topic narratives (drones, kitchen and service robots), written by hand for tests.
OFF_TOPIC = ROOT / "tests" / "fixtures" / "off_topic_narratives.txt"


def off_topic_narratives() -> list[str]:
    lines = OFF_TOPIC.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.slow
def test_off_topic_narratives_mixed_into_real_crash_reports_are_flagged_and_crashes_are_not():
    driving = load_dataset(ROOT / "sample_data" / "driving")
    off = off_topic_narratives()[: len(driving) // 20]  # 5% of the 300 real narratives
    episodes = [*driving, *(Episode(f"off-{i}", narrative=t) for i, t in enumerate(off))]
    mixed = Dataset(episodes, name="driving+off-topic", group_column=driving.group_column)
    engine = OfflineEngine("static-minilm", seed=0)
    reasons = engine.infer_reasons(mixed)
    labels = engine.assign(reasons, engine.discover_clusters(reasons)).labels()
    flagged_off = sum(labels.get(f"off-{i}") == "outlier" for i in range(len(off)))
    assert flagged_off >= 0.8 * len(off), (flagged_off, len(off))
    # the sample holds cover notes that describe no crash ("GM is submitting a duplicate of the
    # redacted public copy of the Report"): they are outliers as boilerplate, and only they are
    notes = {r.episode_id for r in reasons if r.boilerplate_only}
    assert notes
    assert all("duplicate of the redacted public copy" in driving[i].narrative for i in notes)
    assert all(labels[i] == "outlier" for i in notes)
    crashes = [e for e in driving if e.id not in notes]
    flagged_real = sum(labels.get(e.id) == "outlier" for e in crashes)
    assert flagged_real <= 0.05 * len(crashes), flagged_real


def test_the_threshold_follows_the_spread_of_the_corpus():
    rng = np.random.default_rng(0)
    tight = np.clip(rng.normal(0.9, 0.02, 500), 0, 1)
    loose = np.clip(rng.normal(0.6, 0.1, 500), 0, 1)
    rule = OutlierRule()
    assert rule.threshold(tight) > rule.threshold(loose)
    assert (tight < rule.threshold(tight)).mean() < 0.01  # inliers are not flagged
    assert rule.threshold(np.array([0.1, 0.9])) == rule.floor  # too few reasons to learn from


def test_outliers_are_left_out_of_membership_and_kept_for_stage_three(tiny_dataset):
    engine = OfflineEngine("static-minilm", seed=0, cache_dir=None)
    reasons = engine.infer_reasons(tiny_dataset)
    clusters = engine.discover_clusters(reasons)
    info = clusters.provenance["outliers"]
    assert info["threshold"] is None or 0 < info["threshold"] < 1
    assert len(clusters.membership) + info["flagged"] == len(reasons)
