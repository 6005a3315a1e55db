"""The wire formats of the two batch APIs the loopback server speaks: jobs, files, result lines.

OpenAI: a ``Batch`` object (``status``, ``request_counts``, ``output_file_id``,
``error_file_id``) and result lines ``{custom_id, response: {status_code, body}, error}``.
Gemini: a long-running operation whose ``metadata`` is the batch (``state``, ``output`` with
inlined responses or a ``responsesFile``), and result lines ``{key, response | error}``.
Multipart uploads (``POST /v1/files``) are parsed with the standard library's email parser.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BatchJob",
    "gemini_operation",
    "openai_batch",
    "openai_file",
    "parse_multipart",
]

#: OpenAI ``status`` per job state, and Gemini ``BATCH_STATE_*`` per job state.
_OPENAI_STATUS = {
    "validating": "validating",
    "running": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}
_GEMINI_STATE = {
    "validating": "BATCH_STATE_PENDING",
    "running": "BATCH_STATE_RUNNING",
    "completed": "BATCH_STATE_SUCCEEDED",
    "failed": "BATCH_STATE_FAILED",
    "expired": "BATCH_STATE_EXPIRED",
    "cancelled": "BATCH_STATE_CANCELLED",
}


@dataclass
class BatchJob:
    """One batch job as the fake server holds it (both APIs)."""

    api: str
    id: str
    model: str
    #: ``(key, request body)`` per line, in input order.
    lines: list[tuple[str, dict[str, Any]]]
    #: What the job will do: ``ok``, ``failed``, ``expired`` or ``partial``.
    outcome: str
    created: int
    input_file: str | None = None
    display_name: str = ""
    state: str = "validating"
    polls: int = 0
    #: Answered lines: key -> success body (chat.completion or GenerateContentResponse).
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Failed lines: key -> (HTTP status, error body or message).
    failures: dict[str, tuple[int, Any]] = field(default_factory=dict)
    output_file: str | None = None
    error_file: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in ("completed", "failed", "expired", "cancelled")


def openai_file(file_id: str, filename: str, size: int, purpose: str, created: int) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": created,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


def openai_batch(job: BatchJob) -> dict[str, Any]:
    status = _OPENAI_STATUS[job.state]
    errors = None
    if job.state == "failed":
        errors = {
            "object": "list",
            "data": [{"code": "invalid_request", "message": "the batch failed validation", "line": None}],
        }
    answered = len(job.answers)
    return {
        "id": job.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": errors,
        "input_file_id": job.input_file or "",
        "completion_window": "24h",
        "status": status,
        "output_file_id": job.output_file,
        "error_file_id": job.error_file,
        "created_at": job.created,
        "in_progress_at": job.created if job.state != "validating" else None,
        "expires_at": job.created + 86_400,
        "completed_at": job.created + 1 if job.state == "completed" else None,
        "failed_at": job.created + 1 if job.state == "failed" else None,
        "expired_at": job.created + 1 if job.state == "expired" else None,
        "cancelled_at": job.created + 1 if job.state == "cancelled" else None,
        "request_counts": {
            "total": len(job.lines),
            "completed": answered,
            "failed": len(job.failures),
        },
        "metadata": job.metadata or None,
    }


def openai_result_lines(job: BatchJob) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The output file's lines and the error file's lines of a finished OpenAI job."""
    output, errors = [], []
    for index, (key, _) in enumerate(job.lines):
        if key in job.answers:
            output.append(
                {
                    "id": f"batch_req_{job.id}_{index}",
                    "custom_id": key,
                    "response": {"status_code": 200, "request_id": f"req_{index}", "body": job.answers[key]},
                    "error": None,
                }
            )
        elif key in job.failures:
            status, detail = job.failures[key]
            line: dict[str, Any] = {"id": f"batch_req_{job.id}_{index}", "custom_id": key}
            if status == 0:  # never run (expired): the error is the line's, not an HTTP answer
                line |= {"response": None, "error": {"code": "batch_expired", "message": str(detail)}}
            else:
                line |= {
                    "response": {"status_code": status, "request_id": f"req_{index}", "body": detail},
                    "error": None,
                }
            errors.append(line)
    return output, errors


def gemini_operation(job: BatchJob, inline: bool) -> dict[str, Any]:
    """``batches/{id}`` as the Gemini API returns it: an operation carrying the batch."""
    metadata: dict[str, Any] = {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
        "model": f"models/{job.model}",
        "displayName": job.display_name,
        "state": _GEMINI_STATE[job.state],
        "createTime": "2025-01-01T00:00:00Z",
        "batchStats": {
            "requestCount": str(len(job.lines)),
            "successfulRequestCount": str(len(job.answers)),
            "failedRequestCount": str(len(job.failures)),
        },
    }
    if job.done and job.state != "failed" and (job.answers or job.failures):
        if inline:
            metadata["output"] = {"inlinedResponses": {"inlinedResponses": gemini_result_lines(job, True)}}
        elif job.output_file is not None:
            metadata["output"] = {"responsesFile": job.output_file}
    operation: dict[str, Any] = {"name": job.id, "metadata": metadata, "done": job.done}
    if job.state == "failed":
        operation["error"] = {"code": 400, "message": "the batch failed validation"}
    return operation


def gemini_result_lines(job: BatchJob, inline: bool) -> list[dict[str, Any]]:
    """Inlined responses (``metadata`` carries the key) or result-file lines (``key``)."""
    lines = []
    for key, _ in job.lines:
        if key in job.answers:
            entry: dict[str, Any] = {"response": job.answers[key]}
        elif key in job.failures:
            status, detail = job.failures[key]
            if isinstance(detail, dict) and isinstance(detail.get("error"), dict):
                entry = {"error": detail["error"]}
            else:
                entry = {"error": {"code": status or 504, "message": str(detail)}}
        else:
            continue
        lines.append(entry | ({"metadata": {"key": key}} if inline else {"key": key}))
    return lines


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a ``multipart/form-data`` body: name -> (filename, bytes)."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        fields[str(name)] = (part.get_filename(), payload)
    return fields
