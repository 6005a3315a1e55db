"""The Ray executor gives the local executor's results, on a two-node Ray cluster on this machine.

One cluster (two nodes of one CPU each, started by :func:`fmviz.executors.ray_cluster.local_cluster`)
is shared by the module; Ray's start-up and each job's actor start-up take seconds, hence ``slow``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from fmviz.cli import main
from fmviz.episodes import Episode, EpisodeError
from fmviz.executors import ExecutorError, LocalExecutor, make_executor
from fmviz.loaders import load_dataset
from fmviz.offline.embeddings import DEFAULT_MODEL
from fmviz.prompts import load_prompts
from fmviz.results import ClusterSet
from fmviz.stages.reasons import build_reason_request
from fmviz.video import TailSpec

NAVIGATION = Path(__file__).resolve().parents[1] / "sample_data" / "navigation"


def test_local_is_the_default_and_unknown_names_are_refused() -> None:
    assert isinstance(make_executor(), LocalExecutor)
    assert isinstance(make_executor("local"), LocalExecutor)
    with pytest.raises(ExecutorError, match="unknown executor 'spark'"):
        make_executor("spark")


def test_ray_missing_is_one_clear_line(monkeypatch, tmp_path, capsys) -> None:
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray looks like
    code = main(["run", str(NAVIGATION), "--out", str(tmp_path / "o"), "--executor", "ray", "--no-report"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("fmviz: error: the Ray executor needs Ray Data: pip install 'fmviz[ray]'")
    assert not (tmp_path / "o" / "clusters.json").exists()


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray.data")
    from fmviz.executors.ray_cluster import local_cluster

    with local_cluster(nodes=2, cpus_per_node=1) as running:
        yield running


@pytest.mark.slow
def test_the_cluster_has_two_worker_nodes(cluster) -> None:
    import ray

    alive = [node for node in ray.nodes() if node["Alive"]]
    assert len(alive) == 2
    assert ray.cluster_resources()["CPU"] == 2


@pytest.mark.slow
def test_tails_decoded_on_ray_are_the_local_requests(cluster) -> None:
    dataset = load_dataset(NAVIGATION)
    episodes = list(dataset.episodes[:6])
    broken = Episode("broken-video", source=str(NAVIGATION / "videos" / "missing.mp4"), narrative="lost")
    episodes.append(broken)
    prompts = load_prompts("navigation")
    tail = TailSpec(frames=4, fps=1.0, max_side=160)
    executor = make_executor("ray")
    executor.min_rows = 0
    with executor.tail_decoder(episodes, tail, lambda episode: episode.has_frames) as decode:
        local_first = build_reason_request(episodes[0], prompts, tail=tail)
        for episode in episodes[:-1]:
            local = build_reason_request(episode, prompts, tail=tail)
            remote = build_reason_request(episode, prompts, tail=tail, decode=decode)
            assert len(local.images) == 4
            assert [i.sha256 for i in remote.images] == [i.sha256 for i in local.images]
            assert remote.prompt == local.prompt  # frame times included
            assert remote.cache_fields() == local.cache_fields()  # hence the same cache key
        again = build_reason_request(episodes[0], prompts, tail=tail, decode=decode)  # a later batch round
        assert [i.sha256 for i in again.images] == [i.sha256 for i in local_first.images]
        with pytest.raises(EpisodeError) as here:
            build_reason_request(broken, prompts, tail=tail)
        with pytest.raises(EpisodeError) as there:
            build_reason_request(broken, prompts, tail=tail, decode=decode)
    assert str(there.value) == str(here.value)  # the same one line, naming the episode
    assert "broken-video" in str(there.value)


@pytest.mark.slow
@pytest.mark.parametrize("model", [DEFAULT_MODEL, "static-minilm"])  # the transformer, the static model
def test_embeddings_on_ray_match_local(cluster, model) -> None:
    from fmviz.offline.static import make_embedder

    texts = [f"the robot drove into glass door {i} while turning left at the lift" for i in range(40)]
    texts += ["the base clipped a thin chair leg", "", "a cable caught the caster"]
    local = make_embedder(model, cache_dir=False).embed(texts)
    executor = make_executor("ray")
    executor.min_rows = 0
    remote_embedder = executor.embedder(make_embedder(model, cache_dir=False))
    assert remote_embedder.model_id == make_embedder(model, cache_dir=False).model_id  # same cache keys
    remote = remote_embedder.embed(texts)
    assert remote.shape == local.shape
    np.testing.assert_allclose(remote, local, atol=1e-5)
    assert remote_embedder.encoded_count == len(set(texts))


@pytest.mark.slow
def test_cli_run_on_ray_finds_the_local_clusters(cluster, tmp_path, monkeypatch) -> None:
    from fmviz.executors.ray import RayExecutor

    jobs: list[int] = []
    encode = RayExecutor.encode

    def counted(self, embedder, texts):
        jobs.append(len(texts))
        return encode(self, embedder, texts)

    monkeypatch.setattr(RayExecutor, "encode", counted)  # the real job runs; this only counts it
    monkeypatch.setenv("FMVIZ_RAY_MIN_ROWS", "60")  # the 80 reasons go to Ray, small lookups stay here
    runs = {}
    for executor in ("local", "ray"):
        monkeypatch.setenv("FMVIZ_CACHE_DIR", str(tmp_path / f"cache-{executor}"))  # no shared vectors
        out = tmp_path / executor
        argv = ["run", str(NAVIGATION), "--out", str(out), "--no-report", "--map-method", "pca"]
        assert main([*argv, "--executor", executor]) == 0
        runs[executor] = ClusterSet.load(out / "clusters.json")
    assert jobs  # the ray run embedded on the cluster
    assert all(n >= 60 for n in jobs)
    local, remote = runs["local"], runs["ray"]
    assert remote.membership == local.membership
    assert remote.names() == local.names()
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["options"]["executor"] == "ray"
