"""The wire formats of the two APIs the loopback server speaks: requests in, answers out.

Errors are rendered in each provider's own error JSON (OpenAI's ``{"error": {type, code}}``,
Google's ``{"error": {code, status, details}}``), so the official clients raise the very
exceptions they raise in production and fmviz's error mapping is tested for real.
"""

from __future__ import annotations

import base64
from typing import Any

from fmviz.testing.replies import RecordedRequest, Reply

__all__ = ["gemini_error", "gemini_success", "openai_error", "openai_success", "parse_gemini", "parse_openai"]


def _b64decode(data: str) -> bytes:
    """Standard or URL-safe base64, padded or not (google-genai sends URL-safe)."""
    padded = data + "=" * (-len(data) % 4)
    if "-" in data or "_" in data:
        return base64.urlsafe_b64decode(padded)
    return base64.b64decode(padded)


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def parse_openai(body: dict[str, Any]) -> tuple[str, str | None, list[bytes], str]:
    prompt, system, images, texts = "", None, [], []
    for message in body.get("messages", []):
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else (content or [])
        turn_text = []
        for part in parts:
            if part.get("type") == "text":
                turn_text.append(part.get("text", ""))
            elif part.get("type") == "image_url":
                url = part.get("image_url", {}).get("url", "")
                if url.startswith("data:") and "," in url:
                    images.append(_b64decode(url.split(",", 1)[1]))
        joined = "\n".join(turn_text)
        texts.append(joined)
        if message.get("role") in ("system", "developer"):
            system = joined
        elif message.get("role") == "user":
            prompt = joined
    return prompt, system, images, "\n".join(texts)


def parse_gemini(body: dict[str, Any]) -> tuple[str, str | None, list[bytes], str]:
    prompt, images, texts = "", [], []
    system = None
    instruction = body.get("systemInstruction") or body.get("system_instruction")
    if instruction:
        system = "\n".join(p.get("text", "") for p in instruction.get("parts", []) if "text" in p)
        texts.append(system)
    for content in body.get("contents", []):
        turn_text = []
        for part in content.get("parts", []):
            if "text" in part:
                turn_text.append(part["text"])
            inline = part.get("inlineData") or part.get("inline_data")
            if inline:
                images.append(_b64decode(inline.get("data", "")))
        joined = "\n".join(turn_text)
        texts.append(joined)
        if content.get("role", "user") == "user":
            prompt = joined
    return prompt, system, images, "\n".join(texts)


def openai_error(reply: Reply) -> dict[str, Any]:
    status = reply.status
    if status == 429 and reply.quota:
        kind, code = "insufficient_quota", "insufficient_quota"
        message = "You exceeded your current quota, please check your plan and billing details."
    elif status == 429:
        kind, code = "requests", "rate_limit_exceeded"
        message = "Rate limit reached for requests. Please try again shortly."
    elif status == 401:
        kind, code = "invalid_request_error", "invalid_api_key"
        message = "Incorrect API key provided."
    elif status == 403:
        kind, code = "invalid_request_error", "unsupported_country_region_territory"
        message = "Permission denied."
    elif status >= 500:
        kind, code = "server_error", None
        message = "The server had an error while processing your request."
    else:
        kind, code = "invalid_request_error", None
        message = "Invalid request."
    return {"error": {"message": reply.message or message, "type": kind, "param": None, "code": code}}


def gemini_error(reply: Reply) -> dict[str, Any]:
    status = reply.status
    details: list[dict[str, Any]] = []
    if status == 429 and reply.quota:
        grpc = "RESOURCE_EXHAUSTED"
        message = (
            "You exceeded your current quota, please check your plan and billing details. "
            "Quota exceeded for metric: generate_content_requests, limit: 0"
        )
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
            }
        )
    elif status == 429:
        grpc, message = "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."
    elif status == 401:
        grpc, message = "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."
    elif status == 403:
        grpc, message = "PERMISSION_DENIED", "Permission denied on resource."
    elif status == 503:
        grpc, message = "UNAVAILABLE", "The model is overloaded. Please try again later."
    elif status >= 500:
        grpc, message = "INTERNAL", "An internal error has occurred."
    elif status == 404:
        grpc, message = "NOT_FOUND", "Model not found."
    else:
        grpc, message = "INVALID_ARGUMENT", "Request contains an invalid argument."
    if reply.retry_after is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{reply.retry_after:g}s"}
        )
    error: dict[str, Any] = {"code": status, "message": reply.message or message, "status": grpc}
    if details:
        error["details"] = details
    return {"error": error}


def openai_success(request: RecordedRequest, reply: Reply, serial: int) -> dict[str, Any]:
    prompt_tokens = reply.input_tokens
    if prompt_tokens is None:
        prompt_tokens = _estimate_tokens(request.text) + 85 * request.n_images
    completion_tokens = reply.output_tokens
    if completion_tokens is None:
        completion_tokens = _estimate_tokens(reply.text)
    return {
        "id": f"chatcmpl-loopback-{serial}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text, "refusal": None},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fmviz-loopback",
    }


_GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def gemini_success(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    prompt_tokens = reply.input_tokens
    if prompt_tokens is None:
        prompt_tokens = _estimate_tokens(request.text) + 258 * request.n_images
    completion_tokens = reply.output_tokens
    if completion_tokens is None:
        completion_tokens = _estimate_tokens(reply.text)
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": reply.text}], "role": "model"},
                "finishReason": _GEMINI_FINISH.get(reply.finish_reason, reply.finish_reason.upper()),
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": completion_tokens,
            "totalTokenCount": prompt_tokens + completion_tokens,
        },
        "modelVersion": request.model,
    }
