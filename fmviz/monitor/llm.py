"""The MLLM verdict sources: the paper's monitor with failure modes, NoContext, and LLM-AD.

All three send the window's frames (oldest first) with a chain-of-thought prompt from
``fmviz/prompts/`` and read back ``{observation, unsafe, failure_mode, rationale}``; they differ
only in the prompt. ``llm`` lists the discovered failure modes (name, description, keywords: the
paper's Sec. IV-B), ``nocontext`` is the same prompt without them (the paper's ablation), and
``llm-ad`` primes the model with a few hand-written nominal and anomalous examples instead (the
LLM-AD baseline). Calls go through the shared runner (:class:`fmviz.providers.runner.LLM`), so
they are cached, retried and budgeted like every stage; with no key a source runs only when
every call it needs is already in the cache (:meth:`LLMSource.unavailable`), and is otherwise
reported as not run, never faked.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image as PILImage
from pydantic import BaseModel, ConfigDict, Field

from fmviz.monitor.verdicts import Verdict, VerdictSource, Window
from fmviz.prompts import render
from fmviz.providers.base import AuthError, Image, LLMRequest
from fmviz.providers.runner import LLM
from fmviz.results import ClusterSet

__all__ = ["LLM_SOURCES", "LLMSource", "MonitorAnswer", "describe_modes"]

#: Source name -> prompt file (in ``fmviz/prompts/``).
LLM_SOURCES = {"llm": "monitor", "nocontext": "monitor_nocontext", "llm-ad": "monitor_llm_ad"}
STAGE = "monitor"
_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
_NONE = {"", "none", "n/a", "null", "safe"}


class MonitorAnswer(BaseModel):
    """One monitor step; the observation comes first, so it is the chain of thought."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    observation: str = Field(description="What the frames show, in order.")
    unsafe: bool = Field(description="True if a failure is under way or expected within seconds.")
    failure_mode: str = Field(description="Name of the matching failure mode, or 'none'.")
    rationale: str = Field(description="One short sentence explaining the verdict.")


def describe_modes(clusters: ClusterSet) -> str:
    """The failure modes as the monitor prompt lists them (one numbered line each).

    Examples
    --------
    >>> from fmviz.results import Cluster
    >>> print(describe_modes(ClusterSet([Cluster("C1", "Glass doors", "Transparent doors", ["glass"])])))
    1. Glass doors: Transparent doors (keywords: glass)
    """
    lines = []
    for i, c in enumerate(clusters, start=1):
        keywords = f" (keywords: {', '.join(c.keywords)})" if c.keywords else ""
        lines.append(f"{i}. {c.name}: {c.description}{keywords}")
    return "\n".join(lines)


def _encode(frame, max_side: int) -> Image:
    image = PILImage.fromarray(frame)
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return Image(buffer.getvalue(), "image/jpeg")


class LLMSource(VerdictSource):
    """A multimodal model as a verdict source (``kind`` = ``llm``, ``nocontext`` or ``llm-ad``).

    Parameters
    ----------
    llm:
        The runner (``fmviz.engine.make_engine(spec, options).llm``).
    kind:
        Which prompt: see :data:`LLM_SOURCES`.
    clusters:
        The discovered failure modes (required for ``llm``, ignored by the others).
    context:
        One phrase on the domain (e.g. the ``context`` prompt of the dataset's domain).
    max_side:
        Longest image side sent.

    Examples
    --------
    >>> source = LLMSource(make_engine("gemini", options).llm, "llm", clusters=run.clusters)  # doctest: +SKIP
    >>> source.judge(window).unsafe                                                           # doctest: +SKIP
    """

    def __init__(
        self,
        llm: LLM,
        kind: str = "llm",
        *,
        clusters: ClusterSet | None = None,
        context: str = "",
        max_side: int = 512,
    ) -> None:
        if kind not in LLM_SOURCES:
            raise ValueError(f"unknown LLM monitor source {kind!r}; choose from {sorted(LLM_SOURCES)}")
        if kind == "llm" and (clusters is None or not len(clusters)):
            raise ValueError("the 'llm' monitor needs the discovered failure modes (a non-empty cluster set)")
        self.llm = llm
        self.kind = kind
        self.name = kind
        self.clusters = clusters if kind == "llm" else None
        self.context = context
        self.max_side = max_side
        self.template = (_PROMPTS / f"{LLM_SOURCES[kind]}.md").read_text(encoding="utf-8")
        self.system = (_PROMPTS / "monitor_system.md").read_text(encoding="utf-8").strip()
        self._names = {c.name.strip().lower(): c.name for c in clusters} if self.clusters else {}

    def request(self, window: Window) -> LLMRequest:
        """The request for one window (frames attached as JPEG, oldest first)."""
        span = window.times[-1] - window.times[0]
        values = {
            "task": window.task,
            "context": self.context,
            "n_frames": str(len(window.frames)),
            "span": f"{span:.1f}",
            "failure_modes": describe_modes(self.clusters) if self.clusters is not None else "",
        }
        return LLMRequest(
            prompt=render(self.template, values),
            system=self.system,
            images=tuple(_encode(f, self.max_side) for f in window.frames),
            json_schema=MonitorAnswer.model_json_schema(),
            schema_name="monitor_verdict",
            stage=STAGE,
            episode_id=window.episode_id or None,
        )

    def _check(self, answer: MonitorAnswer) -> str | None:
        if self.kind != "llm" or not answer.unsafe:
            return None
        if answer.failure_mode.strip().lower() in self._names:
            return None
        names = sorted(self._names.values())
        return f"failure_mode must be one of {names} when unsafe, got {answer.failure_mode!r}"

    def _verdict(self, answer: MonitorAnswer) -> Verdict:
        mode = answer.failure_mode.strip()
        named = self._names.get(mode.lower()) if mode.lower() not in _NONE else None
        return Verdict(
            unsafe=bool(answer.unsafe),
            failure_mode=named if answer.unsafe else None,
            rationale=answer.rationale,
            extra={"observation": answer.observation},
        )

    def judge(self, window: Window) -> Verdict:
        answer, _ = self.llm.generate_json(self.request(window), MonitorAnswer, check=self._check)
        return self._verdict(answer)

    def judge_many(self, windows: Sequence[Window], *, progress: bool = True) -> list[Verdict]:
        """Verdicts for many windows, ``concurrency`` calls at a time; a failed window raises."""
        keyed = {f"{w.episode_id}#{w.step}": w for w in windows}
        outcome = self.llm.map(
            list(keyed), lambda k: self.judge(keyed[k]), desc=f"monitor: {self.name}", key=str
        )
        if outcome.errors:
            first = next(iter(outcome.errors.items()))
            raise ValueError(
                f"monitor {self.name}: {len(outcome.errors)} step(s) failed, e.g. {first[0]}: {first[1]}"
            )
        return [outcome.results[k] for k in keyed]

    def unavailable(self, windows: Sequence[Window]) -> str | None:
        """``None`` if the provider is usable or every call is cached; else why not (no key)."""
        try:
            self.llm.check_ready()
            return None
        except AuthError as exc:
            cache = self.llm.cache
            keys = [self.llm.cache_key(self.request(w)) for w in windows]
            missing = sum(1 for key in keys if cache is None or key not in cache)
            if not missing:
                return None
            why = " ".join(str(exc).split())[:160]
            return f"not run: {why}; {missing} of {len(keys)} calls are not in the cache"
