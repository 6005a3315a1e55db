"""Tests for boilerplate removal. All texts are synthetic, made up for these tests."""

from __future__ import annotations

import re

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
    assert list(report.columns) == ["kind", "pattern", "group", "docs", "doc_share"]
    assert report["group"].isna().all()  # no groups given: everything is corpus-wide
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


# Synthetic multi-source corpus: three made-up companies, each with its own standard sentence
# and its own word for its vehicle. Acmebot's 10 reports are a sixth of the corpus, under the
# corpus-wide share, so only per-source learning finds its closing sentence.
SOURCES = {"Acmebot, Inc.": 10, "Roverly LLC": 25, "Drivetron Corp": 25}
OBJECTS = ["a parked van", "a cyclist", "a traffic cone", "a delivery robot", "a bus", "a pedestrian"]
ACTIONS = ["backed into", "brushed", "stopped short of", "clipped", "was hit by"]
CLOSING = {
    "Acmebot, Inc.": "Acmebot reviews every event within two business days.",
    "Roverly LLC": "Roverly thanks the responding officers for their help.",
    "Drivetron Corp": "Drivetron's safety team has been notified about the event.",
}
PRODUCT = {"Acmebot, Inc.": "pod", "Roverly LLC": "rover", "Drivetron Corp": "shuttle"}


def multi_source_reports() -> tuple[list[str], list[str]]:
    texts, groups = [], []
    for source, count in SOURCES.items():
        name = source.split(",")[0].split()[0]
        for i in range(count):
            thing = OBJECTS[(i + len(name)) % len(OBJECTS)]
            action = ACTIONS[(i * 7 + len(source)) % len(ACTIONS)]
            texts.append(
                f"The {name} {PRODUCT[source]} {action} {thing} at {i + 2} mph on lane {i % 4 + 1}. "
                f"{CLOSING[source]}"
            )
            groups.append(source)
    return texts, groups


def test_per_source_boilerplate_is_removed_under_the_corpus_wide_share():
    texts, groups = multi_source_reports()
    acme = [i for i, g in enumerate(groups) if g == "Acmebot, Inc."]
    assert len(acme) / len(texts) < 0.2
    plain = TextCleaner().fit_transform(texts)
    assert all("within two business days" in plain[i] for i in acme)  # no groups: kept, as before
    grouped = TextCleaner().fit_transform(texts, groups)
    assert not any("within two business days" in grouped[i] for i in acme)
    assert not any("responding officers" in t or "safety team" in t for t in grouped)
    for i in acme:  # the event itself survives
        assert any(obj in grouped[i] for obj in OBJECTS), grouped[i]


def test_source_names_and_their_vehicle_words_are_removed():
    texts, groups = multi_source_reports()
    texts.append("A Roverly rover and an Acmebot pod touched at the depot; Acmebot's pod was scratched.")
    groups.append(None)
    cleaned = TextCleaner(min_words_left=1).fit_transform(texts, groups)
    for text in cleaned:
        for name in ("Acmebot", "Roverly", "Drivetron"):
            assert name not in text, text
    assert cleaned[0].startswith("The vehicle ")  # "The Acmebot pod" -> "The vehicle"
    assert "A vehicle and an vehicle touched" in cleaned[-1]  # products learnt from own reports
    kept = TextCleaner(mask_names=False, mask_context=False).fit_transform(texts, groups)
    assert "Roverly" in kept[-1]


def test_source_names_strip_corporate_suffixes():
    from fmviz.offline.cleaning import source_names

    assert "Zoox" in source_names("Zoox, Inc.")
    assert "Waymo" in source_names("Waymo LLC")
    assert {"General Motors", "GM"} <= set(source_names("General Motors, LLC"))
    assert "General" not in source_names("General Motors, LLC")  # a generic first word


def test_report_has_a_group_column_for_per_source_patterns_and_names():
    texts, groups = multi_source_reports()
    report = TextCleaner().fit(texts, groups).report()
    assert list(report.columns) == ["kind", "pattern", "group", "docs", "doc_share"]
    closing = report[report["pattern"].str.contains("within two business days")]
    assert closing["group"].tolist() == ["Acmebot, Inc."]
    assert closing["kind"].iloc[0] == "sentence"
    assert closing["docs"].iloc[0] == 10
    assert closing["doc_share"].iloc[0] == pytest.approx(1.0)  # share of Acmebot's own reports
    names = report[report["kind"] == "name"]
    assert set(names["group"]) == set(SOURCES)
    # Roverly's and Drivetron's closings reach the corpus-wide share: they belong to no group
    officers = report[report["pattern"].str.contains("responding officers")]
    assert officers["group"].isna().all()
    assert officers["doc_share"].iloc[0] == pytest.approx(25 / 60)


