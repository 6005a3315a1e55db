"""The BERTopic baselines return fmviz's types; BERTopic-LLM names topics through the loopback server.

The corpus is SYNTHETIC (conftest's narratives); topic names from the loopback server are
scripted, not a model's.
"""

from __future__ import annotations

import json
import random

import pytest

from fmviz import LLM
from fmviz.providers.openai import OpenAIProvider
from fmviz.results import OUTLIER, Assignments, ClusterSet, Reason, Reasons
from fmviz.testing import LoopbackServer, RecordedRequest

pytest.importorskip("bertopic")

from fmviz.evaluate.baselines import bertopic_baseline, bertopic_llm_baseline

#: SYNTHETIC failure reasons: per cause, a seeded mix of phrasings (written for this test).
PARTS = {
    "glass": (
        ["The robot drove into", "The base hit", "Collision with", "The robot bumped"],
        ["a glass door", "a transparent glass partition", "a glass wall", "the glass entrance"],
        [
            "the depth camera saw through it",
            "stereo depth returned the room behind",
            "the pane gave no depth returns",
            "the detector ignored the transparent surface",
        ],
    ),
    "chair": (
        ["The robot clipped", "Contact with", "The robot struck", "The wheel caught"],
        [
            "the thin legs of a folding chair",
            "slim metal chair legs",
            "an office chair's thin legs",
            "the narrow legs of a stool",
        ],
        [
            "the lidar missed them",
            "they were thinner than the costmap cells",
            "the legs fell between laser beams",
            "no points were returned from the legs",
        ],
    ),
    "cable": (
        ["A cable bundle", "A backpack on the floor", "A power strip", "Loose cables"],
        ["caught the front caster", "stopped the wheels", "tipped the robot", "jammed the drive wheel"],
        [
            "it was below the camera's view",
            "the ground filter removed it",
            "it was too low for the obstacle layer",
            "the bumper never touched it",
        ],
    ),
}


@pytest.fixture(scope="module")
def corpus() -> Reasons:
    rng = random.Random(5)
    reasons = []
    for cause, (subjects, objects, why) in PARTS.items():
        for i in range(20):
            text = f"{rng.choice(subjects)} {rng.choice(objects)}; {rng.choice(why)}."
            reasons.append(Reason(f"{cause}-{i:02d}", "", text))
    rng.shuffle(reasons)
    return Reasons(reasons)


@pytest.fixture(scope="module")
def fitted(corpus: Reasons) -> tuple[ClusterSet, Assignments]:
    return bertopic_baseline(corpus, seed=0)


@pytest.mark.slow
def test_bertopic_returns_a_cluster_set_and_one_assignment_per_reason(corpus, fitted) -> None:
    clusters, assignments = fitted
    assert isinstance(clusters, ClusterSet)
    assert isinstance(assignments, Assignments)
    assert sorted(assignments.labels()) == sorted(corpus.ids)
    assert len(clusters) >= 1
    assert set(assignments.labels().values()) <= {*clusters.ids, OUTLIER}
    for cid in clusters.ids:  # the membership recorded at discovery agrees with the assignments
        assert sorted(clusters.members(cid)) == sorted(e for e, c in assignments.labels().items() if c == cid)
        assert clusters[cid].keywords
        assert clusters[cid].name == ", ".join(clusters[cid].keywords[:4])
    assert clusters.provenance["engine"] == "bertopic"


@pytest.mark.slow
def test_bertopic_is_reproducible_with_a_seed(corpus, fitted) -> None:
    again, assignments = bertopic_baseline(corpus, seed=0)
    assert assignments.labels() == fitted[1].labels()
    assert again.names() == fitted[0].names()


def scripted_label(request: RecordedRequest) -> str:
    """A name built from the first keyword in the prompt (scripted, not a model)."""
    keywords = request.prompt.split("keywords:", 1)[1].split("\n", 1)[0].strip()
    return json.dumps({"name": f"Topic about {keywords.split(',')[0]}", "description": "scripted label"})


@pytest.mark.slow
def test_bertopic_llm_renames_topics_keeps_assignments_and_reruns_free(corpus, fitted, tmp_path) -> None:
    cache = tmp_path / "labels.sqlite"
    with LoopbackServer(scripted_label) as server:
        provider = OpenAIProvider("label-test", base_url=server.openai_base_url, api_key="test-key")
        clusters, assignments = bertopic_llm_baseline(corpus, LLM(provider, cache=cache), base=fitted)
        assert server.count == len(fitted[0])
        assert all("Representative failure reasons" in r.prompt for r in server.requests)
        server.reset()
        bertopic_llm_baseline(corpus, LLM(provider, cache=cache), base=fitted)
        assert server.count == 0
    assert assignments.labels() == fitted[1].labels()
    for cluster in clusters:
        assert cluster.name == f"Topic about {fitted[0][cluster.id].keywords[0]}"
        assert cluster.description == "scripted label"
    assert clusters.provenance["engine"] == "bertopic-llm"
    assert clusters.provenance["label_model"] == "openai:label-test"


def test_bertopic_refuses_a_corpus_too_small_to_model() -> None:
    tiny = Reasons([Reason(f"e{i}", "", f"reason {i}") for i in range(5)])
    with pytest.raises(ValueError, match="at least 10 reasons"):
        bertopic_baseline(tiny)
