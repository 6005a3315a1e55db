"""Stage 2: ensemble, aggregation, bounds and batching through the real OpenAI client.

The scripted responder recognises each kind of request by its prompt and answers with
clusters built from the keywords it finds there (scripted text, not a real model's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM
from fmviz.results import Reason, Reasons
from fmviz.stages import discover_clusters
from fmviz.testing import LoopbackServer, RecordedRequest

TOPICS = {
    "glass": ("Transparent surfaces", ["glass door", "mirror"]),
    "chair": ("Thin protruding objects", ["chair leg", "table leg"]),
    "wall": ("Featureless walls", ["white wall"]),
    "cable": ("Floor clutter", ["cable", "backpack"]),
}


def kind(request: RecordedRequest) -> str:
    """Which stage-2 call a request is (repairs keep the original question in the history)."""
    if "alternative versions" in request.text:
        return "paraphrase"
    if "Several analysts" in request.text:
        return "aggregate"
    if "was split into" in request.text:
        return "merge"
    return "member"


def clusters_for(text: str, *, percent: bool = False) -> str:
    found = [topic for topic in TOPICS if topic in text]
    share = (100.0 if percent else 1.0) / max(len(found), 1)
    return json.dumps(
        {
            "clusters": [
                {
                    "name": TOPICS[t][0],
                    "description": f"Collisions involving {t}.",
                    "keywords": TOPICS[t][1],
                    "frequency": share * (1 + 0.1 * i),
                }
                for i, t in enumerate(found)
            ]
        }
    )


def responder(request: RecordedRequest) -> str:
    which = kind(request)
    if which == "paraphrase":
        original = request.text.split("<<<", 1)[1].split(">>>", 1)[0].strip()
        count = int(re.search(r"Write (\d+) alternative", request.text).group(1))
        return json.dumps({"prompts": [f"[Paraphrase {i}] {original}" for i in range(1, count + 1)]})
    if which in ("aggregate", "merge"):
        return clusters_for(request.prompt.lower(), percent=True)
    return clusters_for(request.prompt.split("failure reasons)", 1)[-1])


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(responder) as running:
        yield running


def make_llm(server: LoopbackServer, **kwargs: object) -> LLM:
    provider = OpenAIProvider("o4-test", base_url=server.openai_base_url, api_key="test-key")
    options = {"cache": False, "backoff_base": 0.001, "backoff_max": 0.01, "max_retries": 1} | kwargs
    return LLM(provider, **options)


def make_reasons(n: int = 12) -> Reasons:
    topics = list(TOPICS)
    return Reasons(
        [
            Reason(f"ep{i:02d}", f"trajectory {i}", f"the robot hit a {topics[i % 4]} in room {i}")
            for i in range(n)
        ]
    )


def test_ensemble_makes_one_paraphrase_four_members_one_aggregate(server: LoopbackServer) -> None:
    llm = make_llm(server)
    clusters = discover_clusters(make_reasons(), llm, ensemble=3, seed=7)
    kinds = [kind(r) for r in server.requests]
    assert sorted(kinds) == ["aggregate", "member", "member", "member", "member", "paraphrase"]
    assert kinds[0] == "paraphrase"
    assert kinds[-1] == "aggregate"
    # Final set: our ids, most frequent first, percentages scaled to fractions.
    assert clusters.ids == ["C1", "C2", "C3", "C4"]
    assert {c.name for c in clusters} == {name for name, _ in TOPICS.values()}
    frequencies = [c.frequency for c in clusters]
    assert frequencies == sorted(frequencies, reverse=True)
    assert all(0 < f <= 1 for f in frequencies)

    provenance = clusters.provenance
    assert provenance["engine"] == llm.spec
    assert provenance["seed"] == 7
    paraphrases = provenance["prompts"]["paraphrases"]
    assert len(paraphrases) == 3
    assert all(p.startswith("[Paraphrase") for p in paraphrases)
    member_prompts = [r.prompt for r in server.requests if kind(r) == "member"]
    for paraphrase in paraphrases:  # each paraphrase was used verbatim, reasons inserted
        head = paraphrase.split("{reasons}")[0]
        assert any(p.startswith(head) for p in member_prompts)
    assert len(provenance["members"]) == 4
    assert all(m["clusters"]["clusters"] for m in provenance["members"])
    aggregate = next(r for r in server.requests if kind(r) == "aggregate")
    assert provenance["aggregate"]["raw"] == responder(aggregate)
    assert "Clustering 4:" in aggregate.prompt


def test_members_see_differently_shuffled_orders(server: LoopbackServer) -> None:
    clusters = discover_clusters(make_reasons(), make_llm(server), ensemble=3, seed=1)
    orders = [tuple(m["order"]) for m in clusters.provenance["members"]]
    assert len(set(orders)) == 4
    assert all(sorted(order) == sorted(make_reasons().ids) for order in orders)
    sent_orders = set()
    for request in server.requests:
        if kind(request) == "member":
            rooms = re.findall(r"in room (\d+)", request.prompt)
            assert len(rooms) == 12
            sent_orders.add(tuple(rooms))
    assert len(sent_orders) == 4
    # The same seed reproduces the same orders; another seed changes them.
    server.reset()
    again = discover_clusters(make_reasons(), make_llm(server), ensemble=3, seed=1)
    assert [tuple(m["order"]) for m in again.provenance["members"]] == orders
    other = discover_clusters(make_reasons(), make_llm(server), ensemble=3, seed=2)
    assert [tuple(m["order"]) for m in other.provenance["members"]] != orders


def test_no_ensemble_is_a_single_call(server: LoopbackServer) -> None:
    clusters = discover_clusters(make_reasons(), make_llm(server), ensemble=0)
    assert [kind(r) for r in server.requests] == ["member"]
    assert clusters.provenance["aggregate"] is None
    assert len(clusters) == 4


def test_min_bound_is_enforced_by_re_asking(server: LoopbackServer) -> None:
    def stingy(request: RecordedRequest) -> str:
        if "You proposed" in request.text:
            return clusters_for("glass chair wall")
        return clusters_for("glass chair")

    server.responder = stingy
    clusters = discover_clusters(make_reasons(), make_llm(server), ensemble=0, min_clusters=3, max_clusters=5)
    assert len(clusters) == 3
    assert len(server.requests) == 2
    assert "Use between 3 and 5 clusters." in server.requests[0].prompt
    assert "You proposed 2 clusters" in server.requests[1].text


def test_max_bound_exhaustion_raises_naming_the_problem(server: LoopbackServer) -> None:
    server.responder = lambda request: clusters_for("glass chair wall cable")
    with pytest.raises(Exception, match="clusters") as info:
        discover_clusters(make_reasons(), make_llm(server, max_repairs=1), ensemble=0, max_clusters=2)
    assert "4 clusters" in str(info.value) or "member 0" in str(info.value)
    assert len(server.requests) == 2


def test_batches_are_clustered_then_merged_when_reasons_do_not_fit(server: LoopbackServer) -> None:
    reasons = make_reasons(40)
    clusters = discover_clusters(reasons, make_llm(server), ensemble=0, max_prompt_tokens=450)
    provenance = clusters.provenance
    assert provenance["batched"] is True
    (member,) = provenance["members"]
    batches = member["batches"]
    assert len(batches) >= 2
    assert sorted(i for batch in batches for i in batch) == sorted(reasons.ids)
    kinds = [kind(r) for r in server.requests]
    assert kinds.count("member") == len(batches)
    assert kinds.count("merge") >= 1
    for request in server.requests:
        if kind(request) == "member":
            assert len(request.prompt) / 4 <= 450
    merge = next(r for r in server.requests if kind(r) == "merge")
    assert "Batch 2" in merge.prompt
    assert len(clusters) == 4
    assert len(member["batch_clusterings"]) == len(batches)


def test_batching_with_an_ensemble_merges_each_member_then_aggregates(server: LoopbackServer) -> None:
    clusters = discover_clusters(make_reasons(40), make_llm(server), ensemble=1, max_prompt_tokens=450)
    kinds = [kind(r) for r in server.requests]
    batches = [len(m["batches"]) for m in clusters.provenance["members"]]
    assert all(b >= 2 for b in batches)
    assert kinds.count("paraphrase") == 1
    assert kinds.count("aggregate") == 1
    assert kinds.count("member") == sum(batches)
    merges = [len(m["merge_raw"]) for m in clusters.provenance["members"]]
    assert all(count >= 1 for count in merges)
    assert kinds.count("merge") == sum(merges)


def test_invalid_arguments_are_rejected(server: LoopbackServer) -> None:
    llm = make_llm(server)
    with pytest.raises(ValueError, match="no reasons"):
        discover_clusters(Reasons([]), llm)
    with pytest.raises(ValueError, match="larger than"):
        discover_clusters(make_reasons(), llm, min_clusters=5, max_clusters=2)
    assert server.requests == []


def test_paraphrases_without_the_reasons_slot_are_re_asked(server: LoopbackServer, tmp_path) -> None:
    def forgetful(request: RecordedRequest) -> str:
        if kind(request) == "paraphrase" and "must contain the placeholder" not in request.text:
            return json.dumps({"prompts": ["Cluster these.", "Group these.", "Sort these."]})
        return responder(request)

    server.responder = forgetful
    clusters = discover_clusters(make_reasons(), make_llm(server), ensemble=3)
    assert [kind(r) for r in server.requests].count("paraphrase") == 2
    assert all("{reasons}" in p for p in clusters.provenance["prompts"]["paraphrases"])
    # Provenance is plain JSON: it survives a save and load with the clusters.
    back = type(clusters).load(clusters.save(tmp_path / "clusters.json"))
    assert back.provenance == clusters.provenance
    assert back.ids == clusters.ids
