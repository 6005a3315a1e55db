"""Prompts as data: presets per domain, safe rendering, overrides, save and reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmviz.prompts import DOMAINS, MISSING, PROMPT_NAMES, PromptSet, load_prompts, placeholders, render


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_loads_a_complete_valid_set(domain: str) -> None:
    prompts = load_prompts(domain)
    assert prompts.domain == domain
    for name in PROMPT_NAMES:
        assert getattr(prompts, name).strip(), f"{domain}: empty {name}"
    assert "reasons" in placeholders(prompts.cluster)
    assert "trajectory" in prompts.reasons
    assert "failure_reason" in prompts.reasons


def test_domains_differ_where_they_should() -> None:
    manipulation = load_prompts("manipulation")
    driving = load_prompts("driving")
    # The manipulation preset follows the paper's Fig. 2 wording.
    assert "A household robot failed the kitchen task: '{task}'" in " ".join(manipulation.reasons.split())
    assert "earliest cause of failure" in manipulation.reasons
    assert "dashcam" in driving.reasons
    assert manipulation.reasons != driving.reasons
    assert manipulation.cluster == driving.cluster  # shared template
    assert manipulation.context != driving.context
    assert manipulation.sources["reasons"].endswith("reasons.manipulation.md")


def test_missing_context_renders_as_not_given_and_json_braces_survive() -> None:
    template = 'Task: {task}. Plan: {action_plan}. Empty: {notes}. JSON: {"trajectory": "..."} {{task}}'
    text = render(template, {"task": "make coffee", "notes": "  "})
    assert text == (
        f'Task: make coffee. Plan: {MISSING}. Empty: {MISSING}. JSON: {{"trajectory": "..."}} {{task}}'
    )


def test_render_joins_lists_and_fills_domain_context() -> None:
    prompts = load_prompts("navigation")
    text = prompts.render("assign", clusters="- C1 | Glass", valid_ids="C1, outlier", trajectory=None)
    assert "collisions of a vision-based ground robot" in text
    assert f"Trajectory: {MISSING}" in text
    assert render("{plan}", {"plan": ["pick", "place"]}) == "pick; place"


def test_unknown_domain_and_unknown_override_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown prompt domain"):
        load_prompts("underwater")
    with pytest.raises(KeyError, match="unknown prompt 'cluser'"):
        load_prompts("generic", overrides={"cluser": "x {reasons}"})


def test_override_text_and_file(tmp_path: Path) -> None:
    custom = tmp_path / "my_assign.md"
    custom.write_text("Pick one of {valid_ids} for: {failure_reason}\nClusters: {clusters}", encoding="utf-8")
    prompts = load_prompts(
        "driving", overrides={"reasons": "Explain crash {episode_id}: {narrative}", "assign": custom}
    )
    assert (
        prompts.render("reasons", episode_id="e1", narrative="rear-ended") == "Explain crash e1: rear-ended"
    )
    assert prompts.sources["reasons"] == "override"
    assert prompts.sources["assign"] == str(custom)
    assert prompts.render("assign", valid_ids="C1", failure_reason="late braking", clusters="-").startswith(
        "Pick one of C1 for: late braking"
    )
    # A string naming an existing file is read, too.
    assert load_prompts(overrides={"assign": str(custom)}).assign == custom.read_text(encoding="utf-8")


def test_broken_override_fails_early() -> None:
    with pytest.raises(ValueError, match=r"\{reasons\}"):
        load_prompts(overrides={"cluster": "Group these failures."})


def test_save_edit_and_reload_round_trip(tmp_path: Path) -> None:
    original = load_prompts("manipulation")
    folder = original.save(tmp_path / "prompts")
    assert sorted(p.stem for p in folder.glob("*.md")) == sorted(PROMPT_NAMES)
    edited = (folder / "assign.md").read_text(encoding="utf-8").replace("single cluster", "ONE cluster")
    (folder / "assign.md").write_text(edited, encoding="utf-8")
    reloaded = load_prompts("manipulation", overrides=folder)
    assert isinstance(reloaded, PromptSet)
    assert "ONE cluster" in reloaded.assign
    assert reloaded.reasons == original.reasons
    assert reloaded.sources["assign"] == str(folder / "assign.md")
