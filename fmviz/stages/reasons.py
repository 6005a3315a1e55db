"""Stage 1 of the paper: a multimodal model explains each failure episode.

Per episode we downsample the tail of the recording (the last T frames at a reduced rate,
paper Sec. IV-A), attach the frames as images to the chain-of-thought prompt of Fig. 2
together with the task context, and ask for ``{trajectory, failure_reason}``. Episodes
without frames send their known narrative instead, and episodes with neither reason from
the task context alone (task, success condition, action plan, operator notes); the
evidence used is recorded with each reason. The expert's failure reason and the label are
never sent: they are what the model is evaluated against. One bad episode (corrupt video,
output that stays malformed after repairs) is recorded in ``Reasons.errors`` and never
stops the others; a run stopped for auth, quota, budget or a dead server keeps everything
already answered.

Decoding and encoding the frames is CPU work and the model call is a network wait, so the
frames of the next episodes are prepared on a pool sized to the cores while earlier
requests are in flight (``prepare`` in :meth:`~fmviz.providers.runner.LLM.map`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fmviz.episodes import Dataset, Episode, EpisodeError
from fmviz.executors import Executor, ExecutorFault, LocalExecutor, TailDecoder, decode_tail
from fmviz.prompts import DOMAINS, PromptSet, load_prompts
from fmviz.providers.base import Image, LLMRequest
from fmviz.results import Reason, Reasons
from fmviz.stages._common import run_map
from fmviz.stages._tails import remember_tail, remembered_tail, tail_fingerprint
from fmviz.stages.schemas import ReasonAnswer
from fmviz.video import TailSpec, decoder_threads

if TYPE_CHECKING:
    from fmviz.providers.cache import CallCache
    from fmviz.providers.runner import LLM

__all__ = ["EVIDENCE", "build_reason_request", "infer_reasons", "reason_evidence"]

STAGE = "reasons"

#: What a stage-1 answer was reasoned from, as recorded in the reason's provenance.
EVIDENCE = ("frames", "frames and narrative", "narrative", "task context only")


@dataclass(frozen=True)
class _Prepared:
    """One episode's request, built (frames decoded and encoded) ahead of its model call."""

    episode: Episode
    request: LLMRequest
    evidence: str


def infer_reasons(
    dataset: Dataset,
    llm: LLM,
    *,
    prompts: PromptSet | None = None,
    tail: TailSpec | None = None,
    include_frames: bool = True,
    executor: Executor | None = None,
) -> Reasons:
    """Ask ``llm`` for a trajectory and failure reason per episode (paper Step 1).

    Parameters
    ----------
    dataset:
        The failure episodes; ``dataset.domain`` picks the prompt preset when ``prompts``
        is not given.
    llm:
        The model wrapper (cache, retries, ledger, concurrency).
    prompts:
        Prompt set; defaults to ``load_prompts(dataset.domain)``.
    tail:
        How many tail frames to send, at which rate and size (paper: the last T frames).
    include_frames:
        ``False`` sends text only (the narrative), e.g. for a cheap first pass.
    executor:
        Where tails are decoded (:mod:`fmviz.executors`): this process (default) or a Ray
        cluster; the model calls always stay in the runner.

    Returns
    -------
    Reasons
        One :class:`~fmviz.results.Reason` per answered episode, in dataset order, and
        ``errors`` (episode id -> message naming it) for the rest.

    Raises
    ------
    fmviz.providers.runner.RunStopped
        On auth, quota or budget errors; ``exc.partial_reasons`` holds the finished work.
    """
    prompts = prompts or load_prompts(_domain(dataset))
    tail = tail or TailSpec()
    executor = executor or LocalExecutor()

    def prepare(episode: Episode) -> _Prepared:
        with decoder_threads(1):  # the prepare pool already runs one decode per core
            request = build_reason_request(
                episode, prompts, tail=tail, include_frames=include_frames, tails=llm.cache, decode=decode
            )
        return _Prepared(episode, request, reason_evidence(episode, request))

    def needs_decoding(episode: Episode) -> bool:
        return include_frames and episode.has_frames and not _tail_remembered(episode, tail, llm.cache)

    def explain(prepared: _Prepared) -> Reason:
        answer, response = llm.generate_json(prepared.request, ReasonAnswer)
        reason = Reason(
            episode_id=prepared.episode.id,
            trajectory=answer.trajectory,
            failure_reason=answer.failure_reason,
            raw=response.text,
            engine=llm.spec,
            provenance={"evidence": prepared.evidence, "frames": len(prepared.request.images)},
        )
        return reason

    def collect(results: dict[str, Reason], errors: dict[str, str]) -> Reasons:
        return Reasons([results[i] for i in dataset.ids if i in results], errors)

    with executor.tail_decoder(dataset.episodes, tail, needs_decoding) as decode:
        results, errors = run_map(
            llm,
            dataset.episodes,
            explain,
            desc="stage 1: failure reasons",
            key=lambda episode: episode.id,
            on_stop=collect,
            attribute="partial_reasons",
            prepare=prepare,
        )
    return collect(results, errors)