def test_small_sources_learn_no_boilerplate_of_their_own():
    texts, groups = multi_source_reports()
    assert "Acmebot, Inc." in TextCleaner().fit(texts, groups).group_sentences_
    cleaner = TextCleaner(min_group_docs=11).fit(texts, groups)
    assert "Acmebot, Inc." not in cleaner.group_sentences_
    assert all("within two business days" in t for t in cleaner.transform(texts, groups)[:10])


def test_a_report_made_only_of_its_sources_boilerplate_keeps_its_text_and_says_so():
    texts, groups = multi_source_reports()
    texts.append("Acmebot reviews every event within two business days.")
    groups.append("Acmebot, Inc.")
    cleaner = TextCleaner()
    cleaned = cleaner.fit_transform(texts, groups)
    # no episode ends up empty: the text stays, without its source's name
    assert cleaned[-1] == "reviews every event within two business days."
    kept = cleaner.report().query("kind == 'kept'")
    assert kept["docs"].tolist() == [1]
    assert kept["group"].tolist() == ["Acmebot, Inc."]
    assert not any(text == "" for text in cleaned)


def test_no_text_is_ever_emptied_by_cleaning_even_one_made_of_masks_and_places():
    texts = [*synthetic_reports(), "[XXX] [XXX].", "Springfield.", "Robocar may amend this report."]
    cleaner = TextCleaner()
    cleaned = cleaner.fit_transform(texts)
    assert all(text.strip() for text in cleaned), cleaned[-3:]
    assert cleaner.report().query("kind == 'kept'")["docs"].sum() >= 2


def test_a_source_name_that_is_also_a_plain_word_is_removed_only_as_a_name():
    texts = [f"The May Mobility shuttle stopped; a {o} may have hit it." for o in ("van", "bus", "car")] * 4
    groups = ["May Mobility"] * len(texts)
    cleaned = TextCleaner(mask_context=False).fit_transform(texts, groups)
    assert all("May" not in t and "may have hit" in t for t in cleaned), cleaned[0]


def test_groups_must_match_the_texts():
    texts, groups = multi_source_reports()
    with pytest.raises(ValueError, match="one group per text"):
        TextCleaner().fit(texts, groups[:-1])


def test_a_cover_note_is_boilerplate_only_and_a_report_with_an_event_is_not():
    texts = synthetic_reports()
    # a cover note: the template with its date and city, and no event (a duplicate of another report)
    texts += [
        f'On June [XXX], 2024 at {h}:00 PM a Robocar Automated Vehicle ("Robocar AV") operating in '
        f"{city} was involved in an incident on [XXX] near [XXX]. Robocar files this report under "
        "Section 4 of the reporting order. Robocar may amend this report as more information "
        "becomes available."
        for h, city in ((3, "Springfield"), (4, "Brockway"))
    ]
    # the template alone, but a sentence with a cause word in it: it says what went wrong
    texts.append(texts[-1].replace("Robocar files", "The vehicle was struck from behind. Robocar files"))
    cleaner = TextCleaner().fit(texts)
    flags = cleaner.boilerplate_only(texts)
    assert flags == [False] * len(EVENTS) * 2 + [True, True, False]
    assert TextCleaner(enabled=False).fit(texts).boilerplate_only(texts) == [False] * len(texts)


def test_a_date_half_inside_a_template_phrase_goes_whole():
    # "at 3:12 PM" starts the opening template ("PM a Robocar Automated Vehicle ..."): cutting
    # only the template used to leave "3:12" behind in every report
    cleaned = TextCleaner().fit_transform(synthetic_reports())
    assert not any(re.search(r"\d:\d\d", text) for text in cleaned), cleaned


def test_identifiers_and_mistyped_redactions_are_masked():
    texts = [
        f"Unit VIN 1N9A1SACXJS{i} was struck by a cyclist on {{XXX] near [XXX]; run a7f3c9{i} logged it."
        for i in range(6)
    ]
    cleaner = TextCleaner()
    cleaned = cleaner.fit_transform(texts)
    for text in cleaned:
        assert "1N9A1SACXJS" not in text
        assert "a7f3c9" not in text
        assert "XXX" not in text
        assert "struck by a cyclist" in text
    # a word with digits that is short, or a number, is not an identifier
    assert (
        "ur5e arm hit the 2024 cart"
        in TextCleaner(mask_context=False).fit_transform(["The ur5e arm hit the 2024 cart."])[0]
    )
    assert (cleaner.report()["kind"] == "mask").sum() >= 2
