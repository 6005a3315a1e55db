"""Google Gemini through the official ``google-genai`` client.

The paper runs Stage 1 on Gemini 2.5 Pro: the model sees the tail frames of a failure
clip as inline images. One :class:`GeminiProvider` makes one ``generateContent`` attempt
per call, asks for JSON through ``response_mime_type`` + ``response_json_schema``, and
maps the client's errors onto fmviz's error types (a per-minute 429 is retried, a spent
daily or billing quota stops the run). The client's own retries stay off (its default).
"""

from __future__ import annotations

import importlib
import math
import os
import re
from typing import Any, ClassVar, Literal

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from fmviz.providers._client import LazyClient
from fmviz.providers._common import image_size, parse_retry_after, redact, turns
from fmviz.providers.base import (
    AuthError,
    Image,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderError,
    QuotaError,
    RateLimitError,
    TransientError,
)

__all__ = ["GeminiProvider"]

_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_DELAY = re.compile(r"^\s*([0-9.]+)\s*s\s*$")


def _http_exceptions(name: str) -> tuple[type[BaseException], ...]:
    """``name`` from each HTTP library google-genai may use (``httpx2`` since 2.0, ``httpx`` before)."""
    found = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


_TIMEOUTS = _http_exceptions("TimeoutException")
_TRANSPORT = _http_exceptions("TransportError")


