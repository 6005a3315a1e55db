"""OpenAIProvider through the real ``openai`` client against a loopback server."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from fmviz.providers import (
    AuthError,
    Image,
    LLMRequest,
    OpenAIProvider,
    ProviderError,
    QuotaError,
    RateLimitError,
    TransientError,
)
from fmviz.testing import LoopbackServer, Reply, scripted

KEY = "sk-test-0123456789abcdefSECRET"


def _provider(server: LoopbackServer, **kwargs) -> OpenAIProvider:
    kwargs.setdefault("api_key", KEY)
    return OpenAIProvider("gpt-4o-mini", base_url=server.openai_base_url, **kwargs)


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_plain_text_answer_with_usage_and_system_message():
    with LoopbackServer(
        lambda r: Reply(text="the robot dropped the cup", input_tokens=42, output_tokens=7)
    ) as server:
        response = _provider(server).complete(LLMRequest("why did it fail?", system="be brief"))
    assert response.text == "the robot dropped the cup"
    assert (response.input_tokens, response.output_tokens) == (42, 7)
    assert response.finish_reason == "stop"
    assert response.model == "gpt-4o-mini"
    seen = server.requests[0]
    assert seen.api == "openai"
    assert seen.prompt == "why did it fail?"
    assert seen.system == "be brief"
    assert seen.headers["authorization"] == f"Bearer {KEY}"


def test_images_are_sent_inline_as_data_urls():
    frames = (Image(_png(8, 8), "image/png"), Image(b"\xff\xd8fakejpeg", "image/jpeg"))
    with LoopbackServer() as server:
        _provider(server, image_detail="low").complete(LLMRequest("describe", images=frames))
    seen = server.requests[0]
    assert seen.images == [frames[0].data, frames[1].data]
    parts = seen.body["messages"][-1]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[0]["image_url"]["detail"] == "low"
    assert parts[-1] == {"type": "text", "text": "describe"}


def test_history_keeps_images_on_the_first_user_turn():
    request = LLMRequest(
        "fix it", images=(Image(b"img"),), history=(("user", "question"), ("assistant", "bad answer"))
    )
    with LoopbackServer() as server:
        _provider(server).complete(request)
    messages = server.requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert isinstance(messages[0]["content"], list)
    assert messages[0]["content"][0]["type"] == "image_url"
    assert messages[2]["content"] == "fix it"


@pytest.mark.parametrize(
    ("json_mode", "expected"), [("schema", "json_schema"), ("object", "json_object"), ("none", None)]
)
def test_json_mode_picks_response_format(json_mode, expected):
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    with LoopbackServer(lambda r: '{"x": 1}') as server:
        _provider(server, json_mode=json_mode).complete(LLMRequest("x?", json_schema=schema, schema_name="X"))
    body = server.requests[0].body
    assert body.get("response_format", {}).get("type") == expected
    if expected == "json_schema":
        assert body["response_format"]["json_schema"]["name"] == "X"
        assert body["response_format"]["json_schema"]["schema"] == schema


def test_max_tokens_and_temperature_and_extra_body_reach_a_compatible_server():
    with LoopbackServer() as server:
        provider = _provider(server, extra_body={"top_k": 5})
        provider.complete(LLMRequest("x", temperature=0.3, max_output_tokens=99))
    body = server.requests[0].body
    assert body["max_tokens"] == 99
    assert body["temperature"] == 0.3
    assert body["top_k"] == 5


def test_rate_limit_reads_retry_after_headers():
    with LoopbackServer(
        scripted([Reply(status=429, retry_after=2.5), Reply(status=429, headers={"retry-after-ms": "1500"})])
    ) as server:
        provider = _provider(server)
        with pytest.raises(RateLimitError) as first:
            provider.complete(LLMRequest("x"))
        with pytest.raises(RateLimitError) as second:
            provider.complete(LLMRequest("x"))
    assert first.value.retry_after == 2.5
    assert second.value.retry_after == 1.5


def test_insufficient_quota_is_a_quota_error_not_a_rate_limit():
    with LoopbackServer(lambda r: Reply(status=429, quota=True)) as server, pytest.raises(QuotaError) as info:
        _provider(server).complete(LLMRequest("x"))
    assert not isinstance(info.value, RateLimitError)
    assert "insufficient_quota" in str(info.value)


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_name_the_env_var_and_hide_the_key(status):
    message = f"Incorrect API key provided: {KEY}. Or sk-tes*******CRET."
    reply = Reply(status=status, message=message)
    with LoopbackServer(lambda r: reply) as server, pytest.raises(AuthError) as info:
        _provider(server).complete(LLMRequest("x"))
    assert "OPENAI_API_KEY" in str(info.value)
    assert KEY not in str(info.value)
    assert "CRET" not in str(info.value)


def test_missing_key_for_openai_itself_is_an_auth_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    provider = OpenAIProvider("o4-mini")
    with pytest.raises(AuthError, match="OPENAI_API_KEY") as info:
        provider.complete(LLMRequest("x"))
    assert "base_url" in str(info.value)


def test_missing_key_is_fine_for_a_local_server(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with LoopbackServer(lambda r: "local answer") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        response = OpenAIProvider("llama3").complete(LLMRequest("x"))
    assert response.text == "local answer"
    assert server.requests[0].headers["authorization"].startswith("Bearer ")


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


def test_connection_refused_is_transient():
    with LoopbackServer() as server:
        url = server.openai_base_url
    with pytest.raises(TransientError, match="connection"):
        OpenAIProvider("m", base_url=url, api_key=KEY, timeout=2).complete(LLMRequest("x"))


def test_identity_names_server_but_never_the_key():
    provider = OpenAIProvider("gpt-4o", base_url="http://localhost:8000/v1", api_key=KEY)
    identity = provider.identity()
    assert identity["base_url"] == "http://localhost:8000/v1"
    assert KEY not in repr(identity)
    assert provider.spec == "openai:gpt-4o"
    other = OpenAIProvider("gpt-4o", base_url="http://localhost:9000/v1", api_key=KEY)
    assert other.identity() != identity


def test_image_token_estimate_follows_tile_rule():
    provider = OpenAIProvider("gpt-4o", base_url="http://localhost:1/v1")
    assert provider.estimate_image_tokens(Image(_png(512, 512), "image/png")) == 85 + 170
    assert provider.estimate_image_tokens(Image(_png(1024, 1024), "image/png")) == 85 + 170 * 4
    low = OpenAIProvider("gpt-4o", base_url="http://localhost:1/v1", image_detail="low")
    assert low.estimate_image_tokens(Image(_png(1024, 1024), "image/png")) == 85
