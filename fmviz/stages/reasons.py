"""Stage 1 of the paper: a multimodal model explains each failure episode.

Per episode we downsample the tail of the recording (the last T frames at a reduced rate,
paper Sec. IV-A), attach the frames as images to the chain-of-thought prompt of Fig. 2
together with the task context, and ask for ``{trajectory, failure_reason}``. Episodes
without frames send their known narrative instead. One bad episode (corrupt video, output
that stays malformed after repairs) is recorded in ``Reasons.errors`` and never stops the
others; a run stopped for auth, quota or budget keeps everything already answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fmviz.episodes import Dataset, Episode, EpisodeError
from fmviz.prompts import DOMAINS, PromptSet, load_prompts
from fmviz.providers.base import LLMRequest
from fmviz.results import Reason, Reasons
from fmviz.stages._common import run_map
from fmviz.stages.schemas import ReasonAnswer
from fmviz.video import TailSpec, encode_frames, select_tail

if TYPE_CHECKING:
    from fmviz.llm import LLM

__all__ = ["build_reason_request", "infer_reasons"]

STAGE = "reasons"


def infer_reasons(
    dataset: Dataset,
    llm: LLM,
    *,
    prompts: PromptSet | None = None,
    tail: TailSpec | None = None,
    include_frames: bool = True,
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

    Returns
    -------
    Reasons
        One :class:`~fmviz.results.Reason` per answered episode, in dataset order, and
        ``errors`` (episode id -> message naming it) for the rest.

    Raises
    ------
    fmviz.llm.RunStopped
        On auth, quota or budget errors; ``exc.partial_reasons`` holds the finished work.
    """
    prompts = prompts or load_prompts(_domain(dataset))
    tail = tail or TailSpec()

    def explain(episode: Episode) -> Reason:
        request = build_reason_request(episode, prompts, tail=tail, include_frames=include_frames)
        answer, response = llm.generate_json(request, ReasonAnswer)
        return Reason(
            episode_id=episode.id,
            trajectory=answer.trajectory,
            failure_reason=answer.failure_reason,
            raw=response.text,
            engine=llm.spec,
        )

    def collect(results: dict[str, Reason], errors: dict[str, str]) -> Reasons:
        return Reasons([results[i] for i in dataset.ids if i in results], errors)

    results, errors = run_map(
        llm,
        dataset.episodes,
        explain,
        desc="stage 1: failure reasons",
        key=lambda episode: episode.id,
        on_stop=collect,
        attribute="partial_reasons",
    )
    return collect(results, errors)


def build_reason_request(
    episode: Episode,
    prompts: PromptSet,
    *,
    tail: TailSpec | None = None,
    include_frames: bool = True,
) -> LLMRequest:
    """The stage-1 request for one episode: prompt with context, plus tail frames.

    Raises
    ------
    EpisodeError
        When the frames cannot be read, or the episode has neither frames nor narrative.
    """
    tail = tail or TailSpec()
    images: tuple[Any, ...] = ()
    clip = None
    if include_frames and episode.has_frames:
        try:
            clip = select_tail(episode, tail)
            images = tuple(encode_frames(clip))
        except EpisodeError:
            raise
        except Exception as exc:  # a decoder error that escaped the video module
            raise EpisodeError(episode.id, f"could not read frames: {exc}") from exc
        if not images:
            raise EpisodeError(episode.id, "no frames could be selected from the recording")
    narrative = (episode.narrative or "").strip()
    if not images and not narrative:
        if episode.has_frames:
            raise EpisodeError(
                episode.id, "frames are switched off (include_frames=False) and it has no narrative"
            )
        raise EpisodeError(episode.id, "has neither frames nor a narrative to reason about")
    values = episode.context() | {
        "task_name": episode.task or "",
        "n_frames": str(len(images)),
        "observations": _observations(len(images), clip, tail, bool(narrative)),
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


def _observations(n_frames: int, clip: Any, tail: TailSpec, has_narrative: bool) -> str:
    """One sentence telling the model what evidence it is given."""
    if n_frames == 0:
        return (
            "No images are available for this episode; reason from the known account above "
            "and the task context."
        )
    times = getattr(clip, "times", None)
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
