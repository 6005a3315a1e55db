"""Executors: where the CPU-heavy parts of a run happen (this process, or a Ray cluster).

``make_executor("local")`` (the default) keeps everything in this process, as fmviz always
did; ``make_executor("ray")`` sends tail decoding (stage 1) and text embedding (the offline
engine) to a Ray cluster through Ray Data (:mod:`fmviz.executors.ray`, the optional ``ray``
extra). The model calls, the cache, the ledger and the budget never leave this process.
"""

from __future__ import annotations

from fmviz.executors.base import (
    EXECUTORS,
    Executor,
    ExecutorError,
    ExecutorFault,
    TailDecoder,
    TailFrames,
    decode_tail,
)
from fmviz.executors.local import LocalExecutor

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "ExecutorFault",
    "LocalExecutor",
    "TailDecoder",
    "TailFrames",
    "decode_tail",
    "make_executor",
]


def make_executor(name: str | Executor | None = "local", *, address: str | None = None) -> Executor:
    """The executor a name asks for: ``"local"`` (default) or ``"ray"`` (with ``address``).

    Raises
    ------
    ExecutorError
        For an unknown name, ``"ray"`` without Ray installed (one line saying how to install it),
        or a Ray cluster that cannot be started or reached.
    """
    if name is None or name == "local":
        return LocalExecutor()
    if not isinstance(name, str):
        return name
    if name == "ray":
        from fmviz.executors.ray import RayExecutor

        executor = RayExecutor(address)
        executor.connect()  # an unreachable cluster fails here, before any work or paid call
        return executor
    raise ExecutorError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
