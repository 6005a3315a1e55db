"""OpenAI's Batch API through the official client: JSONL file in, output and error files out.

Each request becomes one line ``{custom_id, method, url, body}`` whose body is exactly what
:class:`~fmviz.providers.openai.OpenAIProvider` sends online (so batch and online answers
share cache keys and prompts); the file is uploaded with ``files.create(purpose="batch")``,
the job made with ``batches.create``, polled with ``batches.retrieve``, and its
``output_file_id`` and ``error_file_id`` read with ``files.content``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import openai
from openai.types.chat import ChatCompletion

from fmviz.providers.base import LLMRequest, LLMResponse, ProviderError
from fmviz.providers.batch.backend import JobStatus, LineError

if TYPE_CHECKING:
    from fmviz.providers.batch.options import BatchOptions
    from fmviz.providers.openai import OpenAIProvider

__all__ = ["OpenAIBatch"]

_ENDPOINT = "/v1/chat/completions"
_STATES = {
    "validating": "running",
    "in_progress": "running",
    "finalizing": "running",
    "cancelling": "running",
    "completed": "completed",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}


class OpenAIBatch:
    """Batch jobs on OpenAI (or a server that implements its files and batches endpoints)."""

    def __init__(self, provider: OpenAIProvider, options: BatchOptions) -> None:
        self.provider = provider
        self.options = options

    def line(self, key: str, request: LLMRequest) -> dict[str, Any]:
        """One JSONL line: the online request's body under the cache key."""
        body = self.provider._arguments(request)
        body.update(body.pop("extra_body", None) or {})
        return {"custom_id": key, "method": "POST", "url": _ENDPOINT, "body": body}

    def submit(self, entries: list[tuple[str, LLMRequest]], label: str) -> str:
        data = "".join(json.dumps(self.line(key, request)) + "\n" for key, request in entries).encode()
        client = self.provider.client
        with self._errors():
            file = client.files.create(file=(f"{label}.jsonl", data, "application/jsonl"), purpose="batch")
            job = client.batches.create(
                input_file_id=file.id,
                endpoint=_ENDPOINT,
                completion_window=self.options.completion_window,  # type: ignore[arg-type]
                metadata={"fmviz": label[:500]},
            )
        return job.id

    def poll(self, job_id: str) -> JobStatus:
        with self._errors():
            job = self.provider.client.batches.retrieve(job_id)
        counts = job.request_counts
        errors = job.errors.data if job.errors is not None and job.errors.data else []
        return JobStatus(
            state=_STATES.get(job.status, "running"),
            total=int(getattr(counts, "total", 0) or 0),
            completed=int(getattr(counts, "completed", 0) or 0),
            failed=int(getattr(counts, "failed", 0) or 0),
            detail="; ".join(f"{e.code}: {e.message}" for e in errors),
            raw=job,
        )

    def collect(
        self, status: JobStatus, keys: list[str]
    ) -> tuple[dict[str, LLMResponse], dict[str, LineError]]:
        job = status.raw
        answers: dict[str, LLMResponse] = {}
        errors: dict[str, LineError] = {}
        for file_id in (job.output_file_id, job.error_file_id):
            if not file_id:
                continue
            with self._errors():
                text = self.provider.client.files.content(file_id).text
            for raw in text.splitlines():
                try:
                    line = json.loads(raw) if raw.strip() else None
                except json.JSONDecodeError:
                    continue  # an unreadable line counts as missing: its request is asked again
                if isinstance(line, dict):
                    self._read_line(line, answers, errors)
        return answers, errors

    def _read_line(
        self, line: dict[str, Any], answers: dict[str, LLMResponse], errors: dict[str, LineError]
    ) -> None:
        key = str(line.get("custom_id"))
        response = line.get("response") or {}
        status = int(response.get("status_code") or 0)
        if status == 200:
            try:
                answers[key] = self.provider.response_from(ChatCompletion.model_validate(response["body"]))
            except (ProviderError, ValueError, KeyError) as exc:
                errors[key] = LineError(502, f"unreadable answer: {exc}")
            return
        error = line.get("error") or (response.get("body") or {}).get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        errors[key] = LineError(status, f"{code + ': ' if code else ''}{message or 'no answer'}")

    def cancel(self, job_id: str) -> None:
        with self._errors():
            self.provider.client.batches.cancel(job_id)

    def _errors(self) -> _Translate:
        return _Translate(self.provider)


class _Translate:
    """Raise client errors of the batch endpoints as fmviz's error types (retry policy reads them)."""

    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, openai.APIError):
            raise self.provider._translate(exc) from exc
        return False
