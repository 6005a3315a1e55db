"""Model providers: one interface (:class:`Provider`), one class per API.

:class:`OpenAIProvider` covers OpenAI and OpenAI-compatible servers (vLLM, Ollama,
LM Studio), :class:`GeminiProvider` the Gemini API, and ``LocalProvider`` an in-process
model (all three imported lazily, so importing the interface stays cheap). Wrap any of them in
:class:`fmviz.providers.runner.LLM` for caching, retries, the ledger and the budget cap.
"""

from __future__ import annotations

import importlib
from typing import Any

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

#: Concrete providers, imported on first use: ``fmviz.providers.base`` (which every stage
#: imports) must not pay for loading the HTTP clients.
_LAZY = {
    "GeminiProvider": "fmviz.providers.gemini",
    "LocalProvider": "fmviz.providers.local",
    "OpenAIProvider": "fmviz.providers.openai",
}

__all__ = [
    "AuthError",
    "GeminiProvider",
    "Image",
    "LLMRequest",
    "LLMResponse",
    "LocalProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "QuotaError",
    "RateLimitError",
    "TransientError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'fmviz.providers' has no attribute {name!r}")
