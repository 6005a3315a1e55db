"""A throwaway Ray cluster on this machine, for trying the Ray executor, its tests and benchmarks.

``local_cluster(nodes=2)`` starts a head and worker nodes as separate Ray nodes (own raylet
and object store each, as on a real cluster, data moving between them through Ray's object
manager) and connects this process to it; leaving the block shuts it down.

Two details make it start reliably on a small, busy machine. Each node's raylet waits a
fixed 15 s for its agents to report their ports, and an agent that imports slowly (every
Ray process imports ``jsonschema``, whose optional ``rfc3987_syntax`` format checker
compiles a grammar for 3 to 5 s of CPU at import) makes the node abort; so the ports are
chosen up front, and Ray's processes skip that optional checker (``jsonschema`` falls back
to no ``iri`` format check, which Ray never uses). Neither touches this process.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fmviz.executors.ray import require_ray

__all__ = ["local_cluster"]

_SLOW_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


@contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1, *, skip_slow_imports: bool = True) -> Iterator[Any]:
    """Start ``nodes`` Ray nodes of ``cpus_per_node`` CPUs here and connect to them.

    Yields the :class:`ray.cluster_utils.Cluster`; its ``address`` is what a second process
    would pass to ``ray.init`` (or ``--ray-address``).

    Examples
    --------
    >>> with local_cluster(nodes=2) as cluster:                        # doctest: +SKIP
    ...     run = run_pipeline(ds, options=EngineOptions(executor="ray"))
    """
    ray = require_ray()
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised in this process; call ray.shutdown() first")
    saved = os.environ.get("PYTHONPATH")
    shim = _import_shim() if skip_slow_imports else None
    here = str(Path(__file__).resolve().parents[2])  # the nodes import this same fmviz
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [*([str(shim)] if shim is not None else []), here, *([saved] if saved else [])]
    )
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args=_node_args(cpus_per_node, head=True))
        for _ in range(max(0, nodes - 1)):
            cluster.add_node(**_node_args(cpus_per_node, head=False))
    except BaseException:
        if cluster is not None:
            cluster.shutdown()
        raise
    finally:  # the nodes have their environment; this process keeps its own
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _node_args(cpus: int, *, head: bool) -> dict[str, Any]:
    """One node's settings, with every agent port chosen up front (see the module docstring)."""
    args: dict[str, Any] = {
        "num_cpus": cpus,
        "include_dashboard": False,
        "metrics_agent_port": _free_port(),
        "metrics_export_port": _free_port(),
        "dashboard_agent_listen_port": _free_port(),
        "runtime_env_agent_port": _free_port(),
    }
    if head:
        args["include_log_monitor"] = True
    return args


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _import_shim() -> Path:
    """A folder whose modules make Ray's processes skip :data:`_SLOW_OPTIONAL_IMPORTS`."""
    folder = Path(tempfile.mkdtemp(prefix="fmviz-ray-shim-"))
    for name in _SLOW_OPTIONAL_IMPORTS:
        package = folder / name
        package.mkdir()
        (package / "__init__.py").write_text(
            f'raise ImportError("{name} is skipped in this local Ray cluster (slow import, optional)")\n'
        )
    return folder
