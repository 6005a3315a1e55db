"""LLM-as-judge: one model call per pair, through fmviz's runner, with a verdict and a rationale.

The paper scores inferred reasons against expert reasons with an LLM judge (Table I, "LLM%") and
compares discovered clusters with an expert taxonomy by asking an LLM for a similarity score per
pair (Fig. 4; its authors' code uses a 1-10 scale). Both go through :class:`fmviz.LLM` like every
stage, so answers are cached on disk (a rerun makes zero requests), retried, priced in the ledger
and stopped by the budget cap. The prompts are files in :mod:`fmviz.prompts` (``judge_system``,
``judge_reason``, ``judge_similarity``, ``label_topic``); the text judged is fenced with
``<<< >>>`` and the system prompt tells the model it is data, not instructions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from fmviz.prompts import render
from fmviz.providers.base import LLMRequest

if TYPE_CHECKING:
    from fmviz import LLM

__all__ = [
    "STAGE",
    "JudgeAnswers",
    "ReasonVerdict",
    "SimilarityScore",
    "TopicLabel",
    "ask_each",
    "judge_template",
]

#: Ledger stage of every evaluation call.
STAGE = "evaluate"
_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"

M = TypeVar("M", bound=BaseModel)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ReasonVerdict(_Answer):
    """Does an inferred reason name the same failure as the expert's? Rationale first (CoT)."""

    rationale: str = Field(description="One or two sentences comparing the two causes.")
    verdict: Literal["match", "mismatch"] = Field(description="match or mismatch")

    @pydantic.field_validator("verdict", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class SimilarityScore(_Answer):
    """Similarity of two failure categories on the 1-10 scale of the paper's authors' code."""

    rationale: str = Field(description="One sentence.")
    score: int = Field(ge=1, le=10, description="An integer from 1 to 10.")


class TopicLabel(_Answer):
    """A name and description an LLM writes for one topic (the BERTopic-LLM baseline)."""

    name: str = Field(min_length=1, description="A short, specific name of the failure mode.")
    description: str = Field(description="One sentence describing the failure type.")


def judge_template(name: str) -> str:
    """The text of a shipped evaluation prompt (``fmviz/prompts/NAME.md``)."""
    path = _PROMPTS / f"{name}.md"
    if not path.exists():
        raise FileNotFoundError(f"no evaluation prompt {name!r} at {path}")
    return path.read_text(encoding="utf-8")


@dataclass
class JudgeAnswers:
    """Answers by key, and the errors of the pairs the model could not answer."""

    answers: dict[str, BaseModel]
    errors: dict[str, str]


def ask_each(
    llm: LLM,
    items: Mapping[str, Mapping[str, str]],
    *,
    template: str,
    schema: type[M],
    desc: str,
    system: str | None = None,
) -> JudgeAnswers:
    """One structured call per item (``{key: template values}``), concurrently, cached.

    Parameters
    ----------
    llm:
        The runner (:class:`fmviz.LLM`) around any provider.
    items:
        Placeholder values per key, rendered into ``template`` (a prompt file name).
    schema:
        The pydantic answer model, e.g. :class:`ReasonVerdict`.
    desc:
        Progress bar label.
    system:
        System prompt file name; default ``judge_system``.

    Returns
    -------
    JudgeAnswers
        Answers and per-key errors (a pair the model could not answer is reported, not fatal).

    Examples
    --------
    >>> answers = ask_each(llm, {"ep1": {"reference": "dropped the pot", "candidate": "pot fell"}},
    ...                    template="judge_reason", schema=ReasonVerdict, desc="judge")  # doctest: +SKIP
    """
    text = judge_template(template)
    system_text = judge_template(system or "judge_system").strip()

    def one(key: str) -> M:
        prompt = render(text, items[key]).strip()
        request = LLMRequest(prompt=prompt, system=system_text, temperature=0.0, stage=STAGE, episode_id=key)
        answer, _ = llm.generate_json(request, schema)
        return answer

    keys: Sequence[str] = list(items)
    outcome = llm.map(keys, one, desc=desc, key=lambda k: k)
    return JudgeAnswers(
        answers={str(k): v for k, v in outcome.results.items()},
        errors={str(k): v for k, v in outcome.errors.items()},
    )
