"""Tests for boilerplate removal. All texts are synthetic, made up for these tests."""

from __future__ import annotations

import pytest

from fmviz.offline.cleaning import TextCleaner

# Synthetic crash-report-like narratives: a fixed opening template whose details vary, the
# actual event, and a fixed closing sentence, imitating an operator's reporting boilerplate.
EVENTS = [
    "A cyclist swerved into the lane and touched the left mirror.",
    "The vehicle braked for a cat and was rear-ended by a van.",
    "A parked truck opened its door into the passing vehicle.",
    "The vehicle mounted the curb while avoiding debris.",
    "A bus reversed into the stopped vehicle at the depot.",
    "The vehicle clipped a cone while merging near roadworks.",
]
CITIES = ["Springfield", "Shelbyville", "Ogdenville", "Capital City", "North Haverbrook", "Brockway"]


def synthetic_reports() -> list[str]:
    texts = []
    for i, (event, city) in enumerate(zip(EVENTS * 2, CITIES * 2, strict=True)):
        texts.append(
            f"On June [XXX], 2024 at {i + 1}:1{i % 6} PM a Robocar Automated Vehicle "
            f'("Robocar AV") operating in {city} was involved in an incident on [XXX] near [XXX]. {event} '
            "Robocar files this report under Section 4 of the reporting order. "
            "Robocar may amend this report as more information becomes available."
        )
    return texts


def test_strips_repeated_sentences_and_masks():
    texts = synthetic_reports()
    cleaned = TextCleaner().fit_transform(texts)
    for text in cleaned:
        assert "[XXX]" not in text
        assert "Robocar files this report" not in text
        assert "may amend this report" not in text
        # the event itself survives
        assert any(event in text for event in EVENTS), text
        assert "  " not in text
    assert len(cleaned[0]) < len(texts[0]) / 2


def test_near_duplicate_template_phrase_is_removed():
    cleaned = TextCleaner().fit_transform(synthetic_reports())
    # the opening differs in time and city but its long shared phrase is still boilerplate
    assert all("Automated Vehicle" not in text for text in cleaned)


def test_report_lists_what_was_removed_with_document_share():
    texts = synthetic_reports()
    report = TextCleaner().fit(texts).report()
    assert list(report.columns) == ["kind", "pattern", "docs", "doc_share"]
    assert set(report["kind"]) >= {"sentence", "mask", "phrase"}
    closing = report[report["pattern"].str.contains("files this report")]
    assert closing["doc_share"].iloc[0] == pytest.approx(1.0)
    assert closing["docs"].iloc[0] == len(texts)
    assert (report["doc_share"] <= 1.0).all()


def test_rare_sentences_are_kept():
    texts = [*synthetic_reports(), "A lone report about a falling branch. It dented the roof."]
    cleaner = TextCleaner().fit(texts)
    assert cleaner.transform(texts)[-1] == "A lone report about a falling branch. It dented the roof."


def test_small_corpora_are_left_alone_by_min_docs():
    texts = ["The arm dropped a cup. Filed by Acme.", "The gripper slipped. Filed by Acme."]
    assert TextCleaner().fit_transform(texts) == texts


def test_disabled_cleaner_returns_input_unchanged():
    texts = synthetic_reports()
    cleaner = TextCleaner(enabled=False).fit(texts)
    assert cleaner.transform(texts) == texts


def test_document_made_only_of_boilerplate_keeps_its_text():
    texts = [f"{e} Robocar files this report." for e in EVENTS] + ["Robocar files this report."]
    cleaned = TextCleaner(min_words_left=3).fit_transform(texts)
    assert cleaned[-1] == "Robocar files this report."
    assert cleaned[0] == EVENTS[0]


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="min_doc_share"):
        TextCleaner(min_doc_share=0)
    with pytest.raises(ValueError, match="phrase_words"):
        TextCleaner(phrase_words=2)