def build_reason_request(
    episode: Episode,
    prompts: PromptSet,
    *,
    tail: TailSpec | None = None,
    include_frames: bool = True,
    tails: CallCache | None = None,
    decode: TailDecoder | None = None,
) -> LLMRequest:
    """The stage-1 request for one episode: prompt with context, plus tail frames.

    With ``tails`` (the run's call cache), a tail encoded before is rebuilt from its
    remembered digests without decoding (see :mod:`fmviz.stages._tails`). ``decode`` makes
    the frames (default: in this process; an executor's decoder takes them from a cluster).

    Raises
    ------
    EpisodeError
        When the frames cannot be read, or the episode has neither frames nor narrative.
    """
    tail = tail or TailSpec()
    images: tuple[Image, ...] = ()
    times: list[float] | None = None
    if include_frames and episode.has_frames:
        fingerprint = tail_fingerprint(episode, tail) if tails is not None else None
        remembered = remembered_tail(episode, tail, tails, fingerprint) if tails and fingerprint else None
        if remembered is not None:
            images, times = remembered
        else:
            try:
                images, times = (decode or decode_tail)(episode, tail)
            except (EpisodeError, ExecutorFault):  # a cluster fault stops the run, keeping finished work
                raise
            except Exception as exc:  # a decoder error that escaped the video module
                raise EpisodeError(episode.id, f"could not read frames: {exc}") from exc
            if tails is not None and fingerprint is not None and images:
                remember_tail(tails, fingerprint, images, times)
        if not images:
            raise EpisodeError(episode.id, "no frames could be selected from the recording")
    narrative = (episode.narrative or "").strip()
    if not images and not narrative and not _has_context(episode):
        if episode.has_frames:
            raise EpisodeError(
                episode.id,
                "frames are switched off (include_frames=False) and it has no narrative or task context",
            )
        raise EpisodeError(episode.id, "has no frames, no narrative and no task context to reason about")
    values = episode.context() | {
        "task_name": episode.task or "",
        "n_frames": str(len(images)),
        "observations": _observations(len(images), times, tail, bool(narrative)),
    }
    return LLMRequest(
        prompt=prompts.render("reasons", **values),
        system=prompts.system("reasons"),
        images=images,
        json_schema=ReasonAnswer.model_json_schema(),
        schema_name="failure_reason",
        stage=STAGE,
        episode_id=episode.id,
    )


def _tail_remembered(episode: Episode, tail: TailSpec, cache: CallCache | None) -> bool:
    """Whether the call cache remembers this tail, so stage 1 needs no decode for it."""
    fingerprint = tail_fingerprint(episode, tail) if cache is not None else None
    return bool(cache is not None and fingerprint and cache.get_tail(fingerprint) is not None)


def reason_evidence(episode: Episode, request: LLMRequest) -> str:
    """Which of :data:`EVIDENCE` a stage-1 request gives the model.

    Examples
    --------
    >>> reason_evidence(Episode("e", task="put the apple in the bowl"), LLMRequest("..."))
    'task context only'
    """
    narrative = bool((episode.narrative or "").strip())
    if request.images:
        return EVIDENCE[1] if narrative else EVIDENCE[0]
    return EVIDENCE[2] if narrative else EVIDENCE[3]


def _has_context(episode: Episode) -> bool:
    """Task context a model can reason from when there is nothing else (never the expert's reason)."""
    return any(
        (text or "").strip() for text in (episode.task, episode.success_condition, episode.notes)
    ) or bool(episode.action_plan)


def _observations(n_frames: int, times: list[float] | None, tail: TailSpec, has_narrative: bool) -> str:
    """One sentence telling the model what evidence it is given."""
    if n_frames == 0 and not has_narrative:
        return (
            "No images and no account of this episode are available: reason from the task context "
            "above alone (the task, its success condition, the action plan and any operator notes), "
            "and name the step of the plan most likely to have failed and why."
        )
    if n_frames == 0:
        return (
            "No images are available for this episode; reason from the known account above "
            "and the task context."
        )
    if times is not None and len(times) >= 2:
        span = f"spanning the last {float(times[-1]) - float(times[0]):.1f} s before the failure"
    else:
        span = f"sampled at about {tail.fps:g} frame(s) per second before the failure"
    text = (
        f"You are given {n_frames} image(s) in time order, {span}; the last image shows the moment "
        "of failure."
    )
    if has_narrative:
        text += " Use the known account only where the images do not contradict it."
    return text


def _domain(dataset: Dataset) -> str:
    return dataset.domain if dataset.domain in DOMAINS else "generic"
