"""The loopback HTTP server: a fake OpenAI + Gemini endpoint on ``127.0.0.1``, in a thread.

Each request is parsed (:mod:`fmviz.testing.wire`), recorded, handed to the responder,
and answered after the reply's delay, as an error body, a success body, or a TCP reset.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fmviz.testing.batches import BatchDesk
from fmviz.testing.replies import RecordedRequest, Reply, Responder, echo
from fmviz.testing.wire import (
    gemini_error,
    gemini_success,
    openai_error,
    openai_success,
    parse_gemini,
    parse_openai,
)

__all__ = ["LoopbackServer", "closed_port"]

_GEMINI_PATH = re.compile(r"^/(?:v1beta|v1|v1alpha)/models/(?P<model>[^/:]+):generateContent$")
_OPENAI_PATH = re.compile(r"^(?:/v1)?/chat/completions$")


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

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str], content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _batch_route(self, method: str, raw: bytes) -> bool:
        """Files and batch jobs (:mod:`fmviz.testing.batches`); False when the path is not one."""
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.owner.batches.route(method, path, query, headers, raw)
        if answer is None:
            return False
        status, payload, extra, content_type = answer
        if isinstance(payload, bytes):
            self._send_bytes(status, payload, extra, content_type or "application/octet-stream")
        else:
            self._send(status, payload, extra)
        return True

    def do_GET(self) -> None:
        if not self._batch_route("GET", b""):
            self._send(404, {"error": {"message": f"unknown path {self.path}"}}, {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._batch_route("POST", raw):
            return
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
                prompt, system, images, text = parse_gemini(body)
            elif _OPENAI_PATH.match(path):
                api, model = "openai", str(body.get("model", ""))
                prompt, system, images, text = parse_openai(body)
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
        if reply.reset:
            # SO_LINGER 0: closing sends a TCP RST, as a crashing proxy or server does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if reply.delay > 0 and self.server.owner._closing.wait(reply.delay):
            self.close_connection = True
            return
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers.setdefault("Retry-After", f"{reply.retry_after:g}")
        if reply.body is not None:
            self._send(reply.status, reply.body, headers)
        elif reply.status != 200:
            error = openai_error(reply) if api == "openai" else gemini_error(reply)
            self._send(reply.status, error, headers)
        elif api == "openai":
            self._send(200, openai_success(request, reply, serial), headers)
        else:
            self._send(200, gemini_success(request, reply), headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, reset) is part of the test, not a server error."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


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
        #: Files and batch jobs of both APIs (see :class:`fmviz.testing.batches.BatchDesk`).
        self.batches = BatchDesk(self)
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


def closed_port() -> int:
    """A local port with nothing listening on it (a server that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
