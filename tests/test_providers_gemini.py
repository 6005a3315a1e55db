"""GeminiProvider through the real ``google-genai`` client against a loopback server."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image as PILImage

from fmviz.providers import (
    AuthError,
    GeminiProvider,
    Image,
    LLMRequest,
    ProviderError,
    QuotaError,
    RateLimitError,
    TransientError,
)
from fmviz.testing import LoopbackServer, Reply, scripted

KEY = "AIzaTEST0123456789secretkey"


def _provider(server: LoopbackServer, **kwargs) -> GeminiProvider:
    kwargs.setdefault("api_key", KEY)
    return GeminiProvider("gemini-2.5-flash", base_url=server.gemini_base_url, **kwargs)


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 200, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_plain_text_answer_with_usage_and_system_instruction():
    with LoopbackServer(lambda r: Reply(text="it hit the wall", input_tokens=30, output_tokens=4)) as server:
        response = _provider(server).complete(LLMRequest("why?", system="be brief", temperature=0.2))
    assert response.text == "it hit the wall"
    assert (response.input_tokens, response.output_tokens) == (30, 4)
    assert response.finish_reason == "stop"
    seen = server.requests[0]
    assert seen.api == "gemini"
    assert seen.model == "gemini-2.5-flash"
    assert seen.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert seen.system == "be brief"
    assert seen.body["generationConfig"]["temperature"] == 0.2
    assert seen.headers["x-goog-api-key"] == KEY


def test_thinking_tokens_count_as_output():
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "plan", "thought": True}, {"text": "answer"}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 20},
    }
    with LoopbackServer(lambda r: Reply(body=body)) as server:
        response = _provider(server).complete(LLMRequest("x"))
    assert response.text == "answer"
    assert response.output_tokens == 25


def test_images_are_sent_inline():
    frames = (Image(_png(8, 8), "image/png"), Image(b"\xff\xd8fakejpeg", "image/jpeg"))
    with LoopbackServer() as server:
        _provider(server).complete(LLMRequest("describe", images=frames))
    seen = server.requests[0]
    assert seen.images == [frames[0].data, frames[1].data]
    parts = seen.body["contents"][-1]["parts"]
    assert base64.b64decode(parts[0]["inlineData"]["data"]) == frames[0].data
    assert parts[-1] == {"text": "describe"}


def test_history_uses_model_role_and_keeps_images_on_first_turn():
    request = LLMRequest("fix it", images=(Image(b"img"),), history=(("user", "q"), ("assistant", "bad")))
    with LoopbackServer() as server:
        _provider(server).complete(request)
    contents = server.requests[0].body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert "inlineData" in contents[0]["parts"][0]
    assert contents[2]["parts"] == [{"text": "fix it"}]


@pytest.mark.parametrize("json_mode", ["schema", "object", "none"])
def test_json_schema_is_sent_as_structured_output(json_mode):
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    with LoopbackServer(lambda r: '{"x": 1}') as server:
        _provider(server, json_mode=json_mode).complete(LLMRequest("x?", json_schema=schema))
    config = server.requests[0].body.get("generationConfig", {})
    assert config.get("responseMimeType") == (None if json_mode == "none" else "application/json")
    assert config.get("responseJsonSchema") == (schema if json_mode == "schema" else None)


def test_max_tokens_finish_reason_reads_as_length():
    with LoopbackServer(lambda r: Reply(text='{"x": ', finish_reason="length")) as server:
        response = _provider(server).complete(LLMRequest("x", max_output_tokens=5))
    assert response.finish_reason == "length"
    assert server.requests[0].body["generationConfig"]["maxOutputTokens"] == 5


def test_rate_limit_reads_retry_after_header_then_retry_info():
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}],
        }
    }
    replies = [Reply(status=429, retry_after=2.5), Reply(status=429, body=body)]
    with LoopbackServer(scripted(replies)) as server:
        provider = _provider(server)
        with pytest.raises(RateLimitError) as header:
            provider.complete(LLMRequest("x"))
        with pytest.raises(RateLimitError) as detail:
            provider.complete(LLMRequest("x"))
    assert header.value.retry_after == 2.5
    assert detail.value.retry_after == 7.0


def test_exhausted_daily_quota_is_a_quota_error():
    with LoopbackServer(lambda r: Reply(status=429, quota=True)) as server, pytest.raises(QuotaError) as info:
        _provider(server).complete(LLMRequest("x"))
    assert not isinstance(info.value, RateLimitError)
    assert "GEMINI_API_KEY" in str(info.value)


@pytest.mark.parametrize(
    "reply", [Reply(status=401), Reply(status=403), Reply(status=400, message="API key not valid.")]
)
def test_rejected_credentials_name_the_env_var_and_hide_the_key(reply):
    reply.message = (reply.message or "denied") + f" key={KEY}"
    with LoopbackServer(lambda r: reply) as server, pytest.raises(AuthError) as info:
        _provider(server).complete(LLMRequest("x"))
    assert "GEMINI_API_KEY" in str(info.value)
    assert KEY not in str(info.value)


def test_missing_key_is_an_auth_error(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(AuthError, match="GEMINI_API_KEY"):
        GeminiProvider().complete(LLMRequest("x"))


def test_key_comes_from_google_api_key_too(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "from-env-google")
    with LoopbackServer() as server:
        GeminiProvider(base_url=server.gemini_base_url).complete(LLMRequest("x"))
    assert server.requests[0].headers["x-goog-api-key"] == "from-env-google"


@pytest.mark.parametrize(
    ("status", "kind"), [(500, TransientError), (503, TransientError), (400, ProviderError)]
)
def test_status_codes_map_to_retry_policy(status, kind):
    with LoopbackServer(lambda r: Reply(status=status)) as server, pytest.raises(ProviderError) as info:
        _provider(server).complete(LLMRequest("x"))
    assert type(info.value) is kind


def test_timeout_is_transient():
    late = Reply(text="late", delay=2.0)
    with LoopbackServer(lambda r: late) as server, pytest.raises(TransientError, match="timed out"):
        _provider(server, timeout=0.3).complete(LLMRequest("x"))


def test_blocked_prompt_is_a_provider_error():
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}
    with LoopbackServer(lambda r: Reply(body=body)) as server, pytest.raises(ProviderError, match="blocked"):
        _provider(server).complete(LLMRequest("x"))


def test_identity_and_image_estimate():
    provider = GeminiProvider("models/gemini-2.5-pro", base_url="http://localhost:1", api_key=KEY)
    assert provider.spec == "gemini:gemini-2.5-pro"
    assert KEY not in repr(provider.identity())
    assert provider.estimate_image_tokens(Image(_png(384, 384), "image/png")) == 258
    assert provider.estimate_image_tokens(Image(_png(1000, 700), "image/png")) == 258 * 2
