"""The ``fmviz`` command line: a thin layer over :mod:`fmviz.pipeline` and the stages.

Each group of commands lives in its own module with a ``register(sub)`` function.

Every sub-command does what a notebook cell does with the same functions, so a run
started in a terminal and one started in JupyterLab give the same files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fmviz.cli import _stages
from fmviz.pipeline import STAGES, parse_spec

__all__ = ["build_parser", "main"]

#: Command modules, each with ``register(sub)``; a new group of commands adds itself here.
COMMAND_MODULES = (_stages,)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Failures a user can act on: shown as one line, not a traceback."""
    from fmviz.episodes import EpisodeError
    from fmviz.providers.base import ProviderError

    errors: list[type[BaseException]] = [EpisodeError, ProviderError, FileNotFoundError, ValueError]
    try:
        from fmviz.llm import BudgetExceeded, RunStopped

        errors += [BudgetExceeded, RunStopped]
    except ImportError:  # pragma: no cover - during partial installs
        pass
    return tuple(errors)


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
        return int(args.func(args))
    except KeyboardInterrupt:
        print(
            "interrupted: finished model calls are cached; rerun the same command to resume", file=sys.stderr
        )
        return 130
    except Exception as exc:  # one clear line instead of a traceback, for expected failures
        if isinstance(exc, _expected_errors()):
            print(f"fmviz: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
