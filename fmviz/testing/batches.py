"""The files and batch endpoints of both APIs on the loopback server, with scripted outcomes.

A batch job's lines are answered by the server's own responder (so a test scripts batch and
online answers the same way), when a poll finds the job finished. What a job does is
scripted per job with :meth:`BatchDesk.script`:

* ``"ok"``: every line answered;
* ``"failed"``: the whole job fails validation, nothing is answered;
* ``"expired"``: the first half of the lines is answered, the rest never ran;
* ``"partial"``: the job completes, but every third line (1, 4, ...) gets a 500 and every
  third (2, 5, ...) is missing from the results altogether.

OpenAI: ``POST /v1/files`` (multipart), ``GET /v1/files/{id}[/content]``, ``POST /v1/batches``,
``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``. Gemini: the resumable upload of
``POST /upload/v1beta/files`` (start, then upload + finalize), ``POST
/v1beta/models/{model}:batchGenerateContent`` (inlined requests or a file), ``GET
/v1beta/batches/{id}``, ``POST /v1beta/batches/{id}:cancel`` and the result file's
``GET .../files/{id}:download?alt=media``.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from fmviz.testing import batch_wire as bw
from fmviz.testing.replies import RecordedRequest, Reply
from fmviz.testing.wire import (
    gemini_error,
    gemini_success,
    openai_error,
    openai_success,
    parse_gemini,
    parse_openai,
)

__all__ = ["OUTCOMES", "BatchDesk"]

#: What :meth:`BatchDesk.script` accepts.
OUTCOMES = ("ok", "failed", "expired", "partial")

_OPENAI_BATCH = re.compile(r"^/v1/batches/(?P<id>[^/]+?)(?P<cancel>/cancel)?$")
_OPENAI_FILE = re.compile(r"^/v1/files/(?P<id>[^/]+?)(?P<content>/content)?$")
_GEMINI_CREATE = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):batchGenerateContent$")
_GEMINI_BATCH = re.compile(r"^/v1beta/batches/(?P<id>[^/:]+)(?P<cancel>:cancel)?$")
_GEMINI_DOWNLOAD = re.compile(r"^(?:/download)?/v1beta/files/(?P<id>[^/:]+):download$")

#: (status, body, headers, content type) of one answer.
Answer = tuple[int, Any, dict[str, str], str]


class BatchDesk:
    """Files and batch jobs of the loopback server (``server.batches``).

    Attributes
    ----------
    creates:
        Batch jobs created, per API (``{"openai": 1}``): resume tests assert on it.
    lines:
        Every batch line answered, as a :class:`~fmviz.testing.RecordedRequest`.
    polls_to_finish:
        Polls a job answers "running" before it finishes (raise it to hold jobs open).
    """

    def __init__(self, owner: Any) -> None:
        #: The :class:`~fmviz.testing.LoopbackServer` (its ``responder`` answers the lines).
        self.owner = owner
        self.creates: collections.Counter[str] = collections.Counter()
        self.lines: list[RecordedRequest] = []
        self.polls_to_finish = 1
        self.jobs: dict[str, bw.BatchJob] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self._outcomes: collections.deque[str] = collections.deque()
        self._uploads: dict[str, bytearray] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def script(self, outcomes: Iterable[str]) -> None:
        """Outcomes of the next jobs, in creation order (then ``"ok"``)."""
        outcomes = list(outcomes)
        unknown = set(outcomes) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"unknown batch outcomes {sorted(unknown)}; use some of {OUTCOMES}")
        with self._lock:
            self._outcomes.extend(outcomes)

    # -- routing ---------------------------------------------------------------------

    def route(self, method: str, path: str, query: str, headers: dict[str, str], raw: bytes) -> Answer | None:
        """The answer to a files/batches request, or None when ``path`` is not one."""
        if path == "/v1/files" and method == "POST":
            return self._openai_upload(headers, raw)
        if path == "/v1/batches" and method == "POST":
            return self._openai_create(json.loads(raw or b"{}"))
        if match := _OPENAI_BATCH.match(path):
            return self._openai_poll(match.group("id"), cancel=bool(match.group("cancel")))
        if (match := _OPENAI_FILE.match(path)) and method == "GET":
            return self._openai_file(match.group("id"), content=bool(match.group("content")))
        if path == "/upload/v1beta/files" and method == "POST":
            return self._gemini_upload(query, headers, raw)
        if match := _GEMINI_CREATE.match(path):
            return self._gemini_create(match.group("model"), json.loads(raw or b"{}"))
        if match := _GEMINI_BATCH.match(path):
            return self._gemini_poll(match.group("id"), cancel=bool(match.group("cancel")))
        if (match := _GEMINI_DOWNLOAD.match(path)) and method == "GET":
            return self._download(match.group("id"))
        return None

    # -- OpenAI ----------------------------------------------------------------------

    def _openai_upload(self, headers: dict[str, str], raw: bytes) -> Answer:
        fields = bw.parse_multipart(headers.get("content-type", ""), raw)
        if "file" not in fields:
            return (
                400,
                {"error": {"message": "no file in the upload", "type": "invalid_request_error"}},
                {},
                "",
            )
        filename, data = fields["file"]
        purpose = fields.get("purpose", (None, b"batch"))[1].decode()
        file_id = self._new_file(filename or "upload.jsonl", data, prefix="file-")
        return 200, bw.openai_file(file_id, filename or "", len(data), purpose, int(time.time())), {}, ""

    def _openai_create(self, body: dict[str, Any]) -> Answer:
        stored = self.files.get(str(body.get("input_file_id")))
        if stored is None:
            return 404, {"error": {"message": "no such file", "type": "invalid_request_error"}}, {}, ""
        lines = [json.loads(line) for line in stored[1].decode().splitlines() if line.strip()]
        entries = [(str(line["custom_id"]), dict(line["body"])) for line in lines]
        model = str(entries[0][1].get("model", "")) if entries else ""
        job = self._new_job("openai", f"batch_{next(self._ids):04d}", model, entries)
        job.input_file = str(body["input_file_id"])
        job.metadata = dict(body.get("metadata") or {})
        return 200, bw.openai_batch(job), {}, ""

    def _openai_poll(self, batch_id: str, *, cancel: bool) -> Answer:
        job = self.jobs.get(batch_id)
        if job is None or job.api != "openai":
            return (
                404,
                {"error": {"message": f"no batch {batch_id}", "type": "invalid_request_error"}},
                {},
                "",
            )
        self._advance(job, cancel)
        return 200, bw.openai_batch(job), {}, ""

    def _openai_file(self, file_id: str, *, content: bool) -> Answer:
        stored = self.files.get(file_id)
        if stored is None:
            return 404, {"error": {"message": f"no file {file_id}", "type": "invalid_request_error"}}, {}, ""
        if content:
            return 200, stored[1], {}, "application/octet-stream"
        return 200, bw.openai_file(file_id, stored[0], len(stored[1]), "batch", int(time.time())), {}, ""

    # -- Gemini ----------------------------------------------------------------------

    def _gemini_upload(self, query: str, headers: dict[str, str], raw: bytes) -> Answer:
        command = headers.get("x-goog-upload-command", "")
        if command == "start":
            upload_id = f"up{next(self._ids)}"
            self._uploads[upload_id] = bytearray()
            url = f"http://127.0.0.1:{self.owner.port}/upload/v1beta/files?upload_id={upload_id}"
            return 200, {}, {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}, ""
        upload_id = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("upload_id", "")
        if upload_id not in self._uploads:
            return 404, {"error": {"code": 404, "message": "no such upload", "status": "NOT_FOUND"}}, {}, ""
        self._uploads[upload_id] += raw
        if "finalize" not in command:
            return 200, {}, {"X-Goog-Upload-Status": "active"}, ""
        data = bytes(self._uploads.pop(upload_id))
        name = self._new_file("upload.jsonl", data, prefix="files/in")
        file = {"name": name, "mimeType": "application/jsonl", "sizeBytes": str(len(data)), "state": "ACTIVE"}
        return 200, {"file": file}, {"X-Goog-Upload-Status": "final"}, ""

    def _gemini_create(self, model: str, body: dict[str, Any]) -> Answer:
        batch = body.get("batch") or {}
        source = batch.get("inputConfig") or {}
        if "fileName" in source:
            stored = self.files.get(str(source["fileName"]))
            if stored is None:
                return 404, gemini_error(Reply(status=404, message="no such file")), {}, ""
            rows = [json.loads(line) for line in stored[1].decode().splitlines() if line.strip()]
            entries = [(str(row["key"]), dict(row["request"])) for row in rows]
        else:
            rows = (source.get("requests") or {}).get("requests") or []
            entries = [(str((row.get("metadata") or {}).get("key")), dict(row["request"])) for row in rows]
        job = self._new_job("gemini", f"batches/b{next(self._ids):04d}", model, entries)
        job.input_file = source.get("fileName")
        job.display_name = str(batch.get("displayName") or "")
        return 200, bw.gemini_operation(job, inline=job.input_file is None), {}, ""

    def _gemini_poll(self, batch_id: str, *, cancel: bool) -> Answer:
        job = self.jobs.get(f"batches/{batch_id}")
        if job is None:
            return 404, gemini_error(Reply(status=404, message=f"no batch {batch_id}")), {}, ""
        self._advance(job, cancel)
        if cancel:
            return 200, {}, {}, ""
        return 200, bw.gemini_operation(job, inline=job.input_file is None), {}, ""

    def _download(self, file_id: str) -> Answer:
        stored = self.files.get(f"files/{file_id}")
        if stored is None:
            return 404, gemini_error(Reply(status=404, message=f"no file {file_id}")), {}, ""
        return 200, stored[1], {}, "application/octet-stream"

    # -- jobs ------------------------------------------------------------------------

    def _new_file(self, filename: str, data: bytes, *, prefix: str) -> str:
        with self._lock:
            file_id = f"{prefix}{next(self._ids):04d}"
            self.files[file_id] = (filename, data)
        return file_id

    def _new_job(
        self, api: str, job_id: str, model: str, entries: list[tuple[str, dict[str, Any]]]
    ) -> bw.BatchJob:
        with self._lock:
            outcome = self._outcomes.popleft() if self._outcomes else "ok"
            self.creates[api] += 1
            job = bw.BatchJob(api, job_id, model, entries, outcome, int(time.time()))
            self.jobs[job_id] = job
        return job

    def _advance(self, job: bw.BatchJob, cancel: bool) -> None:
        """One poll: count it, and finish the job once it has been polled enough."""
        with self._lock:
            if job.done:
                return
            if cancel:
                job.state = "cancelled"
                return
            job.polls += 1
            job.state = "running"
            if job.polls <= self.polls_to_finish:
                return
        self._finish(job)

    def _finish(self, job: bw.BatchJob) -> None:
        """Answer the lines the outcome lets through, then write the result files."""
        n = len(job.lines)
        for index, (key, body) in enumerate(job.lines):
            if job.outcome == "failed":
                break
            if job.outcome == "expired" and index >= (n + 1) // 2:
                job.failures[key] = (
                    0,
                    "This request could not be executed before the completion window expired.",
                )
                continue
            if job.outcome == "partial" and index % 3 == 2:
                continue  # missing from the results altogether
            if job.outcome == "partial" and index % 3 == 1:
                job.failures[key] = (500, _error_body(job.api, Reply(status=500)))
                continue
            status, answer = self._answer(job, body)
            if status == 200:
                job.answers[key] = answer
            else:
                job.failures[key] = (status, answer)
        with self._lock:
            job.state = {"failed": "failed", "expired": "expired"}.get(job.outcome, "completed")
        if job.state == "failed":
            return
        if job.api == "openai":
            output, errors = bw.openai_result_lines(job)
            if output:
                job.output_file = self._new_file("output.jsonl", _jsonl(output), prefix="file-out")
            if errors:
                job.error_file = self._new_file("errors.jsonl", _jsonl(errors), prefix="file-err")
        elif job.input_file is not None:
            lines = bw.gemini_result_lines(job, inline=False)
            job.output_file = self._new_file("results.jsonl", _jsonl(lines), prefix="files/out")

    def _answer(self, job: bw.BatchJob, body: dict[str, Any]) -> tuple[int, Any]:
        """One line through the server's responder, as the online endpoint would answer it."""
        if job.api == "openai":
            prompt, system, images, text = parse_openai(body)
            model = str(body.get("model", job.model))
        else:
            prompt, system, images, text = parse_gemini(body)
            model = job.model
        path = "/v1/chat/completions" if job.api == "openai" else f"/v1beta/models/{model}:generateContent"
        request = RecordedRequest(job.api, model, path, body, prompt, system, images, text, {})
        with self._lock:
            self.lines.append(request)
            serial = len(self.lines)
        try:
            reply = self.owner.responder(request)
        except Exception as exc:  # a broken responder fails the line loudly
            reply = Reply(status=500, message=f"responder raised {exc!r}")
        if isinstance(reply, str):
            reply = Reply(text=reply)
        if reply.status != 200:
            return reply.status, _error_body(job.api, reply)
        if job.api == "openai":
            return 200, openai_success(request, reply, serial)
        return 200, gemini_success(request, reply)


def _error_body(api: str, reply: Reply) -> dict[str, Any]:
    return openai_error(reply) if api == "openai" else gemini_error(reply)


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()
