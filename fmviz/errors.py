"""User-facing error and warning types, and the one-line summary of per-episode errors.

A user who points fmviz at the wrong folder, a dead server or a dataset no model can read
must get one line that says what went wrong and what to do, never a traceback. The types
here are what the command line (and a notebook) catch and print; they import nothing else
of fmviz, so every layer (data in, providers, stages, the pipeline) can raise them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "InputWarning",
    "NoReasonsError",
    "PromptTooLargeError",
    "format_episode_errors",
]


class InputWarning(UserWarning):
    """Input that is usable but not what it seems (a missing video, a gap, a 1-frame clip).

    A category of its own, so a user can silence or escalate exactly these with
    ``warnings.filterwarnings("ignore", category=InputWarning)``.
    """


class PromptTooLargeError(ValueError):
    """A prompt over the runner's ``max_prompt_tokens`` cap; nothing was sent.

    Examples
    --------
    >>> error = PromptTooLargeError("e1", "reasons", 250_000, 1_000_000, 100_000)
    >>> str(error).split(", over")[0]
    "episode 'e1': the reasons prompt is about 250,000 tokens (1,000,000 characters)"
    """

    def __init__(self, episode_id: str | None, stage: str, tokens: int, chars: int, cap: int) -> None:
        self.episode_id, self.stage, self.tokens, self.chars, self.cap = episode_id, stage, tokens, chars, cap
        where = f"episode {episode_id!r}: " if episode_id is not None else ""
        super().__init__(
            f"{where}the {stage} prompt is about {tokens:,} tokens ({chars:,} characters), over the cap of "
            f"{cap:,} tokens (max_prompt_tokens); shorten the episode's text or raise the cap"
        )


class NoReasonsError(RuntimeError):
    """Stage 1 produced no reason at all: every episode failed (or there were none).

    ``errors`` maps each episode id to its message, so a caller can list them.

    Examples
    --------
    >>> str(NoReasonsError("nav", {"e1": "episode 'e1': video file is empty"}))
    "stage 1 produced no reasons for dataset 'nav': 1 of 1 episodes failed; episode 'e1': video file is empty"
    """

    def __init__(self, dataset: str, errors: Mapping[str, str], *, episodes: int | None = None) -> None:
        self.dataset = dataset
        self.errors = dict(errors)
        total = len(self.errors) if episodes is None else episodes
        if total == 0:
            detail = "the dataset has no episodes (is the manifest empty?)"
        else:
            detail = f"{len(self.errors)} of {total} episodes failed; " + format_episode_errors(
                self.errors, limit=3, separator="; "
            )
        super().__init__(f"stage 1 produced no reasons for dataset {dataset!r}: {detail}")


def format_episode_errors(errors: Mapping[str, str], *, limit: int = 5, separator: str = "\n") -> str:
    """The first ``limit`` per-episode errors with their reasons, then a count of the rest.

    Parameters
    ----------
    errors:
        Episode id -> message (a ``Reasons.errors`` or ``Assignments.errors`` mapping).
    limit:
        How many errors to spell out.
    separator:
        Between entries: a newline for the end of a run, ``"; "`` inside one line.

    Examples
    --------
    >>> format_episode_errors({"a": "episode 'a': no frames", "b": "timeout", "c": "x"}, limit=2)
    "episode 'a': no frames\\nepisode 'b': timeout\\n... and 1 more episode with errors"
    """
    lines = []
    for episode_id, message in list(errors.items())[: max(0, limit)]:
        text = " ".join(str(message).split()) or "unknown error"
        if repr(str(episode_id)) not in text and f"episode {episode_id}" not in text:
            text = f"episode {str(episode_id)!r}: {text}"
        lines.append(text)
    rest = len(errors) - len(lines)
    if rest > 0:
        lines.append(f"... and {rest} more episode{'s' if rest != 1 else ''} with errors")
    return separator.join(lines)
