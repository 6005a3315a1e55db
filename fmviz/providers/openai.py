"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, LM Studio) through the official client.

One :class:`OpenAIProvider` makes one Chat Completions attempt per call: frames go inline
as ``data:`` URLs, structured output as ``response_format`` (a JSON schema, a bare JSON
object, or nothing for servers that support neither), and every client exception is
mapped onto fmviz's error types so that :class:`fmviz.providers.runner.LLM` can decide whether to retry,
wait, or stop. The client's own retries are off: retrying is the wrapper's job.
"""

from __future__ import annotations

import base64
import math
import os
from typing import Any, ClassVar, Literal

import openai

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

__all__ = ["OpenAIProvider"]

_OPENAI_HOST = "api.openai.com"
#: Reasoning models reject ``temperature`` other than the default.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


class OpenAIProvider(Provider):
    """Chat Completions on OpenAI or any OpenAI-compatible server.

    Parameters
    ----------
    model:
        Model name, e.g. ``"o4-mini"``, ``"gpt-4.1-mini"``, or the name a local server uses.
    base_url:
        Server URL (``http://localhost:8000/v1`` for vLLM, ``http://localhost:11434/v1`` for
        Ollama); defaults to ``$OPENAI_BASE_URL``, else OpenAI itself.
    api_key:
        Defaults to ``$OPENAI_API_KEY``. Only OpenAI itself requires one; local servers get a
        placeholder. The key is never part of :meth:`identity`, the cache, or the ledger.
    timeout:
        Seconds per attempt.
    json_mode:
        ``"schema"`` sends the JSON schema (``response_format=json_schema``), ``"object"``
        asks for any JSON object, ``"none"`` relies on the prompt (servers without either).
    image_detail:
        OpenAI's image ``detail`` (``"auto"``, ``"low"``, ``"high"``).
    extra_body:
        Extra JSON fields for the request (server-specific options, e.g. vLLM's
        ``guided_json``).
    strict_schema:
        Send the schema with ``strict: true`` (the schema must then satisfy OpenAI's strict
        subset; pydantic's default schemas usually do not, so this is off by default).
    """

    name: ClassVar[str] = "openai"

    def __init__(
        self,
        model: str = "o4-mini",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        json_mode: Literal["schema", "object", "none"] = "schema",
        image_detail: str = "auto",
        extra_body: dict[str, Any] | None = None,
        strict_schema: bool = False,
    ) -> None:
        if json_mode not in ("schema", "object", "none"):
            raise ValueError(f"json_mode must be 'schema', 'object' or 'none', not {json_mode!r}")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/") or None
        self.timeout = float(timeout)
        self.json_mode = json_mode
        self.image_detail = image_detail
        self.extra_body = dict(extra_body or {})
        self.strict_schema = strict_schema
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        self._lazy = LazyClient(
            self._build_client,
            key=self._api_key,
            key_required=self.is_openai,
            missing_key=(
                "no OpenAI API key: set the OPENAI_API_KEY environment variable, or pass base_url "
                "(or set OPENAI_BASE_URL) for a local OpenAI-compatible server such as vLLM, Ollama "
                "or LM Studio"
            ),
        )

    @property
    def is_openai(self) -> bool:
        """True when talking to OpenAI itself (a key is required, prices apply)."""
        return self.base_url is None or _OPENAI_HOST in self.base_url

    def identity(self) -> dict[str, Any]:
        """Model and server (a local server's "gpt-4o" is not OpenAI's); never the key."""
        return {
            "provider": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "json_mode": self.json_mode,
            "image_detail": self.image_detail,
            "extra_body": self.extra_body,
        }

    @property
    def client(self) -> openai.OpenAI:
        """One thread-safe client per provider, created on first use."""
        return self._lazy.get()

    def check_ready(self) -> None:
        """Fail now, naming the variable, when OpenAI itself is used without a key."""
        self._lazy.check()

    def _build_client(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    # -- request -----------------------------------------------------------------------

    def _messages(self, request: LLMRequest) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for role, text, images in turns(request):
            if not images:
                messages.append({"role": role, "content": text})
                continue
            parts: list[dict[str, Any]] = [
                {
                    "type": "image_url",
                    "image_url": {
                        "url": f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode()}",
                        "detail": self.image_detail,
                    },
                }
                for image in images
            ]
            parts.append({"type": "text", "text": text})
            messages.append({"role": role, "content": parts})
        return messages

    def _arguments(self, request: LLMRequest) -> dict[str, Any]:
        arguments: dict[str, Any] = {"model": self.model, "messages": self._messages(request)}
        reasoning = self.model.split("/")[-1].startswith(_REASONING_PREFIXES)
        if request.temperature is not None and not (reasoning and self.is_openai):
            arguments["temperature"] = request.temperature
        if request.max_output_tokens is not None:
            # OpenAI's reasoning models only accept the newer name; other servers the older.
            name = "max_completion_tokens" if self.is_openai else "max_tokens"
            arguments[name] = request.max_output_tokens
        if request.json_schema is not None and self.json_mode == "schema":
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name or "answer",
                    "schema": request.json_schema,
                    "strict": self.strict_schema,
                },
            }
        elif request.json_schema is not None and self.json_mode == "object":
            arguments["response_format"] = {"type": "json_object"}
        if self.extra_body:
            arguments["extra_body"] = self.extra_body
        return arguments

    # -- one attempt ---------------------------------------------------------------------

    def complete(self, request: LLMRequest) -> LLMResponse:
        """One Chat Completions call; client errors become fmviz error types."""
        client = self.client
        try:
            completion = client.chat.completions.create(**self._arguments(request))
        except openai.APIError as exc:
            raise self._translate(exc) from exc
        return self.response_from(completion)

    def response_from(self, completion: Any) -> LLMResponse:
        """A ``ChatCompletion`` (online, or a line of a Batch API result file) as an answer."""
        if not completion.choices:
            raise ProviderError(f"{self.spec}: the server returned no choices")
        choice = completion.choices[0]
        text = choice.message.content or ""
        refusal = getattr(choice.message, "refusal", None)
        if not text and refusal:
            text = refusal
        usage = completion.usage
        return LLMResponse(
            text=text,
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            model=completion.model or self.model,
            finish_reason=choice.finish_reason,
            raw={"id": completion.id},
        )

    def _translate(self, exc: openai.APIError) -> ProviderError:
        """Map an ``openai`` exception to the retry policy's vocabulary."""
        where = f"{self.spec}" + (f" at {self.base_url}" if self.base_url else "")
        detail = redact(getattr(exc, "message", None) or exc, self._api_key)
        if isinstance(exc, openai.APITimeoutError):
            return TransientError(f"{where}: timed out after {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__  # httpx's error says what happened: refused, reset, DNS
            if cause is not None and str(cause):
                detail = f"{detail} {type(cause).__name__}: {redact(cause, self._api_key)}"
            return TransientError(f"{where}: connection failed ({detail})")
        if isinstance(exc, openai.RateLimitError):
            code = _error_code(exc)
            if code == "insufficient_quota":
                return QuotaError(
                    f"{where}: billing quota exhausted (insufficient_quota); add credit or raise the "
                    f"limit at platform.openai.com: {detail}"
                )
            return RateLimitError(
                f"{where}: rate limited (429): {detail}", parse_retry_after(exc.response.headers)
            )
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            hint = (
                "check the OPENAI_API_KEY environment variable"
                if self.is_openai
                else f"check the key the server at {self.base_url} expects (OPENAI_API_KEY)"
            )
            return AuthError(f"{where}: credentials rejected ({exc.status_code}): {detail}; {hint}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in (408, 409) or status >= 500:
                return TransientError(f"{where}: server error {status}: {detail}")
            return ProviderError(f"{where}: request rejected ({status}): {detail}")
        return ProviderError(f"{where}: {detail}")

    # -- estimates ---------------------------------------------------------------------

    def estimate_image_tokens(self, image: Image) -> int:
        """OpenAI's tile rule: 85 + 170 per 512 px tile after scaling (85 for ``low``)."""
        if self.image_detail == "low":
            return 85
        size = image_size(image)
        if size is None:
            return 765
        width, height = (float(v) for v in size)
        scale = min(1.0, 2048.0 / max(width, height))
        width, height = width * scale, height * scale
        scale = min(1.0, 768.0 / min(width, height))
        width, height = width * scale, height * scale
        return 85 + 170 * math.ceil(width / 512) * math.ceil(height / 512)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._lazy.close(lambda client: client.close())


def _error_code(exc: openai.APIStatusError) -> str | None:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    if isinstance(error, dict):
        return error.get("code") or error.get("type")
    return None
