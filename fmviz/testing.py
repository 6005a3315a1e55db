"""A loopback HTTP server that speaks the OpenAI and Gemini APIs, for offline tests.

Provider code is only trustworthy if it is exercised through the official ``openai`` and
``google-genai`` clients, with real HTTP, real status codes and real headers. This module
ships with the library so users (and fmviz's own tests and benchmarks) can run a whole
pipeline against a scripted fake model on ``127.0.0.1`` without a key or a network.

It implements just enough of each API:

* OpenAI: ``POST /v1/chat/completions`` returning a ``chat.completion`` object.
* Gemini: ``POST /v1beta/models/{model}:generateContent`` returning a
  ``GenerateContentResponse``.

A *responder* decides every answer: it receives a :class:`RecordedRequest` and returns a
:class:`Reply` (or a plain string). Errors are rendered in each provider's own error
format, so the clients raise the exceptions they raise in production.

Examples
--------
>>> from fmviz.testing import LoopbackServer, Reply, scripted
>>> with LoopbackServer(scripted([Reply(status=429, retry_after=1), "hello"])) as server:
...     url = server.openai_base_url   # "http://127.0.0.1:PORT/v1"  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import collections
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackServer", "RecordedRequest", "Reply", "Responder", "echo", "scripted"]

_GEMINI_PATH = re.compile(r"^/(?:v1beta|v1|v1alpha)/models/(?P<model>[^/:]+):generateContent$")
_OPENAI_PATH = re.compile(r"^(?:/v1)?/chat/completions$")


@dataclass
class RecordedRequest:
    """One request as the fake server saw it (what tests assert on)."""

    #: ``"openai"`` or ``"gemini"``.
    api: str
    model: str
    path: str
    #: The parsed JSON body.
    body: dict[str, Any]
    #: Text of the last user turn.
    prompt: str
    #: System instruction text, if any.
    system: str | None
    #: Decoded inline images of all turns, in order.
    images: list[bytes]
    #: All text of all turns joined by newlines (handy for ``"error" in request.text``).
    text: str
    #: Request headers with lower-case names.
    headers: dict[str, str]

    @property
    def n_images(self) -> int:
        return len(self.images)


@dataclass
class Reply:
    """What the fake server answers to one request.

    Parameters
    ----------
    text:
        The model's answer text.
    status:
        HTTP status; anything but 200 is rendered as the provider's error JSON.
    headers:
        Extra response headers (e.g. ``{"retry-after": "2"}``).
    delay:
        Seconds to wait before answering (client timeouts, latency benchmarks).
    body:
        A raw body (dict or str) sent instead of the generated one.
    finish_reason:
        ``"stop"`` or ``"length"`` (mapped to ``STOP`` / ``MAX_TOKENS`` for Gemini).
    input_tokens, output_tokens:
        Usage to report; by default about one token per four characters.
    retry_after:
        Adds a ``Retry-After`` header (seconds); for Gemini also a ``RetryInfo`` detail.
    quota:
        With ``status=429``: a billing-quota error (OpenAI ``insufficient_quota``, Gemini
        per-day ``RESOURCE_EXHAUSTED``) instead of a transient rate limit.
    message:
        Error message override.
    """

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: dict[str, Any] | str | None = None
    finish_reason: str = "stop"
    input_tokens: int | None = None
    output_tokens: int | None = None
    retry_after: float | None = None
    quota: bool = False
    message: str | None = None


#: A responder maps a request to a reply (a plain string means a 200 text answer).
Responder = Callable[[RecordedRequest], "Reply | str"]


def echo(request: RecordedRequest) -> Reply:
    """Default responder: answers with the prompt it was given."""
    return Reply(text=f"echo: {request.prompt}")


def scripted(replies: Iterable[Reply | str], then: Responder | Reply | str | None = None) -> Responder:
    """A thread-safe responder that plays ``replies`` in order, then ``then``.

    ``then`` may be a responder, a fixed reply, or ``None`` (repeat the last reply).
    """
    queue = collections.deque(replies)
    lock = threading.Lock()
    last: list[Reply | str] = []

    def responder(request: RecordedRequest) -> Reply | str:
        with lock:
            if queue:
                reply = queue.popleft()
                last[:] = [reply]
                return reply
        if callable(then):
            return then(request)
        if then is not None:
            return then
        if last:
            return last[0]
        return echo(request)

    return responder


def _b64decode(data: str) -> bytes:
    """Standard or URL-safe base64, padded or not (google-genai sends URL-safe)."""
    padded = data + "=" * (-len(data) % 4)
    if "-" in data or "_" in data:
        return base64.urlsafe_b64decode(padded)
    return base64.b64decode(padded)


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _parse_openai(body: dict[str, Any]) -> tuple[str, str | None, list[bytes], str]:
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


def _parse_gemini(body: dict[str, Any]) -> tuple[str, str | None, list[bytes], str]:
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


def _openai_error(reply: Reply) -> dict[str, Any]:
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


def _gemini_error(reply: Reply) -> dict[str, Any]:
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


def _openai_success(request: RecordedRequest, reply: Reply, serial: int) -> dict[str, Any]:
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


def _gemini_success(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Headers and body are two writes; with Nagle on, the second waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and notebooks should not print access logs."""

    def _send(self, status: int, payload: dict[str, Any] | str, headers: dict[str, str]) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout test)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON"}}, {})
            return
        path = self.path.split("?", 1)[0]
        gemini = _GEMINI_PATH.match(path)
        try:
            if gemini:
                api, model = "gemini", gemini.group("model")
                prompt, system, images, text = _parse_gemini(body)
            elif _OPENAI_PATH.match(path):
                api, model = "openai", str(body.get("model", ""))
                prompt, system, images, text = _parse_openai(body)
            else:
                self._send(404, {"error": {"message": f"unknown path {path}"}}, {})
                return
        except (ValueError, TypeError, AttributeError) as exc:
            self._send(400, {"error": {"message": f"malformed request body: {exc}"}}, {})
            return
        request = RecordedRequest(
            api=api,
            model=model,
            path=path,
            body=body,
            prompt=prompt,
            system=system,
            images=images,
            text=text,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        serial = self.server.owner._record(request)
        try:
            reply = self.server.owner.responder(request)
        except Exception as exc:  # a broken responder should fail the test loudly, not hang it
            reply = Reply(status=500, message=f"responder raised {exc!r}")
        if isinstance(reply, str):
            reply = Reply(text=reply)
        if reply.delay > 0 and self.server.owner._closing.wait(reply.delay):
            self.close_connection = True
            return
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers.setdefault("Retry-After", f"{reply.retry_after:g}")
        if reply.body is not None:
            self._send(reply.status, reply.body, headers)
        elif reply.status != 200:
            error = _openai_error(reply) if api == "openai" else _gemini_error(reply)
            self._send(reply.status, error, headers)
        elif api == "openai":
            self._send(200, _openai_success(request, reply, serial), headers)
        else:
            self._send(200, _gemini_success(request, reply), headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    owner: LoopbackServer


class LoopbackServer:
    """A fake OpenAI + Gemini endpoint on ``127.0.0.1`` in a background thread.

    Parameters
    ----------
    responder:
        Decides each answer; defaults to :func:`echo`. May be replaced at any time by
        assigning ``server.responder`` (e.g. to start failing halfway through a run).
    port:
        Port to bind; 0 picks a free one.

    Attributes
    ----------
    requests:
        Every request received, in arrival order.
    openai_base_url, gemini_base_url:
        Base URLs to hand to the clients (``OpenAIProvider(base_url=...)``,
        ``GeminiProvider(base_url=...)``).
    """

    def __init__(self, responder: Responder | None = None, *, port: int = 0) -> None:
        self.responder: Responder = responder or echo
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    @property
    def count(self) -> int:
        """Requests received so far."""
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        """Forget recorded requests."""
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        """Stop serving; pending delayed replies are dropped."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
