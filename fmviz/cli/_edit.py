"""``fmviz edit RUN_DIR``: edit a run's failure modes from the shell; every edit lands in the log.

Each invocation applies its edits in a fixed order (undo/redo first, then renames, merges,
splits, moves, outliers, deletions, additions), rewrites only the run folder's cluster set
(with its log) and says how many episodes now await ``fmviz assign RUN_DIR``.
"""

from __future__ import annotations

import argparse
import sys

from fmviz.results import Add, Delete, MarkOutlier, Merge, Move, Operation, Update

__all__ = ["register"]


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _pair(text: str, flag: str) -> tuple[str, str]:
    left, sep, right = text.partition("=")
    if not sep or not left.strip() or not right.strip():
        raise ValueError(f"{flag} expects LEFT=RIGHT, got {text!r}")
    return left.strip(), right.strip()


def _operations(args: argparse.Namespace, run) -> list[Operation]:
    ops: list[Operation] = []
    for item in args.rename:
        cluster, name = _pair(item, "--rename")
        ops.append(Update(cluster, name=name))
    for item in args.describe:
        cluster, text = _pair(item, "--describe")
        ops.append(Update(cluster, description=text))
    for item in args.merge:
        ops.append(Merge(_ids(item), name=args.name))
    for cluster in args.split:
        ops.append(run.split_proposal(cluster, args.into))
    for item in args.move:
        episodes, cluster = _pair(item, "--move")
        ops.append(Move(_ids(episodes), cluster))
    for item in args.outlier:
        ops.append(MarkOutlier(_ids(item)))
    for cluster in args.delete:
        ops.append(Delete(cluster, "outlier" if args.delete_to_outlier else "reassign"))
    for name in args.add:
        scope = [*_ids(args.scope or ""), *run.add_scope(name, args.description or "", ())]
        ops.append(Add(name, args.description or "", scope=tuple(dict.fromkeys(scope))))
    return ops


def _cmd_edit(args: argparse.Namespace) -> int:
    from fmviz.pipeline import load_run

    run = load_run(args.run_dir)
    for _ in range(args.undo):
        run.undo()
    for _ in range(args.redo):
        run.redo()
    ops = _operations(args, run)
    if ops:
        run.apply(ops)
    changed = bool(ops or args.undo or args.redo)
    if changed:
        run.save_clusters(args.run_dir)
    if args.show_log or not changed:
        log = run.clusters.log_frame()
        print(log.to_string(index=False) if len(log) else "no edits yet")
    pending = len(run.current_assignments.pending_ids)
    print(
        f"cluster set {run.clusters.version}: {len(run.clusters)} failure modes, "
        f"{len(run.clusters.log)} edits"
    )
    if changed:
        print(f"-> {args.run_dir}/clusters.json")
    if pending:
        print(f"{pending} episode(s) await re-assignment: fmviz assign {args.run_dir}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fmviz edit`` to ``sub``."""
    edit = sub.add_parser(
        "edit",
        help="merge, split, rename, move or drop failure modes of a run; each edit is logged and undoable",
        description="Edit a run folder's cluster set. Edits are recorded in clusters.json's log; "
        "`fmviz assign RUN_DIR` then re-assigns only the episodes they touched.",
    )
    edit.add_argument("run_dir", metavar="RUN_DIR", help="folder written by `fmviz run`")
    edit.add_argument("--merge", action="append", default=[], metavar="C3,C7", help="merge clusters")
    edit.add_argument("--name", help="name of the cluster a --merge makes")
    edit.add_argument("--rename", action="append", default=[], metavar="C2=NAME")
    edit.add_argument("--describe", action="append", default=[], metavar="C2=TEXT")
    edit.add_argument("--split", action="append", default=[], metavar="C4", help="split by the run's engine")
    edit.add_argument("--into", type=int, default=2, help="parts per --split (default 2)")
    edit.add_argument("--move", action="append", default=[], metavar="EP1,EP2=C5", help="pin episodes")
    edit.add_argument("--outlier", action="append", default=[], metavar="EP1,EP2", help="pin as outliers")
    edit.add_argument("--delete", action="append", default=[], metavar="C3", help="remove a cluster")
    edit.add_argument(
        "--delete-to-outlier",
        action="store_true",
        help="members of --delete become outliers, not re-assigned",
    )
    edit.add_argument("--add", action="append", default=[], metavar="NAME", help="add a cluster")
    edit.add_argument("--description", help="description of the cluster --add makes")
    edit.add_argument(
        "--scope",
        metavar="C2,EP7",
        help="with --add: clusters or episodes to re-ask besides the outliers (all an LLM engine asks)",
    )
    edit.add_argument("--undo", action="count", default=0, help="take back the last edit (repeat for more)")
    edit.add_argument("--redo", action="count", default=0, help="apply the last undone edit again")
    edit.add_argument("--show-log", action="store_true", help="print the edit log")
    edit.set_defaults(func=_cmd_edit)
