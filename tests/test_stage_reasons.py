"""Stage 1 through the real OpenAI and Gemini clients against a loopback server.

The scripted responder derives every answer from the request (the narrative it finds in
the prompt, whether frames came along), so the tests check what was actually sent. Its
text is scripted, not a real model's output.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from fmviz.episodes import Dataset, Episode
from fmviz.prompts import load_prompts
from fmviz.providers.gemini import GeminiProvider
from fmviz.providers.openai import OpenAIProvider
from fmviz.providers.runner import LLM, RunStopped
from fmviz.stages import infer_reasons
from fmviz.testing import LoopbackServer, RecordedRequest, Reply
from fmviz.video import TailSpec

ACCOUNT = re.compile(r"Known account of the episode \(may be incomplete\): (.*)")


def answer_from_prompt(request: RecordedRequest) -> Reply | str:
    """Scripted: restate the narrative (or the image count) as a stage-1 JSON answer."""
    match = ACCOUNT.search(request.text)
    narrative = match.group(1).strip() if match else "not given"
    if "BROKEN" in narrative:
        return "I think the robot slipped, but I will not answer in JSON."
    if "NOAUTH" in narrative:
        return Reply(status=401)
    seen = f"{request.n_images} images" if request.n_images else "text only"
    return json.dumps(
        {
            "trajectory": f"The agent moved ({seen}); account: {narrative}",
            "failure_reason": f"Cause derived from: {narrative}",
        }
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(answer_from_prompt) as running:
        yield running


def make_llm(server: LoopbackServer, api: str = "openai", **kwargs: object) -> LLM:
    if api == "openai":
        provider = OpenAIProvider("gpt-test", base_url=server.openai_base_url, api_key="test-key")
    else:
        provider = GeminiProvider("gemini-test", base_url=server.gemini_base_url, api_key="test-key")
    options = {"cache": False, "backoff_base": 0.001, "backoff_max": 0.01, "max_retries": 1} | kwargs
    return LLM(provider, **options)


def text_dataset() -> Dataset:
    return Dataset(
        [
            Episode(
                "e1", narrative="hit a glass door", task="reach the kitchen", success_condition="no contact"
            ),
            Episode("e2", narrative="clipped a chair leg", notes="low light"),
        ],
        domain="navigation",
    )


@pytest.mark.parametrize("api", ["openai", "gemini"])
def test_cot_answer_is_parsed_into_reasons(server: LoopbackServer, api: str) -> None:
    llm = make_llm(server, api)
    reasons = infer_reasons(text_dataset(), llm)
    assert reasons.ids == ["e1", "e2"]
    assert reasons.errors == {}
    first = reasons["e1"]
    assert first.failure_reason == "Cause derived from: hit a glass door"
    assert first.trajectory.startswith("The agent moved (text only)")
    assert json.loads(first.raw)["failure_reason"] == first.failure_reason
    assert first.engine == llm.spec
    sent = {r.prompt for r in server.requests}
    assert len(server.requests) == 2
    # Task context and the navigation preset reached the model; unknown fields say so.
    prompt_e1 = next(p for p in sent if "glass door" in p)
    assert "reach the kitchen" in prompt_e1
    assert "no contact" in prompt_e1
    assert "front-facing camera" in prompt_e1
    assert "Notes: not given" in prompt_e1
    assert all(r.system and "failures of robots" in r.system for r in server.requests)


@pytest.mark.parametrize("api", ["openai", "gemini"])
def test_in_memory_frames_are_sent_as_images(server: LoopbackServer, api: str) -> None:
    frames = np.zeros((30, 48, 64, 3), dtype=np.uint8)
    frames[:, :, :, 0] = np.arange(30, dtype=np.uint8)[:, None, None] * 8
    dataset = Dataset([Episode("arr", source=frames, fps=10.0, task="stack blocks")], domain="manipulation")
    reasons = infer_reasons(dataset, make_llm(server, api), tail=TailSpec(frames=4, fps=2.0, max_side=32))
    assert reasons.errors == {}
    (request,) = server.requests
    assert request.n_images == 4
    decoded = [PILImage.open(io.BytesIO(data)) for data in request.images]
    assert all(max(image.size) == 32 for image in decoded)
    # Frames arrive oldest first: the red channel grows toward the failure frame.
    reds = [np.asarray(image.convert("RGB"))[..., 0].mean() for image in decoded]
    assert reds == sorted(reds)
    assert reds[-1] > reds[0]
    assert "You are given 4 image(s)" in request.prompt
    assert "A household robot failed the kitchen task: 'stack blocks'" in " ".join(request.prompt.split())
    assert reasons["arr"].trajectory.startswith("The agent moved (4 images)")


def test_include_frames_false_sends_text_only(server: LoopbackServer) -> None:
    frames = np.zeros((5, 16, 16, 3), dtype=np.uint8)
    dataset = Dataset([Episode("a", source=frames, fps=5.0, narrative="bumped a cart")])
    reasons = infer_reasons(dataset, make_llm(server), include_frames=False)
    assert server.requests[0].n_images == 0
    assert "No images are available" in server.requests[0].prompt
    assert reasons["a"].failure_reason == "Cause derived from: bumped a cart"


def test_bad_episodes_land_in_errors_and_the_rest_finish(server: LoopbackServer, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x01 definitely not an mp4 " * 50)
    dataset = Dataset(
        [
            Episode("good-1", narrative="fell off a curb"),
            Episode("bad-video", source=corrupt, fps=30.0),
            Episode("malformed", narrative="BROKEN answer"),
            Episode("nothing"),
            Episode("good-2", narrative="rear-ended a van"),
        ]
    )
    reasons = infer_reasons(dataset, make_llm(server, max_repairs=1))
    assert reasons.ids == ["good-1", "good-2"]
    assert set(reasons.errors) == {"bad-video", "malformed", "nothing"}
    for episode_id, message in reasons.errors.items():
        assert episode_id in message
    assert "corrupt.mp4" in reasons.errors["bad-video"] or "video" in reasons.errors["bad-video"].lower()
    assert "narrative" in reasons.errors["nothing"]
    # The corrupt video and the empty episode never reached the server; the malformed one was re-asked.
    assert sum("BROKEN" in r.text for r in server.requests) == 2
    assert not any("nothing" in r.text for r in server.requests)


def test_auth_error_stops_the_run_and_keeps_finished_reasons(server: LoopbackServer) -> None:
    dataset = Dataset(
        [Episode("ok-1", narrative="a"), Episode("ok-2", narrative="b"), Episode("stop", narrative="NOAUTH")]
        + [Episode(f"later-{i}", narrative="c") for i in range(3)]
    )
    with pytest.raises(RunStopped) as info:
        infer_reasons(dataset, make_llm(server, concurrency=1))
    partial = info.value.partial_reasons
    assert {"ok-1", "ok-2"} <= set(partial.ids)
    assert "stop" not in partial.ids


def test_prompt_override_reaches_the_model(server: LoopbackServer) -> None:
    prompts = load_prompts(
        "generic",
        overrides={
            "reasons": "CUSTOM {task}\nKnown account of the episode (may be incomplete): {narrative}",
            "reasons_system": "CUSTOM SYSTEM",
        },
    )
    infer_reasons(
        Dataset([Episode("x", narrative="spun out", task="lap")]), make_llm(server), prompts=prompts
    )
    (request,) = server.requests
    assert request.prompt.startswith("CUSTOM lap")
    assert request.system == "CUSTOM SYSTEM"


@pytest.mark.parametrize("api", ["openai", "gemini"])
def test_context_only_episodes_reason_from_the_task_and_never_send_the_expert_reason(
    server: LoopbackServer, api: str
) -> None:
    from fmviz.stages.reasons import build_reason_request, reason_evidence

    episode = Episode(
        "k1",
        task="put the apple in the bowl",
        success_condition="the apple is in the bowl",
        action_plan=["pick up apple", "move to bowl", "release apple"],
        expert_reason="EXPERT-ONLY: the gripper slipped",
        label="LABEL-ONLY-grasp-failure",
    )
    reasons = infer_reasons(Dataset([episode], domain="manipulation"), make_llm(server, api))
    assert reasons.errors == {}
    (request,) = server.requests
    assert request.n_images == 0
    assert "put the apple in the bowl" in request.prompt
    assert "move to bowl" in request.prompt
    assert "task context above alone" in request.prompt
    assert "EXPERT-ONLY" not in request.text
    assert "LABEL-ONLY" not in request.text
    built = build_reason_request(episode, load_prompts("manipulation"))
    assert reason_evidence(episode, built) == "task context only"


def test_an_episode_with_nothing_to_reason_from_is_an_error(server: LoopbackServer) -> None:
    reasons = infer_reasons(
        Dataset([Episode("empty", expert_reason="only the answer key")]), make_llm(server)
    )
    assert "no task context" in reasons.errors["empty"]
    assert server.count == 0


def test_video_frames_are_decoded_ahead_and_sent_resized(server: LoopbackServer, tmp_path: Path) -> None:
    from fmviz.video import write_video

    frames = (np.random.default_rng(0).integers(0, 255, (60, 360, 640, 3))).astype(np.uint8)
    paths = [write_video(frames, tmp_path / f"clip{i}.mp4", fps=30) for i in range(4)]
    dataset = Dataset([Episode(f"v{i}", source=path, narrative=f"case {i}") for i, path in enumerate(paths)])
    reasons = infer_reasons(dataset, make_llm(server), tail=TailSpec(frames=4, fps=2.0, max_side=320))
    assert reasons.errors == {}
    assert reasons.ids == ["v0", "v1", "v2", "v3"]
    assert all(request.n_images == 4 for request in server.requests)
    sizes = {PILImage.open(io.BytesIO(data)).size for request in server.requests for data in request.images}
    assert sizes == {(320, 180)}


def test_a_huge_narrative_is_refused_naming_the_episode(server: LoopbackServer) -> None:
    dataset = Dataset([Episode("huge", narrative="x" * 1_000_000), Episode("ok", narrative="bumped a cart")])
    reasons = infer_reasons(dataset, make_llm(server, max_prompt_tokens=100_000))
    assert reasons.ids == ["ok"]
    assert "episode 'huge'" in reasons.errors["huge"]
    assert "max_prompt_tokens" in reasons.errors["huge"]
    assert server.count == 1


def test_a_rerun_over_cached_video_episodes_decodes_nothing(
    server: LoopbackServer, tmp_path: Path, monkeypatch
) -> None:
    import fmviz.executors.base as executors_base  # where stage 1 decodes a tail (any executor)
    import fmviz.stages._tails as tails_module
    from fmviz.video import write_video

    frames = (np.random.default_rng(1).integers(0, 255, (40, 180, 320, 3))).astype(np.uint8)
    paths = [write_video(frames[i:], tmp_path / f"c{i}.mp4", fps=20) for i in range(3)]
    dataset = Dataset([Episode(f"v{i}", source=p, narrative=f"case {i}") for i, p in enumerate(paths)])
    cache = tmp_path / "calls.sqlite"
    tail = TailSpec(frames=3, fps=2.0, max_side=160)
    first = infer_reasons(dataset, make_llm(server, cache=cache), tail=tail)
    sent = {r.prompt: r.images for r in server.requests}
    server.reset()

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached rerun decoded a clip")

    monkeypatch.setattr(executors_base, "select_tail", no_decoding)
    monkeypatch.setattr(tails_module, "select_tail", no_decoding)
    again = infer_reasons(dataset, make_llm(server, cache=cache), tail=tail)
    assert server.count == 0
    assert again.ids == first.ids
    assert [r.failure_reason for r in again] == [r.failure_reason for r in first]
    monkeypatch.undo()

    # an answer that is gone is asked again, with the very same frames decoded on demand
    llm = make_llm(server, cache=cache)
    llm.cache.clear()
    infer_reasons(dataset, llm, tail=tail)
    assert server.count == 3
    assert {r.prompt: r.images for r in server.requests} == sent


def test_a_changed_recording_is_decoded_again(server: LoopbackServer, tmp_path: Path) -> None:
    from fmviz.stages._tails import tail_fingerprint
    from fmviz.video import write_video

    path = write_video(np.zeros((20, 64, 64, 3), np.uint8), tmp_path / "c.mp4", fps=10)
    episode = Episode("v", source=path)
    before = tail_fingerprint(episode, TailSpec())
    write_video(np.full((30, 64, 64, 3), 200, np.uint8), path, fps=10)
    assert tail_fingerprint(episode, TailSpec()) != before
    assert tail_fingerprint(episode, TailSpec(fps=2.0)) != tail_fingerprint(episode, TailSpec())
