"""Small helpers the three LLM stages share: running a per-item map and naming errors.

Every stage fans out one request per item through :meth:`fmviz.llm.LLM.map`; the rules
for what happens to a failed item (kept in ``errors`` under a message naming it) and to a
stopped run (finished work attached to the exception) are the same, so they live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["name_error", "run_map"]


def name_error(episode_id: str, message: str) -> str:
    """Make sure an error message names its episode."""
    message = str(message).strip() or "unknown error"
    if repr(episode_id) in message or f"episode {episode_id}" in message:
        return message
    return f"episode {episode_id!r}: {message}"


def run_map(
    llm: Any,
    items: Iterable[T],
    fn: Callable[[T], R],
    *,
    desc: str,
    key: Callable[[T], str],
    on_stop: Callable[[dict[str, R], dict[str, str]], Any],
    attribute: str,
) -> tuple[dict[str, R], dict[str, str]]:
    """``llm.map`` with episode-naming errors; on a stopped run, attach partial results.

    ``on_stop(results, errors)`` builds the partial result object, which is set as
    ``attribute`` on the ``RunStopped`` exception before it is re-raised.
    """
    from fmviz.llm import RunStopped

    try:
        outcome = llm.map(list(items), fn, desc=desc, key=key)
    except RunStopped as stopped:
        partial = getattr(stopped, "partial", None)
        results = dict(getattr(partial, "results", {}) or {})
        errors = {k: name_error(k, v) for k, v in (getattr(partial, "errors", {}) or {}).items()}
        setattr(stopped, attribute, on_stop(results, errors))
        raise
    errors = {k: name_error(k, v) for k, v in outcome.errors.items()}
    return dict(outcome.results), errors
