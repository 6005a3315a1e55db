"""Places, organisations, products and dates are masked; sentences that state a cause never go."""

from __future__ import annotations

from fmviz.offline.cleaning import TextCleaner
from fmviz.offline.context import ContextMasker, has_cause_word

# SYNTHETIC reports, written for these tests: every one repeats a closing sentence (boilerplate)
# and one repeats a cause sentence as often, which must survive.
_CAUSES = [
    "The robot stopped short of the shelf.",
    "The arm paused above the bin.",
    "The base turned toward the dock.",
    "The gripper opened over the tray.",
]


def test_a_repeated_sentence_that_states_a_cause_is_never_dropped_as_boilerplate():
    closing = "This report was filed under the standard procedure."
    cause = "No obstacle was reported before contact."
    texts = [f"{c} {cause} {closing}" for c in _CAUSES * 3]
    cleaned = TextCleaner().fit_transform(texts)
    assert all(closing not in text for text in cleaned)  # the template without a cause goes
    assert all(cause in text for text in cleaned)  # the repeated cause stays
    report = TextCleaner().fit(texts).report()
    assert not report["pattern"].str.contains("No obstacle").any()


def test_cause_words_cover_late_detection_and_glare():
    assert has_cause_word("Late detection of the pedestrian.")
    assert has_cause_word("Sun glare washed out the camera.")
    assert not has_cause_word("This report was filed under the standard procedure.")


def test_company_names_are_masked_whatever_their_case():
    texts = [
        "The Avride vehicle was struck by a bus.",
        "AVRIDE reports that a cyclist touched the mirror.",
        "An avride shuttle braked for a scooter.",
    ] * 4
    groups = ["Avride Inc."] * len(texts)
    cleaned = TextCleaner().fit_transform(texts, groups)
    assert all("avride" not in text.lower() for text in cleaned), cleaned


def test_places_are_masked_case_insensitively_and_listed_in_the_report():
    texts = [
        "While operating in Phoenix, Arizona the vehicle was rear-ended at a light.",
        "In SAN FRANCISCO a cyclist struck the left mirror.",
        "Near Austin, TEXAS the shuttle braked hard for a dog.",
        "A bus sideswiped the vehicle on Mission Street in Tempe.",
    ] * 2
    cleaner = TextCleaner()
    cleaned = cleaner.fit_transform(texts)
    for place in ("phoenix", "arizona", "san francisco", "austin", "texas", "tempe"):
        assert all(place not in text.lower() for text in cleaned), (place, cleaned)
    assert "rear-ended" in cleaned[0]
    assert "cyclist struck" in cleaned[1]
    report = cleaner.report()
    places = {p.lower() for p in report.loc[report["kind"] == "place", "pattern"]}
    assert {"phoenix", "san francisco", "tempe"} <= places
    assert (report.loc[report["kind"] == "place", "docs"] >= 1).all()


def test_a_place_name_the_corpus_uses_as_a_word_stays():
    texts = ["The mobile robot hit a cart.", "A mobile lift tipped over.", "The mobile base slid."] * 2
    masker = ContextMasker().fit(texts)
    assert masker.spans("The mobile robot hit a cart.") == []  # Mobile, Alabama is a city


def test_dates_and_learnt_brand_names_are_masked():
    texts = ["On September 14 the Zeekr braked late.", "A Zeekr was hit on May 3, 2024.", "The Zeekr slid."]
    masker = ContextMasker().fit(texts)
    kinds = {(kind, text) for _, _, kind, text in masker.spans("On September 14 the ZEEKR braked late.")}
    assert ("date", "September 14") in kinds
    assert ("proper noun", "ZEEKR") in kinds
    assert "braked late" in masker.mask("On September 14 the ZEEKR braked late.")


def test_clock_times_time_zones_and_years_are_context():
    masker = ContextMasker().fit(["The vehicle stopped."])
    spans = masker.spans("On June 3, 2025 at 7:52 AM PT, at 3:29 AM CDT and 15:30 UTC in 2024.")
    assert [text for _, _, _, text in spans] == [
        "June 3, 2025",
        "7:52 AM PT",
        "3:29 AM CDT",
        "15:30 UTC",
        "2024",
    ]
    # an order number and a ratio are not dates, and a speed keeps its number
    assert masker.spans("under Order 2021-01 at a 10:1 ratio, 12.5 mph") == []
