"""Gemini's batch mode through the official ``google-genai`` client: inline or JSONL-file jobs.

Small jobs carry their requests inline (``InlinedRequest`` with the cache key in its
``metadata``), built from the very contents and config
:class:`~fmviz.providers.gemini.GeminiProvider` sends online; large ones are written as
JSONL (``{key, request}`` per line, the REST form of the same request), uploaded with
``files.upload`` (the resumable upload protocol) and named as the job's source. Jobs are made
with ``batches.create`` and polled with ``batches.get``; answers come from the inlined
responses or the downloaded result file.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from google.genai import errors as genai_errors
from google.genai import types

from fmviz.providers.base import LLMRequest, LLMResponse, ProviderError
from fmviz.providers.batch.backend import JobStatus, LineError

if TYPE_CHECKING:
    from fmviz.providers.batch.options import BatchOptions
    from fmviz.providers.gemini import GeminiProvider

__all__ = ["GeminiBatch", "approx_bytes", "rest_request"]

_STATES = {
    "JOB_STATE_SUCCEEDED": "completed",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "expired",
    "JOB_STATE_CANCELLED": "cancelled",
}


def approx_bytes(request: LLMRequest) -> int:
    """About how many bytes a request takes on the wire (images base64-encoded)."""
    text = len(request.prompt) + len(request.system or "") + sum(len(t) for _, t in request.history)
    return text + sum(len(image.data) * 4 // 3 for image in request.images) + 512


def rest_request(provider: GeminiProvider, request: LLMRequest) -> dict[str, Any]:
    """The ``GenerateContentRequest`` JSON of one request, as a batch file line carries it."""
    contents = [
        c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in provider._contents(request)
    ]
    body: dict[str, Any] = {"contents": contents}
    config = provider._config(request)
    if config.system_instruction:
        body["systemInstruction"] = {"parts": [{"text": str(config.system_instruction)}]}
    generation = {
        "temperature": config.temperature,
        "maxOutputTokens": config.max_output_tokens,
        "responseMimeType": config.response_mime_type,
        "responseJsonSchema": config.response_json_schema,
    }
    generation = {k: v for k, v in generation.items() if v is not None}
    if generation:
        body["generationConfig"] = generation
    return body


class GeminiBatch:
    """Batch jobs on the Gemini API (or an endpoint speaking it, such as the loopback server)."""

    def __init__(self, provider: GeminiProvider, options: BatchOptions) -> None:
        self.provider = provider
        self.options = options

    def uses_file(self, entries: list[tuple[str, LLMRequest]]) -> bool:
        """Whether a job of ``entries`` goes as an uploaded file rather than inline."""
        if self.options.gemini_input != "auto":
            return self.options.gemini_input == "file"
        return sum(approx_bytes(request) for _, request in entries) > self.options.inline_max_bytes

    def submit(self, entries: list[tuple[str, LLMRequest]], label: str) -> str:
        client, model = self.provider.client, self.provider.model
        with self._errors():
            if self.uses_file(entries):
                lines = [{"key": key, "request": rest_request(self.provider, r)} for key, r in entries]
                data = "".join(json.dumps(line) + "\n" for line in lines).encode()
                file = client.files.upload(
                    file=io.BytesIO(data),
                    config=types.UploadFileConfig(mime_type="jsonl", display_name=label),
                )
                source: Any = file.name
            else:
                source = [
                    types.InlinedRequest(
                        model=model,
                        contents=self.provider._contents(request),
                        config=self.provider._config(request),
                        metadata={"key": key},
                    )
                    for key, request in entries
                ]
            job = client.batches.create(
                model=model, src=source, config=types.CreateBatchJobConfig(display_name=label)
            )
        if not job.name:
            raise ProviderError(f"{self.provider.spec}: the batch job was created without a name")
        return job.name

    def poll(self, job_id: str) -> JobStatus:
        with self._errors():
            job = self.provider.client.batches.get(name=job_id)
        state = getattr(job.state, "name", None) or str(job.state or "")
        error = getattr(job, "error", None)
        detail = f"{getattr(error, 'code', '')}: {getattr(error, 'message', '')}" if error else ""
        return JobStatus(state=_STATES.get(state, "running"), detail=detail or state, raw=job)

    def collect(
        self, status: JobStatus, keys: list[str]
    ) -> tuple[dict[str, LLMResponse], dict[str, LineError]]:
        dest = getattr(status.raw, "dest", None)
        answers: dict[str, LLMResponse] = {}
        errors: dict[str, LineError] = {}
        if dest is None:
            return answers, errors
        if dest.inlined_responses:
            for index, item in enumerate(dest.inlined_responses):
                key = (item.metadata or {}).get("key") or (keys[index] if index < len(keys) else None)
                if key is not None:
                    self._read(str(key), item.response, _error_dict(item.error), answers, errors)
        elif dest.file_name:
            with self._errors():
                data = self.provider.client.files.download(file=dest.file_name)
            for raw in data.decode("utf-8", errors="replace").splitlines():
                try:  # an unreadable line counts as missing: its request is asked again
                    line = json.loads(raw) if raw.strip() else None
                    response = line.get("response") if isinstance(line, dict) else None
                    parsed = types.GenerateContentResponse.model_validate(response) if response else None
                except (json.JSONDecodeError, ValueError):
                    continue
                if isinstance(line, dict) and line.get("key") is not None:
                    self._read(str(line["key"]), parsed, line.get("error"), answers, errors)
        return answers, errors

    def _read(
        self,
        key: str,
        response: types.GenerateContentResponse | None,
        error: dict[str, Any] | None,
        answers: dict[str, LLMResponse],
        errors: dict[str, LineError],
    ) -> None:
        if response is not None:
            try:
                answers[key] = self.provider.response_from(response)
            except ProviderError as exc:  # blocked prompt, no candidates
                errors[key] = LineError(400, str(exc))
            return
        error = error or {}
        errors[key] = LineError(int(error.get("code") or 0), str(error.get("message") or "no answer"))

    def cancel(self, job_id: str) -> None:
        with self._errors():
            self.provider.client.batches.cancel(name=job_id)

    def _errors(self) -> _Translate:
        return _Translate(self.provider)


def _error_dict(error: Any) -> dict[str, Any] | None:
    if error is None:
        return None
    if isinstance(error, dict):
        return error
    return {"code": getattr(error, "code", 0), "message": getattr(error, "message", str(error))}


class _Translate:
    """Raise client errors of the batch endpoints as fmviz's error types."""

    def __init__(self, provider: GeminiProvider) -> None:
        self.provider = provider

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, genai_errors.APIError):
            raise self.provider._translate(exc) from exc
        return False
