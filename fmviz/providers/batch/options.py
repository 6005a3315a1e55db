"""What batch mode does: which stages, where re-asks and missing answers go, how it polls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["BatchOptions", "resolve_batch"]


@dataclass(frozen=True)
class BatchOptions:
    """Settings of batch mode (``LLM(..., batch=BatchOptions(...))``; ``batch=True`` = defaults).

    Parameters
    ----------
    stages:
        Stages whose requests go through the batch API (``reasons`` = stage 1, ``assign`` =
        stage 3); the others stay online.
    reasks:
        Where a repair re-ask for an invalid answer goes: into the next batch (``"batch"``,
        cheap, one more batch turnaround) or online at once (``"online"``).
    missing:
        Requests a job did not answer (failed or expired job, error lines, lines missing from
        the results): resubmitted in the next batch (``"batch"``) or sent online (``"online"``).
    max_submissions:
        Batch jobs one request may be in before it is sent online.
    poll_initial, poll_max, poll_multiplier:
        Seconds between polls of a job: ``poll_initial``, times ``poll_multiplier`` after each
        poll, at most ``poll_max``.
    max_wait:
        Seconds to wait for a round's jobs (None: until they end). When they outlast it the
        run stops; rerunning the same command resumes the jobs by id.
    max_requests, max_bytes:
        Split larger rounds into several jobs (OpenAI: 50,000 requests and 200 MB a file).
    gemini_input:
        Gemini jobs carry their requests inline (``"inline"``), in an uploaded JSONL file
        (``"file"``), or inline below ``inline_max_bytes`` and as a file above (``"auto"``).
    completion_window:
        OpenAI's completion window.
    """

    stages: tuple[str, ...] = ("reasons", "assign")
    reasks: Literal["batch", "online"] = "batch"
    missing: Literal["batch", "online"] = "batch"
    max_submissions: int = 3
    poll_initial: float = 30.0
    poll_max: float = 600.0
    poll_multiplier: float = 1.5
    max_wait: float | None = None
    max_requests: int = 50_000
    max_bytes: int = 190_000_000
    gemini_input: Literal["auto", "inline", "file"] = "auto"
    inline_max_bytes: int = 19_000_000
    completion_window: str = "24h"

    def __post_init__(self) -> None:
        if self.reasks not in ("batch", "online") or self.missing not in ("batch", "online"):
            raise ValueError("reasks and missing must be 'batch' or 'online'")
        if self.gemini_input not in ("auto", "inline", "file"):
            raise ValueError("gemini_input must be 'auto', 'inline' or 'file'")
        if self.max_submissions < 1 or self.max_requests < 1:
            raise ValueError("max_submissions and max_requests must be at least 1")


def resolve_batch(value: bool | BatchOptions | None) -> BatchOptions | None:
    """``True`` -> default options, ``False``/``None`` -> None (online), options as given."""
    if value is None or value is False:
        return None
    if value is True:
        return BatchOptions()
    if isinstance(value, BatchOptions):
        return value
    raise TypeError(f"batch must be True, False or BatchOptions, not {type(value).__name__}")
