"""Tests for the offline engine: the three stages end to end, no key, no network."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from fmviz.engine import Engine
from fmviz.episodes import Dataset, Episode
from fmviz.evaluate.metrics import cluster_agreement, weighted_f1
from fmviz.offline import Embedder, OfflineEngine, TextCleaner
from fmviz.offline.engine import NO_TEXT_HELP
from fmviz.results import OUTLIER, Cluster, ClusterSet, Reasons

NAVIGATION = Path(__file__).resolve().parents[1] / "sample_data" / "navigation" / "manifest.csv"

# Synthetic incident narratives: a cause sentence composed from random parts, between a fixed
# opening and closing that a (made-up) operator adds to every report, plus a masked street name.
CAUSES = {
    "glass": (
        ["the lidar", "the depth camera", "the laser scanner", "its obstacle sensor"],
        ["missed the glass door", "did not see a transparent glass panel", "read through the glass wall"],
        ["and the robot drove into it", "so the base hit the pane", "and it bumped the glass"],
    ),
    "battery": (
        ["the battery", "the charge level", "the battery pack", "the power supply"],
        ["ran out in the middle of the route", "dropped to zero before the goal", "was too low to go on"],
        ["and the robot shut down", "so it stopped in the aisle", "and the robot powered off"],
    ),
    "slip": (
        ["the drive wheels", "the left wheel", "the base", "the wheel motors"],
        ["lost traction on the wet floor", "spun on a puddle", "skidded on freshly mopped tiles"],
        ["and the robot slid sideways", "so odometry drifted", "and it missed the turn"],
    ),
}
PLACES = ["In the lobby", "Near the kitchen", "In the lab corridor", "At the loading bay"]


def synthetic_dataset(per_cause: int = 12, seed: int = 0) -> Dataset:
    rng = random.Random(seed)
    episodes = []
    for cause, (subjects, failures, outcomes) in CAUSES.items():
        for i in range(per_cause):
            sentence = f"{rng.choice(subjects)} {rng.choice(failures)} {rng.choice(outcomes)}."
            narrative = (
                f"Unit R{i} was operating on [XXX] during shift {i % 3 + 1}. "
                f"{rng.choice(PLACES)}, {sentence} "
                "Acme Robotics submits this report under its safety policy."
            )
            episodes.append(Episode(f"{cause}-{i}", narrative=narrative, label=cause))
    return Dataset(episodes, name="synthetic-offline")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return OfflineEngine(cache_dir=tmp_path_factory.mktemp("emb"), seed=0)


def test_is_an_engine(engine):
    assert isinstance(engine, Engine)
    assert engine.spec == "offline"


def test_infer_reasons_uses_cleaned_known_text(engine):
    dataset = synthetic_dataset()
    reasons = engine.infer_reasons(dataset)
    assert len(reasons) == len(dataset)
    first = reasons[dataset.ids[0]]
    assert first.engine == "offline:narrative"
    assert "Acme Robotics submits" not in first.failure_reason
    assert "[XXX]" not in first.failure_reason
    assert first.raw == dataset[0].narrative
    assert first.text == first.failure_reason  # trajectory is the same cleaned narrative
    report = engine.cleaning_report()
    assert (report["kind"] == "sentence").any()


def test_expert_reason_is_used_when_there_is_no_narrative(tmp_path):
    engine = OfflineEngine(cache_dir=tmp_path, cleaner=False)
    dataset = Dataset([Episode("a", expert_reason="gripper slipped"), Episode("b", narrative="hit a wall")])
    reasons = engine.infer_reasons(dataset)
    assert reasons["a"].engine == "offline:expert_reason"
    assert reasons["a"].trajectory == ""
    assert reasons["b"].engine == "offline:narrative"
    assert engine.cleaning_report().empty


def test_episodes_without_text_are_errors_not_crashes(engine):
    dataset = Dataset([Episode("has", narrative="the robot hit a glass door"), Episode("none")])
    reasons = engine.infer_reasons(dataset)
    assert reasons.ids == ["has"]
    assert "none" in reasons.errors
    assert "'none'" in reasons.errors["none"]


def test_no_text_at_all_explains_how_to_configure_a_model(engine):
    with pytest.raises(ValueError, match="GEMINI_API_KEY") as info:
        engine.infer_reasons(Dataset([Episode("a", source="clip.mp4"), Episode("b")], name="clips"))
    message = str(info.value)
    for needle in ("gemini:gemini-2.5-pro", "OPENAI_API_KEY", "openai:o4-mini", "--base-url", "'clips'"):
        assert needle in message
    assert NO_TEXT_HELP in message


def test_full_pipeline_recovers_synthetic_causes(engine):
    dataset = synthetic_dataset()
    reasons = engine.infer_reasons(dataset)
    clusters = engine.discover_clusters(reasons)
    assignments = engine.assign(reasons, clusters)
    truth = {e.id: e.label for e in dataset}
    assert len(assignments) == len(dataset)
    scores = cluster_agreement(assignments.labels(), truth)
    # 3 causes x 12 composed sentences: measured ARI 1.0 / NMI 1.0 (seed 0)
    assert scores["ari"] >= 0.8, scores
    assert scores["nmi"] >= 0.8, scores
    assert weighted_f1(assignments.labels(), truth) >= 0.9
    assert clusters.provenance["text_field"] == "failure_reason"


def test_discover_respects_bounds(engine):
    reasons = engine.infer_reasons(synthetic_dataset())
    assert len(engine.discover_clusters(reasons, min_clusters=2, max_clusters=2)) == 2
    with pytest.raises(ValueError, match="no reasons"):
        engine.discover_clusters(Reasons([]))


def test_assign_llm_cluster_set_is_the_ea_baseline(engine):
    reasons = engine.infer_reasons(synthetic_dataset(per_cause=4))
    clusters = ClusterSet(
        [
            Cluster("F1", "Glass not detected", "Transparent doors and walls missed by sensors", ["glass"]),
            Cluster("F2", "Battery depletion", "The robot runs out of power", ["battery", "charge"]),
            Cluster("F3", "Wheel slip", "Loss of traction on wet or slippery floors", ["traction"]),
        ]
    )
    labels = engine.assign(reasons, clusters).labels()
    truth = {"glass": "F1", "battery": "F2", "slip": "F3"}
    correct = sum(labels[r.episode_id] == truth[r.episode_id.split("-")[0]] for r in reasons)
    assert correct >= len(reasons) - 1, labels  # measured: 12 of 12


def test_outlier_threshold_is_configurable(tmp_path):
    strict = OfflineEngine(cache_dir=tmp_path, outlier_threshold=0.999)
    reasons = strict.infer_reasons(synthetic_dataset(per_cause=4))
    clusters = strict.discover_clusters(reasons)
    assert all(a.cluster_id == OUTLIER for a in strict.assign(reasons, clusters))


def test_engine_shares_a_given_embedder_and_cleaner(tmp_path):
    embedder = Embedder(cache_dir=tmp_path)
    cleaner = TextCleaner(min_doc_share=0.5)
    engine = OfflineEngine(embedder=embedder, cleaner=cleaner)
    assert engine.embedder is embedder
    assert engine.cleaner is cleaner
    assert engine.embed(["a"]).shape == (1, embedder.dimension)


@pytest.mark.skipif(not NAVIGATION.exists(), reason="sample_data/navigation not generated")
def test_navigation_sample_causes_are_recovered(engine):
    """The shipped synthetic navigation logs: 80 episodes, 8 known causes."""
    dataset = Dataset.from_frame(pd.read_csv(NAVIGATION), name="navigation", domain="navigation")
    reasons = engine.infer_reasons(dataset)
    clusters = engine.discover_clusters(reasons)
    assignments = engine.assign(reasons, clusters)
    scores = cluster_agreement(assignments.labels(), {e.id: e.label for e in dataset})
    # measured with seed 0: ARI 0.71, NMI 0.83, k=8 (seeds 1-2: NMI 0.78 / 0.73); chance is ~0
    assert scores["ari"] >= 0.5, scores
    assert scores["nmi"] >= 0.7, scores


def _two_company_dataset(group_column: str | None) -> Dataset:
    """Synthetic: each made-up company closes its reports with its own sentence."""
    episodes = []
    closings = {"Acme Robotics": "Acme reviews every event.", "Botco Inc.": "Botco logs this."}
    for company, closing in closings.items():
        for i in range(12):
            narrative = f"The robot hit obstacle {i} in aisle {i % 3}. {closing}"
            episodes.append(Episode(f"{company[:4]}-{i}", narrative=narrative, metadata={"by": company}))
    return Dataset(episodes, name="two-companies", group_column=group_column)


def test_dataset_group_column_reaches_the_cleaner(tmp_path):
    engine = OfflineEngine(cache_dir=tmp_path, cleaner=TextCleaner(min_doc_share=0.9))
    reasons = engine.infer_reasons(_two_company_dataset("by"))
    assert all("reviews every event" not in r.failure_reason for r in reasons)
    assert all("Acme" not in r.failure_reason and "Botco" not in r.failure_reason for r in reasons)
    assert set(engine.cleaning_report()["group"].dropna()) == {"Acme Robotics", "Botco Inc."}
    # group_column=False ignores the dataset's groups; an explicit column overrides it
    engine = OfflineEngine(cache_dir=tmp_path, cleaner=TextCleaner(min_doc_share=0.9), group_column=False)
    reasons = engine.infer_reasons(_two_company_dataset("by"))
    assert any("reviews every event" in r.failure_reason for r in reasons)
    engine = OfflineEngine(cache_dir=tmp_path, cleaner=TextCleaner(min_doc_share=0.9), group_column="by")
    reasons = engine.infer_reasons(_two_company_dataset(None))
    assert all("reviews every event" not in r.failure_reason for r in reasons)
