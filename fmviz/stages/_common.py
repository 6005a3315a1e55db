"""Small helpers the three LLM stages share: running a per-item map and naming errors.

Every stage fans out one request per item through :meth:`fmviz.providers.runner.LLM.map`; the rules
for what happens to a failed item (kept in ``errors`` under a message naming it) and to a
stopped run (finished work attached to the exception) are the same, so they live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from fmviz.providers.pool import RunStopped

if TYPE_CHECKING:
    from fmviz.providers.runner import LLM

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
    llm: LLM,
    items: Iterable[T],
    fn: Callable[[Any], R],
    *,
    desc: str,
    key: Callable[[T], str],
    on_stop: Callable[[dict[str, R], dict[str, str]], Any],
    attribute: str,
    prepare: Callable[[T], Any] | None = None,
) -> tuple[dict[str, R], dict[str, str]]:
    """``llm.map`` with episode-naming errors; on a stopped run, attach partial results.

    ``on_stop(results, errors)`` builds the partial result object, which is set as
    ``attribute`` on the ``RunStopped`` exception before it is re-raised. ``prepare`` is
    CPU-bound work per item run ahead of the model calls (see :meth:`LLM.map`).
    """
    try:
        if getattr(llm, "batch", None) is not None:  # stages 1 and 3 through the batch API
            from fmviz.providers.batch.core import batched_map

            outcome = batched_map(llm, list(items), fn, desc=desc, key=key, prepare=prepare)
        else:
            outcome = llm.map(list(items), fn, desc=desc, key=key, prepare=prepare)
    except RunStopped as stopped:
        partial = stopped.partial
        results = {str(k): v for k, v in partial.results.items()}
        errors = {str(k): name_error(str(k), v) for k, v in partial.errors.items()}
        setattr(stopped, attribute, on_stop(results, errors))
        raise
    errors = {str(k): name_error(str(k), v) for k, v in outcome.errors.items()}
    return {str(k): v for k, v in outcome.results.items()}, errors
