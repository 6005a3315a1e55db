"""The one interface every model provider implements.

A provider turns one :class:`LLMRequest` (text, optional images, optional JSON schema)
into one :class:`LLMResponse`, making exactly one attempt. Everything around that attempt
(caching, retries with backoff, rate limits, the cost ledger, the budget cap, JSON repair,
bounded concurrency) lives once in :class:`fmviz.providers.runner.LLM`, so a new provider is ~50 lines
and behaves like the others. Providers know nothing of stages.

Providers signal failures with the exception types below; the retry policy reads them.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "LLMRequest",
    "LLMResponse",
    "Provider",
    "ProviderError",
    "QuotaError",
    "RateLimitError",
    "TransientError",
]


@dataclass(frozen=True)
class Image:
    """An encoded image sent inline (JPEG or PNG bytes)."""

    data: bytes
    mime_type: str = "image/jpeg"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class LLMRequest:
    """What a stage asks of a model, independent of the provider."""

    prompt: str
    system: str | None = None
    images: tuple[Image, ...] = ()
    #: JSON schema the answer must follow (providers pass it as structured output).
    json_schema: dict[str, Any] | None = None
    #: Name of the schema (OpenAI requires one); defaults to "answer".
    schema_name: str = "answer"
    temperature: float | None = None
    max_output_tokens: int | None = None
    #: Earlier turns for repair re-asks: (role, text) pairs, role in {"user", "assistant"}.
    history: tuple[tuple[str, str], ...] = ()
    #: Ledger and error bookkeeping: which stage asks, for which episode.
    stage: str = "default"
    episode_id: str | None = None
    #: Free parameters that change the answer (e.g. a seed); part of the cache key.
    extra: tuple[tuple[str, Any], ...] = ()

    def cache_fields(self) -> dict[str, Any]:
        """Everything that determines the answer (not stage/episode bookkeeping)."""
        return {
            "prompt": self.prompt,
            "system": self.system,
            "images": [(image.mime_type, image.sha256) for image in self.images],
            "json_schema": self.json_schema,
            "schema_name": self.schema_name,
            "temperature": self.temperature,
            "max_output_tokens": self.max_output_tokens,
            "history": [list(turn) for turn in self.history],
            "extra": [list(item) for item in self.extra],
        }


@dataclass
class LLMResponse:
    """One answer, with the token counts the ledger needs."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    #: True when served from the call cache (no provider call, no cost).
    cached: bool = False
    #: Why generation stopped, as the provider reports it ("stop", "length", ...).
    finish_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class ProviderError(RuntimeError):
    """A provider call failed in a way retrying will not fix."""


class AuthError(ProviderError):
    """Missing or rejected credentials: fail fast and say how to configure them."""


class QuotaError(ProviderError):
    """Billing quota exhausted (not a transient rate limit): fail fast."""


class TransientError(ProviderError):
    """5xx, connection reset, timeout: worth retrying with backoff."""


class RateLimitError(TransientError):
    """429: retry after ``retry_after`` seconds when the server says so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Provider(ABC):
    """One model behind one API. Subclasses implement :meth:`complete`."""

    #: Short provider name used in engine specs and cache keys: "openai", "gemini", "local".
    name: ClassVar[str] = ""
    model: str

    @abstractmethod
    def complete(self, request: LLMRequest) -> LLMResponse:
        """Make exactly one attempt; raise the error types above on failure."""

    def identity(self) -> dict[str, Any]:
        """What distinguishes this provider's answers in the cache (never the key)."""
        return {"provider": self.name, "model": self.model}

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.model}"

    def estimate_image_tokens(self, image: Image) -> int:
        """Rough input tokens for one image, for dry-run estimates."""
        return 258

    def check_ready(self) -> None:  # noqa: B027 - optional hook
        """Raise :class:`AuthError` now if a call could not even be attempted (no key).

        Called before the first stage, so a missing key is reported before any work starts.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and connections."""
