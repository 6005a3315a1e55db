"""Structured answers: parse a model's JSON tolerantly, and repair it by re-asking.

Models wrap JSON in code fences, add a sentence before it, stop mid-object at the token
limit, or return the right keys with the wrong types. :func:`parse_json_answer` accepts
what is recoverable; :func:`generate_json` re-asks with the problem quoted (and, after a
truncation, with twice the output budget) until the answer validates or the repairs run
out. It only needs a function that answers one request, so it works on any runner and is
tested without one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import pydantic

from fmviz.providers.base import LLMRequest, LLMResponse

__all__ = ["MalformedOutputError", "generate_json", "parse_json_answer"]

M = TypeVar("M", bound=pydantic.BaseModel)

#: Finish reasons that mean "the answer was cut off at the output token limit".
_TRUNCATED = {"length", "max_tokens", "truncated"}
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class MalformedOutputError(ValueError):
    """The model's answer stayed unparseable or invalid after every repair attempt.

    ``requests`` holds every request of the failed exchange (the question and each re-ask),
    so the runner can mark their cached answers as failed and a rerun asks again.
    """

    def __init__(
        self,
        message: str,
        *,
        episode_id: str | None = None,
        last_text: str = "",
        requests: tuple[LLMRequest, ...] = (),
    ) -> None:
        self.episode_id = episode_id
        self.last_text = last_text
        self.requests = requests
        prefix = f"episode {episode_id!r}: " if episode_id is not None else ""
        super().__init__(prefix + message)


def parse_json_answer(text: str, schema: type[M]) -> M:
    """Parse a model's answer tolerantly: strip code fences, take the outermost JSON object.

    Raises ``ValueError`` (not JSON) or ``pydantic.ValidationError`` (wrong shape).

    Examples
    --------
    >>> from fmviz.stages.schemas import ReasonAnswer
    >>> text = 'Sure! ```json {"trajectory": "t", "failure_reason": "r"} ```'
    >>> parse_json_answer(text, ReasonAnswer).failure_reason
    'r'
    """
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    last_error: Exception | None = None
    for candidate in candidates:
        start = candidate.find("{")
        if start < 0:
            continue
        end = candidate.rfind("}")
        decoder = json.JSONDecoder()
        try:
            value, _ = decoder.raw_decode(candidate[start:])
        except json.JSONDecodeError as exc:
            last_error = exc
            if end <= start:
                continue
            try:
                value = json.loads(candidate[start : end + 1])
            except json.JSONDecodeError as exc2:
                last_error = exc2
                continue
        return schema.model_validate(value)
    if last_error is not None:
        raise ValueError(f"the answer is not valid JSON ({last_error})")
    raise ValueError("the answer contains no JSON object")


def describe(exc: Exception) -> str:
    """A short, model-readable account of why an answer was rejected."""
    if isinstance(exc, pydantic.ValidationError):
        lines = [
            f"- {'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
        ]
        return "the JSON does not match the schema:\n" + "\n".join(lines[:20])
    return str(exc)


def generate_json(
    generate: Callable[[LLMRequest], LLMResponse],
    request: LLMRequest,
    schema: type[M],
    *,
    check: Callable[[M], str | None] | None = None,
    max_repairs: int = 2,
    spec: str = "the model",
) -> tuple[M, LLMResponse]:
    """Ask for a JSON answer matching ``schema``; repair malformed answers by re-asking.

    Parameters
    ----------
    generate:
        Answers one request (e.g. :meth:`fmviz.providers.runner.LLM.generate`).
    request:
        The question; its ``json_schema`` defaults to ``schema``'s JSON schema.
    schema:
        The pydantic model the answer must validate against.
    check:
        Extra validation on the parsed answer: an error message triggers a repair.
    max_repairs:
        Re-asks after the first answer.
    spec:
        Names the model in the error message.

    Returns
    -------
    (answer, response)
        The validated model instance and the response that produced it.

    Raises
    ------
    MalformedOutputError
        Still malformed after ``max_repairs`` re-asks (names the episode).

    Examples
    --------
    >>> from fmviz.stages.schemas import ReasonAnswer
    >>> answers = iter(['{"trajectory": "t"}', '{"trajectory": "t", "failure_reason": "r"}'])
    >>> answer, _ = generate_json(lambda r: LLMResponse(next(answers)), LLMRequest("why?"), ReasonAnswer)
    >>> answer.failure_reason
    'r'
    """
    if request.json_schema is None:
        request = replace(request, json_schema=schema.model_json_schema(), schema_name=schema.__name__)
    current = request
    sent: list[LLMRequest] = []
    history = tuple(request.history)
    problems: list[str] = []
    response = None
    for _ in range(max_repairs + 1):
        sent.append(current)
        response = generate(current)
        try:
            answer = parse_json_answer(response.text, schema)
            problem = check(answer) if check is not None else None
        except (ValueError, pydantic.ValidationError) as exc:
            problem = describe(exc)
        if problem is None:
            return answer, response
        truncated = (response.finish_reason or "").lower() in _TRUNCATED
        if truncated:
            problem = "your answer was cut off at the output token limit; " + problem
        problems.append(problem)
        history = (*history, ("user", current.prompt), ("assistant", response.text))
        current = replace(
            request,
            history=history,
            prompt=repair_prompt(problem, truncated),
            max_output_tokens=(
                current.max_output_tokens * 2
                if truncated and current.max_output_tokens
                else current.max_output_tokens
            ),
        )
    raise MalformedOutputError(
        f"{spec} gave no valid {schema.__name__} answer in {len(problems)} attempts; "
        f"last problem: {problems[-1]}",
        episode_id=request.episode_id,
        last_text=response.text if response is not None else "",
        requests=tuple(sent),
    )


def repair_prompt(problem: str, truncated: bool) -> str:
    """The re-ask: the problem quoted, and the schema demanded again."""
    shorter = " Keep it shorter so it fits." if truncated else ""
    return (
        "Your previous answer could not be used: "
        f"{problem}\n\nAnswer again with only one JSON object that follows the schema exactly, "
        f"with no text before or after it.{shorter}"
    )
