"""The ``fmviz`` command line: a thin layer over :mod:`fmviz.pipeline` and the stages.

Each group of commands lives in its own module with a ``register(sub)`` function.

Every sub-command does what a notebook cell does with the same functions, so a run
started in a terminal and one started in JupyterLab give the same files.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from fmviz.cli import _collect, _edit, _eval, _export, _monitor, _stages
from fmviz.engine import STAGES, parse_spec

__all__ = ["build_parser", "main"]

#: Command modules, each with ``register(sub)``; a new group of commands adds itself here.
COMMAND_MODULES = (_stages, _edit, _eval, _export, _monitor, _collect)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Failures a user can act on (bad input, bad configuration, no reasons, a dead server).

    Each is shown as one line and a non-zero exit, never as a traceback.
    """
    from fmviz.episodes import EpisodeError
    from fmviz.errors import NoReasonsError, PromptTooLargeError
    from fmviz.providers.base import ProviderError
    from fmviz.providers.limits import BudgetExceeded
    from fmviz.providers.pool import RunStopped

    return (
        EpisodeError,
        ProviderError,
        NoReasonsError,
        PromptTooLargeError,
        BudgetExceeded,
        RunStopped,
        FileNotFoundError,
        NotADirectoryError,
        PermissionError,
        IsADirectoryError,
        ValueError,
    )


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Input warnings as one ``fmviz: warning:`` line (no file and line of fmviz's source); any
    other warning (a library's deprecation) as Python prints it. A ``warnings.showwarning``."""
    from fmviz.errors import InputWarning

    stream = file if file is not None else sys.stderr
    if issubclass(category, InputWarning):
        print(f"fmviz: warning: {' '.join(str(message).split())}", file=stream)
    else:
        stream.write(warnings.formatwarning(message, category, filename, lineno, line))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmviz",
        description="Turn robot and AV failure logs into named failure modes "
        "(reasons -> clusters -> assignment). Runs offline with no API key by default.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fmviz`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    spec_options = ("engine", *STAGES) if args.command in ("run", "estimate") else ("engine",)
    for stage in spec_options:
        spec = getattr(args, stage, None)
        if isinstance(spec, str):
            try:
                parse_spec(spec)
            except ValueError as exc:
                parser.error(str(exc))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return int(args.func(args))
    except KeyboardInterrupt:
        print(
            "interrupted: finished model calls are cached; rerun the same command to resume", file=sys.stderr
        )
        return 130
    except Exception as exc:  # one clear line instead of a traceback, for expected failures
        if isinstance(exc, _expected_errors()):
            message = " ".join(str(exc).split()) or type(exc).__name__
            print(f"fmviz: error: {message}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
