"""Cluster names read as failure modes: multi-word phrases, never a bare generic word."""

from __future__ import annotations

import numpy as np

from fmviz.offline.k_selection import NO_STRUCTURE, WEAK_STRUCTURE, choose_k, size_rule_k
from fmviz.offline.naming import GENERIC_WORDS, describe_members, failure_phrases

# SYNTHETIC reasons, written for these tests: two failure modes with shared filler words.
_REAR = "While stopped at the light the vehicle was struck from behind by a van; the vehicle was towed."
_PED = "The vehicle did not yield to a pedestrian crossing at the crosswalk; the vehicle stopped."


def test_names_are_multi_word_phrases_distinctive_of_their_cluster():
    texts = [_REAR] * 6 + [_PED] * 6
    labels = np.array([0] * 6 + [1] * 6)
    phrases = failure_phrases(texts, labels, 2)
    assert all(len(p[0].split()) >= 2 for p in phrases)
    assert "struck from behind" in " | ".join(phrases[0])
    assert any("pedestrian" in p for p in phrases[1])
    assert not any("pedestrian" in p for p in phrases[0])


def test_no_name_is_made_only_of_generic_words():
    texts = ["The vehicle reported the incident to the vehicle operator."] * 5 + [_PED] * 5
    phrases = failure_phrases(texts, np.array([0] * 5 + [1] * 5), 2)
    for cluster in phrases:
        for phrase in cluster:
            content = [w for w in phrase.split() if w not in {"the", "a", "to", "of"}]
            assert not all(w in GENERIC_WORDS for w in content), phrase


def test_outliers_do_not_shape_names():
    texts = [_REAR] * 6 + [_PED] * 2
    labels = np.array([0] * 6 + [-1] * 2)
    phrases = failure_phrases(texts, labels, 1)
    assert not any("pedestrian" in p for p in phrases[0])


def test_descriptions_are_one_or_two_sentences_quoting_the_typical_member():
    text = describe_members(["struck from behind", "stopped at the light"], _REAR, 0.25)
    assert text.startswith("Failures marked by struck from behind and stopped at the light (25% of reasons).")
    assert "Typical: “While stopped at the light" in text
    assert text.count(". ") <= 2


def test_a_curve_without_substantial_structure_falls_back_to_the_size_rule():
    flat = {k: 0.2 + 0.001 * k for k in range(2, 21)}
    assert max(flat.values()) <= NO_STRUCTURE
    assert choose_k(flat, n=1500) == size_rule_k(1500, 2, 20) == 20
    assert choose_k(flat, n=80) >= 6  # at least sqrt(80 / 2), rounded
    structured = {2: 0.3, 3: 0.5, 4: 0.7, 5: 0.72, 6: 0.73, 7: 0.73}
    assert choose_k(structured, n=1500) == 4  # the knee, as before


def test_a_weak_peak_at_two_clusters_does_not_collapse_a_large_set():
    # the curve of NHTSA narratives clustered without their source: one contrast (two reporting
    # templates) peaks at k=2 with a weak 0.27
    weak = {2: 0.275, 3: 0.25, 4: 0.205, 5: 0.234, 6: 0.252, 8: 0.264, 12: 0.242, 20: 0.267}
    assert NO_STRUCTURE < max(weak.values()) <= WEAK_STRUCTURE
    assert choose_k(weak) == 2  # the bare rule reads the peak
    assert choose_k(weak, n=1473) == 20  # with n, weak structure gets at least sqrt(n / 2)


def test_a_name_says_what_was_involved_and_what_happened():
    from fmviz.offline.naming import compose_name

    phrases = ["glass pane", "sensor looked through the pane", "meeting room"]
    keywords = ["vehicle", "glass", "pane"]
    # the action clause nearest the centre wins over a closer bare noun phrase; the subject is
    # the first keyphrase that is not generic ("vehicle") and not already in the action
    name = compose_name(phrases, keywords, [0.9, 0.7, 0.2])
    assert name == "Glass: sensor looked through the pane"
    # no keyphrase left to head it: the action alone; no action at all: the nearest clause
    assert compose_name(["struck the pane"], ["pane", "contact"], [0.5]) == "Struck the pane"
    assert compose_name(["office desk", "glass pane"], [], [0.1, 0.6]) == "Glass pane"
    assert compose_name([], ["glass"], []) == ""


def test_only_a_noun_heads_a_name():
    from fmviz.offline.naming import compose_name, noun_words

    texts = [
        "The robot struck the glass and sustained damage.",
        "It drove away and hit the glass door.",
        "The glass was not seen; the robot sustained a dent, then backed away.",
    ]
    nouns = noun_words(texts)
    assert "glass" in nouns
    assert "sustained" not in nouns
    assert "away" not in nouns
    fit = [0.9]
    assert (
        compose_name(["struck the pane"], ["sustained", "away", "glass"], fit, nouns)
        == "Glass: struck the pane"
    )
    assert compose_name(["struck the pane"], ["sustained", "away"], fit, nouns) == "Struck the pane"


def test_a_cluster_whose_best_name_is_taken_gets_its_next_best_not_an_id():
    from fmviz.offline.naming import compose_name, name_candidates

    phrases = ["approached the vehicle from behind", "stopped at the light"]
    keywords = ["queue", "intersection"]
    names = name_candidates(phrases, keywords, [0.9, 0.5])
    assert names[0] == compose_name(phrases, keywords, [0.9, 0.5])
    assert names[0] == "Queue: approached the vehicle from behind"
    assert names[1] == "Intersection: approached the vehicle from behind"
    assert len(names) == len(set(names))


def test_a_heading_a_participle_or_a_verb_never_heads_a_name():
    from fmviz.offline.naming import compose_name, noun_words

    texts = [
        "The vehicle was traveling eastbound when an advanced truck struck the parking gate.",
        "An advanced sensor saw the parking gate late; traveling on, the vehicle hit the gate.",
        "Traveling westbound, the vehicle clipped the parking gate and the advanced mirror.",
    ]
    nouns = noun_words(texts)
    fit = [0.9]
    for bad in (["eastbound"], ["advanced"], ["traveling eastbound"], ["traveling"]):
        assert compose_name(["struck the gate"], bad, fit, nouns) == "Struck the gate", bad
    # an "-ing" word the texts use as a noun ("the parking gate") may head a name; "speed" is no participle
    assert "parking" in nouns
    assert compose_name(["struck the gate"], ["parking"], fit, nouns) == "Parking: struck the gate"
    assert compose_name(["struck the gate"], ["speed"], fit) == "Speed: struck the gate"


def test_a_word_used_inside_one_fixed_phrase_heads_a_name_as_that_phrase():
    from fmviz.offline.naming import collocations, compose_name, name_candidates, noun_words

    texts = [
        "The test driver took over; the robot hit the storage cabinet.",
        "A test driver saw the glass door late; the storage cabinet and the glass pane cracked.",
        "The test driver braked near the storage cabinet and the glass wall.",
    ]
    fixed = collocations(texts)
    assert fixed["test"] == "test driver"
    assert fixed["storage"] == "storage cabinet"
    assert "glass" not in fixed  # "glass door", "glass pane", "glass wall": no one phrase
    nouns = noun_words(texts) | {"test"}
    names = name_candidates(["struck the shelf"], ["test", "glass"], [0.9], nouns, fixed)
    # the phrase may end on a generic word ("driver"), which alone would head nothing
    assert names[0] == "Test driver: struck the shelf"
    assert compose_name(["struck the shelf"], ["driver"], [0.9]) == "Struck the shelf"
