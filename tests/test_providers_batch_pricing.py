"""Batch prices (table, overrides, file), the ledger's batch rows, ``estimate`` side by side, ``--batch``.

The command-line tests run ``fmviz reasons/assign --batch`` through the real OpenAI client
against the loopback server, and ``fmviz estimate`` with a user price file. Answers are
scripted (``tests/_batch.py``), the episodes SYNTHETIC.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _batch import CLUSTERS, NARRATIVES, dataset, responder

from fmviz.cli import main
from fmviz.engine import EngineOptions
from fmviz.loaders import save_manifest
from fmviz.pipeline import estimate_run
from fmviz.providers.ledger import Ledger, PriceTable
from fmviz.results import Assignments, Reasons
from fmviz.testing import LoopbackServer


def test_batch_prices_default_to_half_and_can_be_overridden(tmp_path: Path) -> None:
    table = PriceTable()
    assert table.batch_lookup("gpt-4o-mini") == pytest.approx((0.075, 0.30))
    assert table.batch_lookup("gemini-2.5-pro") == pytest.approx((0.625, 5.0))
    assert table.cost("gpt-4o-mini", 1_000_000, 0, batch=True) == pytest.approx(0.075)
    assert table.batch_lookup("llama3") is None  # unknown (local) models cost nothing
    custom = table.with_batch_prices({"gpt-4o-mini": (0.05, 0.2)}, discount={"gemini": 0.4})
    assert custom.batch_lookup("gpt-4o-mini-2024-07-18") == (0.05, 0.2)
    assert custom.batch_lookup("gemini-2.5-flash") == pytest.approx((0.12, 1.0))
    assert table.batch_lookup("gpt-4o-mini") == pytest.approx((0.075, 0.30))  # copies, not edits
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "prices": {"my-model": {"input": 2.0, "output": 4.0}},
                "batch_prices": {"o3": [0.5, 1.0]},
                "batch_discount": 0.25,
            }
        )
    )
    loaded = PriceTable.load(path)
    assert loaded.lookup("my-model") == (2.0, 4.0)
    assert loaded.batch_lookup("my-model") == pytest.approx((0.5, 1.0))
    assert loaded.batch_lookup("o3") == (0.5, 1.0)
    frame = loaded.to_frame()
    assert {"batch_input_per_1m", "batch_output_per_1m"} <= set(frame.columns)


def test_ledger_marks_batch_rows_and_prices_them() -> None:
    ledger = Ledger()
    online = ledger.record("reasons", "openai", "gpt-4o-mini", 1000, 100, cached=False, seconds=1.0)
    batch = ledger.record(
        "reasons", "openai", "gpt-4o-mini", 1000, 100, cached=False, seconds=1.0, batch=True
    )
    assert batch == pytest.approx(online / 2)
    frame = ledger.to_frame()
    assert frame["batch"].tolist() == [False, True]
    assert ledger.summary()["batch_calls"].tolist() == [1]


def test_estimate_shows_online_and_batch_prices_side_by_side(tmp_path: Path) -> None:
    specs = {
        "reasons": "openai:gpt-4o-mini",
        "clusters": "openai:gpt-4o-mini",
        "assign": "openai:gpt-4o-mini",
    }
    options = EngineOptions(cache=str(tmp_path / "calls.sqlite"))
    table = estimate_run(dataset(), specs, options).set_index("stage")
    assert table.loc["reasons", "batch_cost_usd"] == pytest.approx(table.loc["reasons", "cost_usd"] / 2)
    assert table.loc["assign", "batch_cost_usd"] == pytest.approx(table.loc["assign", "cost_usd"] / 2)
    assert table.loc["clusters", "batch_cost_usd"] == pytest.approx(
        table.loc["clusters", "cost_usd"]
    )  # online
    total = table.loc[["reasons", "clusters", "assign"], "batch_cost_usd"].sum()
    assert table.loc["total", "batch_cost_usd"] == pytest.approx(total)


def test_cli_estimate_prints_both_prices_and_reads_a_price_file(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    save_manifest(dataset(), data)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"batch_prices": {"gpt-4o-mini": [0.015, 0.06]}}))  # a tenth of online
    args = ["estimate", str(data), "--engine", "openai:gpt-4o-mini", "--cache", str(tmp_path / "c.sqlite")]
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr().out
    assert "cost_usd" in out.splitlines()[0]
    assert "batch_cost_usd" in out.splitlines()[0]
    default = {row["stage"]: row for row in json.loads(out.strip().splitlines()[-1])}
    assert main([*args, "--json", "--prices", str(prices)]) == 0
    custom = {row["stage"]: row for row in json.loads(capsys.readouterr().out.strip().splitlines()[-1])}
    assert default["reasons"]["batch_cost_usd"] == pytest.approx(default["reasons"]["cost_usd"] / 2)
    assert custom["reasons"]["batch_cost_usd"] == pytest.approx(custom["reasons"]["cost_usd"] / 10)
    assert custom["reasons"]["cost_usd"] == pytest.approx(default["reasons"]["cost_usd"])


def test_cli_reasons_and_assign_with_batch(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    save_manifest(dataset(), data)
    cache = str(tmp_path / "calls.sqlite")
    with LoopbackServer(responder) as server:
        common = ["--engine", "openai:gpt-4o-mini", "--base-url", server.openai_base_url, "--cache", cache]
        batch = ["--batch", "--batch-poll", "0.001"]
        assert main(["reasons", str(data), "--out", str(tmp_path / "out"), *common, *batch]) == 0
        reasons = Reasons.load(tmp_path / "out" / "reasons.json")
        assert len(reasons) == len(NARRATIVES)
        assert server.count == 0
        assert server.batches.creates["openai"] == 2  # the requests, then e4's repair re-ask
        clusters = CLUSTERS.save(tmp_path / "clusters.json")
        reasons_path = str(tmp_path / "out" / "reasons.json")
        assert (
            main(["assign", reasons_path, str(clusters), "--out", str(tmp_path / "out"), *common, *batch])
            == 0
        )
        assignments = Assignments.load(tmp_path / "out" / "assignments.json")
        assert assignments.labels()["e1"] == "C1"
        assert assignments.labels()["e5"] == "C2"  # re-asked in a second batch
        assert server.count == 0
        assert server.batches.creates["openai"] == 4
        # online rerun of stage 1 from the same cache: nothing sent
        assert main(["reasons", str(data), "--out", str(tmp_path / "again"), *common]) == 0
        assert server.count == 0
    capsys.readouterr()
