"""The clip scrubber's Python side: traits, the frame budget, on-demand frames (synthetic data)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from fmviz.episodes import Dataset, Episode
from fmviz.results import Assignment, Assignments, Cluster, ClusterSet, Reason, Reasons
from fmviz.views._frames import encode_clip, plan_budget, saved_bytes
from fmviz.views._widget import saved_size
from fmviz.views.scrubber import Scrubber, ScrubberEpisode


def _noise_frames(seed: int, count: int = 8, size: tuple[int, int] = (96, 128)) -> list[np.ndarray]:
    """Synthetic frames of random noise (they compress badly, so budgets are exercised)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (*size, 3), dtype=np.uint8) for _ in range(count)]


def _episodes(n: int, frames: bool = True) -> list[ScrubberEpisode]:
    return [
        ScrubberEpisode(
            id=f"ep{i:03d}",
            frames=_noise_frames(i) if frames else [],
            times=[0.5 * k for k in range(8)] if frames else None,
            failure_time=3.5,
            failure_reason=f"synthetic reason {i}",
            cluster_id="outlier" if i % 5 == 0 else f"c{i % 3}",
            cluster_name=f"mode {i % 3}",
        )
        for i in range(n)
    ]


def test_frames_travel_as_jpeg_bytes_with_times_and_failure_index():
    widget = Scrubber.from_episodes(_episodes(2))
    clip = widget.clips["ep000"]
    assert all(frame[:2] == b"\xff\xd8" for frame in clip["frames"])
    assert clip["times"] == [0.5 * k for k in range(8)]
    assert clip["failure_index"] == 7
    assert Image.open(io.BytesIO(clip["frames"][0])).size == (128, 96)


def test_the_whole_widget_stays_within_its_frame_budget():
    budget = 400_000
    widget = Scrubber.from_episodes(_episodes(40), frame_budget_bytes=budget)
    status = widget.budget_frame()["status"].value_counts().to_dict()
    assert saved_size(widget) <= budget
    assert 0 < status["frames"] < 40
    assert status["frames"] + status["thumbnail"] == 40  # every episode beyond the budget has a thumbnail


def test_clips_fill_in_episode_order_and_the_rest_keep_one_thumbnail():
    widget = Scrubber.from_episodes(_episodes(30), frame_budget_bytes=300_000)
    frame = widget.budget_frame()
    kept = frame.index[frame["status"] == "frames"].tolist()
    assert kept == list(range(len(kept)))
    for eid in frame.loc[frame["status"] == "thumbnail", "episode_id"]:
        assert Image.open(io.BytesIO(widget.thumbnails[eid])).size[0] <= 96


def test_a_zero_budget_keeps_text_only():
    widget = Scrubber.from_episodes(_episodes(3), frame_budget_bytes=0)
    assert set(widget.budget_frame()["status"]) == {"text"}
    assert widget.clips == {}
    assert widget.thumbnails == {}
    assert [e["failure_reason"] for e in widget.episodes] == [f"synthetic reason {i}" for i in range(3)]


def test_outliers_are_flagged_and_names_kept():
    widget = Scrubber.from_episodes(_episodes(6))
    flags = {e["id"]: e["outlier"] for e in widget.episodes}
    assert flags == {
        "ep000": True,
        "ep001": False,
        "ep002": False,
        "ep003": False,
        "ep004": False,
        "ep005": True,
    }


def test_failure_time_picks_the_last_frame_at_or_before_it():
    clip = encode_clip(_noise_frames(0, 4), [10.0, 10.5, 11.0, 11.5], 11.2)
    assert clip.failure_index == 2


def test_bad_inputs_raise_one_clear_value_error():
    with pytest.raises(ValueError, match="unique"):
        Scrubber.from_episodes([ScrubberEpisode("a"), ScrubberEpisode("a")])
    with pytest.raises(ValueError, match="times must increase"):
        encode_clip(_noise_frames(0, 2), [1.0, 1.0])
    with pytest.raises(ValueError, match="2 frames but 3 times"):
        encode_clip(_noise_frames(0, 2), [0.0, 1.0, 2.0])


def test_plan_budget_replaces_thumbnails_by_whole_clips_until_one_does_not_fit():
    clips = [encode_clip(_noise_frames(i, 4)) for i in range(5)]
    thumbs = sum(saved_bytes(c.thumbnail) for c in clips)
    two = sum(c.cost() - saved_bytes(c.thumbnail) for c in clips[:2])
    full, thumb = plan_budget(0, clips, thumbs + two)
    assert full[:2] == [True, True]
    assert not any(full[3:])
    assert all(f != t for f, t in zip(full, thumb, strict=False))


def _run(n: int = 6) -> SimpleNamespace:
    """A run-like object over SYNTHETIC in-memory clips (40 frames at 10 fps each)."""
    episodes = [
        Episode(f"r{i}", source=np.stack(_noise_frames(i, 40, (48, 64))), fps=10.0, task=f"task {i}")
        for i in range(n)
    ]
    reasons = Reasons([Reason(f"r{i}", f"went forward {i}", f"hit a wall {i}") for i in range(n)])
    clusters = ClusterSet([Cluster("c1", "Walls"), Cluster("c2", "Doors")])
    assignments = Assignments(
        [
            Assignment(f"r{i}", "outlier" if i == 0 else f"c{1 + i % 2}", rationale=f"because {i}")
            for i in range(n)
        ]
    )
    return SimpleNamespace(
        dataset=Dataset(episodes), reasons=reasons, clusters=clusters, assignments=assignments
    )


def test_from_run_decodes_tails_within_the_budget_and_names_clusters():
    widget = Scrubber.from_run(_run(), frame_budget_bytes=10_000_000)
    row = widget.episodes[1]
    assert (row["cluster_name"], row["failure_reason"], row["rationale"]) == (
        "Doors",
        "hit a wall 1",
        "because 1",
    )
    assert "task: task 1" in row["context"]
    assert widget.episodes[0]["outlier"] is True
    clip = widget.clips["r1"]
    assert len(clip["frames"]) == 8
    assert clip["times"][-1] == pytest.approx(3.9)  # 40 frames at 10 fps: the failure is the last
    assert np.allclose(np.diff(clip["times"]), 0.5)  # the default tail is 2 fps


def test_opening_an_episode_beyond_the_budget_loads_only_its_frames():
    run = _run()
    widget = Scrubber.from_run(
        run, frame_budget_bytes=saved_size(Scrubber.from_run(run, frame_budget_bytes=0)) + 40_000
    )
    beyond = widget.budget_frame().query("status != 'frames'")["episode_id"].tolist()
    assert beyond, "the budget should leave some episodes without frames"
    widget.current = beyond[-1]
    assert widget.live_clip["id"] == beyond[-1]
    assert len(widget.live_clip["frames"]) == 8
    assert beyond[-1] not in widget.clips  # the saved clips are not resent


def test_the_png_fallback_is_a_picture_of_the_episode_in_view():
    widget = Scrubber.from_episodes(_episodes(2))
    data, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    import base64

    image = Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
    assert image.format == "PNG"
    assert image.size == (560, 220)


def test_plain_frames_beyond_the_budget_load_on_demand_and_nothing_loads_while_building():
    widget = Scrubber.from_episodes(_episodes(20), frame_budget_bytes=400_000)
    assert widget.live_clip == {}
    beyond = widget.budget_frame().query("status == 'thumbnail'")["episode_id"].tolist()
    assert beyond
    assert widget.current not in beyond
    widget.current = beyond[-1]
    assert widget.live_clip["id"] == beyond[-1]
    assert len(widget.live_clip["frames"]) == 8
