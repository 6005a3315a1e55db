"""``fmviz export``: an executed notebook as one HTML file that works with no network.

A thin layer over :func:`fmviz.views.export.export_notebook`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="write an executed notebook as one offline HTML file (widgets live, no CDN)",
        description="Turn a notebook saved with its widget state (JupyterLab, or "
        "`jupyter nbconvert --execute --to notebook`) into one HTML file that renders every "
        "fmviz widget and plotly figure with no network. --execute runs the notebook first.",
    )
    parser.add_argument("notebook", type=Path, help="the .ipynb file")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--execute", action="store_true", help="run the notebook first (stores widget state)")
    parser.add_argument(
        "--timeout", type=int, default=600, help="seconds per cell with --execute (default 600)"
    )
    parser.add_argument("--no-code", action="store_true", help="leave the code cells out, outputs only")
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from fmviz.views.export import export_notebook

    out = export_notebook(
        args.notebook, args.out, execute=args.execute, timeout=args.timeout, show_code=not args.no_code
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