class GeminiProvider(Provider):
    """Gemini models (``gemini-2.5-pro``, ``gemini-2.5-flash``, ...) via the Gemini API.

    Parameters
    ----------
    model:
        Model name.
    api_key:
        Defaults to ``$GEMINI_API_KEY``, then ``$GOOGLE_API_KEY``. Never part of
        :meth:`identity`, the cache, or the ledger.
    base_url:
        Another endpoint speaking the Gemini API (a proxy, or
        :class:`fmviz.testing.LoopbackServer`); a key is then optional.
    timeout:
        Seconds per attempt.
    json_mode:
        ``"schema"`` sends the JSON schema, ``"object"`` only asks for JSON, ``"none"``
        relies on the prompt.
    """

    name: ClassVar[str] = "gemini"

    def __init__(
        self,
        model: str = "gemini-2.5-pro",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        json_mode: Literal["schema", "object", "none"] = "schema",
    ) -> None:
        if json_mode not in ("schema", "object", "none"):
            raise ValueError(f"json_mode must be 'schema', 'object' or 'none', not {json_mode!r}")
        self.model = model.removeprefix("models/")
        self.base_url = (base_url or "").rstrip("/") or None
        self.timeout = float(timeout)
        self.json_mode = json_mode
        self._api_key = (
            api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or None
        )
        self._lazy = LazyClient(
            self._build_client,
            key=self._api_key,
            key_required=self.base_url is None,
            missing_key=(
                "no Gemini API key: set the GEMINI_API_KEY (or GOOGLE_API_KEY) environment variable; "
                "keys come from https://aistudio.google.com/apikey"
            ),
        )

    def identity(self) -> dict[str, Any]:
        """Model and endpoint; never the key."""
        return {
            "provider": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "json_mode": self.json_mode,
        }

    @property
    def client(self) -> genai.Client:
        """One thread-safe client per provider, created on first use (and kept referenced)."""
        return self._lazy.get()

    def check_ready(self) -> None:
        """Fail now, naming the variables, when the Gemini API is used without a key."""
        self._lazy.check()

    def _build_client(self, key: str) -> genai.Client:
        milliseconds = max(1, int(self.timeout * 1000))
        options = types.HttpOptions(timeout=milliseconds)
        if self.base_url is not None:
            options = types.HttpOptions(base_url=self.base_url, api_version="v1beta", timeout=milliseconds)
        return genai.Client(api_key=key, http_options=options)

    # -- request -----------------------------------------------------------------------

    def _contents(self, request: LLMRequest) -> list[types.Content]:
        contents = []
        for role, text, images in turns(request):
            parts = [types.Part.from_bytes(data=image.data, mime_type=image.mime_type) for image in images]
            parts.append(types.Part.from_text(text=text))
            contents.append(types.Content(role="model" if role == "assistant" else "user", parts=parts))
        return contents

    def _config(self, request: LLMRequest) -> types.GenerateContentConfig:
        fields: dict[str, Any] = {}
        if request.system:
            fields["system_instruction"] = request.system
        if request.temperature is not None:
            fields["temperature"] = request.temperature
        if request.max_output_tokens is not None:
            fields["max_output_tokens"] = request.max_output_tokens
        if request.json_schema is not None and self.json_mode != "none":
            fields["response_mime_type"] = "application/json"
            if self.json_mode == "schema":
                fields["response_json_schema"] = request.json_schema
        return types.GenerateContentConfig(**fields)

    # -- one attempt ---------------------------------------------------------------------

    def complete(self, request: LLMRequest) -> LLMResponse:
        """One ``generateContent`` call; client errors become fmviz error types."""
        client = self.client
        try:
            response = client.models.generate_content(
                model=self.model, contents=self._contents(request), config=self._config(request)
            )
        except genai_errors.APIError as exc:
            raise self._translate(exc) from exc
        except _TIMEOUTS as exc:
            raise TransientError(f"{self._where()}: timed out after {self.timeout:g} s") from exc
        except _TRANSPORT as exc:
            detail = redact(exc, self._api_key)
            raise TransientError(f"{self._where()}: connection failed ({detail})") from exc
        return self.response_from(response)

    def response_from(self, response: types.GenerateContentResponse) -> LLMResponse:
        """A ``GenerateContentResponse`` (online, or one answer of a batch job) as an answer."""
        candidates = response.candidates or []
        if not candidates:
            feedback = response.prompt_feedback
            reason = getattr(feedback, "block_reason", None) if feedback else None
            raise ProviderError(f"{self.spec}: no answer (prompt blocked: {reason or 'unknown reason'})")
        candidate = candidates[0]
        parts = (candidate.content.parts if candidate.content else None) or []
        text = "".join(part.text for part in parts if part.text and not part.thought)
        usage = response.usage_metadata
        output = (getattr(usage, "candidates_token_count", 0) or 0) + (
            getattr(usage, "thoughts_token_count", 0) or 0
        )
        finish = candidate.finish_reason
        finish_name = getattr(finish, "name", None) or (str(finish) if finish else None)
        return LLMResponse(
            text=text,
            input_tokens=int(getattr(usage, "prompt_token_count", 0) or 0),
            output_tokens=int(output),
            model=response.model_version or self.model,
            finish_reason=_FINISH.get(finish_name, finish_name.lower()) if finish_name else None,
            raw={"response_id": response.response_id},
        )

    def _where(self) -> str:
        return self.spec + (f" at {self.base_url}" if self.base_url else "")

    def _translate(self, exc: genai_errors.APIError) -> ProviderError:
        """Map a ``google.genai`` error to the retry policy's vocabulary."""
        where = self._where()
        code = int(exc.code or 0)
        status = str(exc.status or "")
        message = redact(exc.message or exc, self._api_key)
        details = _details(exc)
        if code == 429 or status == "RESOURCE_EXHAUSTED":
            if _is_quota(message, details):
                return QuotaError(
                    f"{where}: quota exhausted ({status or code}): {message}; check the plan and billing "
                    "of the key in GEMINI_API_KEY"
                )
            retry_after = parse_retry_after(dict(exc.response.headers)) if exc.response is not None else None
            if retry_after is None:
                retry_after = _retry_delay(details)
            return RateLimitError(f"{where}: rate limited (429): {message}", retry_after)
        key_invalid = code == 400 and ("API key not valid" in message or "API_KEY_INVALID" in str(details))
        if code in (401, 403) or key_invalid or status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            return AuthError(
                f"{where}: credentials rejected ({code} {status}): {message}; check the GEMINI_API_KEY "
                "(or GOOGLE_API_KEY) environment variable"
            )
        if code in (408, 409) or code >= 500:
            return TransientError(f"{where}: server error {code} {status}: {message}")
        return ProviderError(f"{where}: request rejected ({code} {status}): {message}")

    # -- estimates ---------------------------------------------------------------------

    def estimate_image_tokens(self, image: Image) -> int:
        """Gemini's rule: 258 tokens up to 384 px, else 258 per 768 px tile."""
        size = image_size(image)
        if size is None:
            return 258
        width, height = size
        if width <= 384 and height <= 384:
            return 258
        return 258 * math.ceil(width / 768) * math.ceil(height / 768)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._lazy.close(_close_client)


def _close_client(client: genai.Client) -> None:
    close = getattr(client, "close", None)  # older google-genai clients have no close()
    if callable(close):
        close()


def _details(exc: genai_errors.APIError) -> list[dict[str, Any]]:
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body)
    found = error.get("details") if isinstance(error, dict) else None
    return [item for item in found or [] if isinstance(item, dict)]


def _is_quota(message: str, details: list[dict[str, Any]]) -> bool:
    """A spent daily/billing quota (stop) rather than a per-minute rate limit (wait)."""
    quota_ids = [
        str(violation.get("quotaId", ""))
        for item in details
        if "QuotaFailure" in str(item.get("@type", ""))
        for violation in item.get("violations", []) or []
    ]
    if any("PerDay" in quota_id for quota_id in quota_ids):
        return True
    if "limit: 0" in message:
        return True
    has_retry = any("RetryInfo" in str(item.get("@type", "")) for item in details)
    return "billing" in message.lower() and not has_retry


def _retry_delay(details: list[dict[str, Any]]) -> float | None:
    for item in details:
        if "RetryInfo" in str(item.get("@type", "")):
            match = _DELAY.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None
