"""The worker pool: per-item errors, fatal stops, and preparation running ahead of the calls."""

from __future__ import annotations

import threading
import time

import pytest

from fmviz.providers.pool import RunStopped, cpu_workers, run_pool


def _is_value_error(exc: BaseException) -> bool:
    return isinstance(exc, ValueError)


def test_prepared_items_reach_the_call_in_input_order_with_their_keys():
    items = list(range(30))
    out = run_pool(
        items,
        lambda prepared: prepared * 10,
        [f"k{i}" for i in items],
        concurrency=4,
        is_item_error=_is_value_error,
        prepare=lambda item: item + 1,
    )
    assert list(out.results) == [f"k{i}" for i in items]
    assert [out.results[f"k{i}"] for i in items] == [(i + 1) * 10 for i in items]


def test_preparation_runs_while_earlier_calls_are_in_flight():
    prepared_at: dict[int, float] = {}
    called_at: dict[int, float] = {}
    lock = threading.Lock()

    def prepare(item: int) -> int:
        with lock:
            prepared_at[item] = time.monotonic()
        return item

    def call(item: int) -> int:
        with lock:
            called_at[item] = time.monotonic()
        time.sleep(0.2)  # a network wait
        return item

    run_pool(
        list(range(8)), call, list(range(8)), concurrency=2, is_item_error=_is_value_error, prepare=prepare
    )
    # items 2..3 were prepared before the first two calls returned, not after
    assert prepared_at[3] < called_at[0] + 0.2


def test_a_failed_preparation_is_an_item_error_and_the_rest_go_on():
    def prepare(item: int) -> int:
        if item == 2:
            raise ValueError("episode '2': video file is empty")
        return item

    out = run_pool(
        list(range(5)),
        lambda x: x,
        list(range(5)),
        concurrency=2,
        is_item_error=_is_value_error,
        prepare=prepare,
    )
    assert sorted(out.results) == [0, 1, 3, 4]
    assert out.errors == {2: "episode '2': video file is empty"}


def test_a_fatal_error_stops_new_items_and_keeps_finished_ones():
    def call(item: int) -> int:
        if item == 3:
            raise KeyError("a bug")
        time.sleep(0.01)
        return item

    with pytest.raises(RunStopped) as stopped:
        run_pool(
            list(range(100)),
            call,
            list(range(100)),
            concurrency=2,
            is_item_error=_is_value_error,
            prepare=lambda x: x,
        )
    partial = stopped.value.partial
    assert 3 in partial.errors
    assert len(partial.results) >= 3
    assert len(partial.skipped) > 50
    assert not set(partial.skipped) & set(partial.results)


def test_cpu_workers_counts_usable_cores():
    assert cpu_workers() >= 1
