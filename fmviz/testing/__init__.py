"""A loopback HTTP server that speaks the OpenAI and Gemini APIs, for offline tests.

Provider code is only trustworthy if it is exercised through the official ``openai`` and
``google-genai`` clients, with real HTTP, real status codes and real headers. This module
ships with the library so users (and fmviz's own tests and benchmarks) can run a whole
pipeline against a scripted fake model on ``127.0.0.1`` without a key or a network.

It implements just enough of each API:

* OpenAI: ``POST /v1/chat/completions`` returning a ``chat.completion`` object.
* Gemini: ``POST /v1beta/models/{model}:generateContent`` returning a
  ``GenerateContentResponse``.
* Both batch APIs (files upload, create, poll, results, cancel), with scripted failed,
  expired and partial jobs: :mod:`~fmviz.testing.batches` (``server.batches``).

A *responder* decides every answer: it receives a :class:`RecordedRequest` and returns a
:class:`Reply` (or a plain string). Errors are rendered in each provider's own error
format, so the clients raise the exceptions they raise in production.

Examples
--------
>>> from fmviz.testing import LoopbackServer, Reply, faulty, scripted
>>> with LoopbackServer(scripted([Reply(status=429, retry_after=1), "hello"])) as server:
...     url = server.openai_base_url   # "http://127.0.0.1:PORT/v1"  # doctest: +SKIP
>>> flaky = faulty(lambda request: "ok", rate=0.3, seed=1)   # 30% 429/500/reset/hang/garbage

The package has three parts: :mod:`~fmviz.testing.replies` (what a responder returns, and
ready-made responders, including fault injection), :mod:`~fmviz.testing.wire` (each API's
request and response bodies) and :mod:`~fmviz.testing.server` (the HTTP server).
"""

from __future__ import annotations

from fmviz.testing.replies import FAULTS, RecordedRequest, Reply, Responder, echo, faulty, scripted
from fmviz.testing.server import LoopbackServer, closed_port

__all__ = [
    "FAULTS",
    "LoopbackServer",
    "RecordedRequest",
    "Reply",
    "Responder",
    "closed_port",
    "echo",
    "faulty",
    "scripted",
]
