"""Ledger, PriceTable and dry-run estimates."""

from __future__ import annotations

import json
import threading

import pytest

from fmviz.providers import GeminiProvider, Image, LLMRequest, LLMResponse
from fmviz.providers.cache import CallCache
from fmviz.providers.ledger import Ledger, PriceTable, estimate_requests


def test_cost_follows_the_price_table():
    prices = PriceTable()
    assert prices.cost("gemini-2.5-pro", 1_000_000, 0) == pytest.approx(1.25)
    assert prices.cost("gemini-2.5-pro", 2000, 500) == pytest.approx((2000 * 1.25 + 500 * 10.0) / 1e6)
    assert prices.cost("my-local-llama", 10_000, 10_000) == 0.0


def test_dated_model_names_use_the_longest_matching_price():
    prices = PriceTable()
    assert prices.lookup("gpt-4o-mini-2024-07-18") == prices.lookup("gpt-4o-mini")
    assert prices.lookup("gpt-4o-2024-08-06") == prices.lookup("gpt-4o")
    assert prices.lookup("gpt-4o-mini") != prices.lookup("gpt-4o")
    assert prices.lookup("models/gemini-2.5-flash") == prices.lookup("gemini-2.5-flash")
    assert "o4-mini" in prices
    assert "smollm2" not in prices


def test_prices_load_from_json_and_toml_and_override(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"gpt-4o": {"input": 1, "output": 2}, "mine": [3, 4]}))
    (tmp_path / "p.toml").write_text("[prices.mine]\ninput = 5\noutput = 6\n")
    from_json = PriceTable.load(tmp_path / "p.json")
    assert from_json.lookup("gpt-4o") == (1.0, 2.0)
    assert from_json.lookup("mine") == (3.0, 4.0)
    assert from_json.lookup("o4-mini") == PriceTable().lookup("o4-mini")
    assert PriceTable.load(tmp_path / "p.toml", defaults=False).lookup("mine") == (5.0, 6.0)
    assert PriceTable.load(tmp_path / "p.toml", defaults=False).lookup("o4-mini") is None
    overridden = from_json.with_prices({"mine": (0.5, 0.5)})
    assert overridden.lookup("mine") == (0.5, 0.5)
    assert from_json.lookup("mine") == (3.0, 4.0)
    with pytest.raises(ValueError, match="input"):
        PriceTable({"bad": 3})


def test_record_costs_cached_calls_nothing():
    ledger = Ledger(PriceTable({"m": (2.0, 8.0)}, defaults=False))
    paid = ledger.record("reasons", "openai", "m", 1000, 500, cached=False, seconds=1.5, episode_id="e1")
    free = ledger.record("reasons", "openai", "m", 1000, 500, cached=True, seconds=0.0)
    assert paid == pytest.approx((1000 * 2 + 500 * 8) / 1e6)
    assert free == 0.0
    assert ledger.total_cost == pytest.approx(paid)
    frame = ledger.to_frame()
    assert list(frame["cached"]) == [False, True]
    assert frame["episode_id"].iloc[0] == "e1"


def test_summary_groups_by_stage_provider_and_model():
    ledger = Ledger(PriceTable({"a": (1.0, 1.0), "b": (10.0, 10.0)}, defaults=False))
    ledger.record("reasons", "gemini", "a", 100, 100, False, 1.0)
    ledger.record("reasons", "gemini", "a", 100, 100, True, 0.0)
    ledger.record("reasons", "gemini", "a", 100, 100, False, 1.0)
    ledger.record("clusters", "openai", "b", 1000, 0, False, 2.0)
    summary = ledger.summary().set_index(["stage", "provider", "model"])
    reasons = summary.loc[("reasons", "gemini", "a")]
    assert (reasons.calls, reasons.cached_calls, reasons.input_tokens) == (3, 1, 300)
    assert reasons.cost_usd == pytest.approx(2 * 200 / 1e6)
    assert summary.loc[("clusters", "openai", "b")].cost_usd == pytest.approx(0.01)
    assert summary["cost_usd"].sum() == pytest.approx(ledger.total_cost)
    assert Ledger().summary().empty
    assert Ledger()  # empty but truthy


def test_save_and_load_round_trip(tmp_path):
    ledger = Ledger()
    ledger.record("assign", "openai", "gpt-4.1-mini", 4000, 50, False, 0.4, episode_id="e9")
    path = ledger.save(tmp_path / "out" / "ledger.jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["episode_id"] == "e9"
    again = Ledger.load(path)
    assert again.total_cost == pytest.approx(ledger.total_cost)
    assert len(again) == 1


def test_concurrent_records_are_all_kept():
    ledger = Ledger(PriceTable({"m": (1.0, 0.0)}, defaults=False))

    def work() -> None:
        for _ in range(500):
            ledger.record("s", "p", "m", 1000, 0, False, 0.0)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ledger) == 4000
    assert ledger.total_cost == pytest.approx(4000 * 1000 / 1e6)


def test_estimate_counts_cached_requests_as_free(tmp_path):
    provider = GeminiProvider("gemini-2.5-pro", base_url="http://localhost:1", api_key="k")
    cache = CallCache(tmp_path / "c.sqlite")
    frame_image = Image(b"not decodable -> default estimate")
    requests = [
        LLMRequest("x" * 400, images=(frame_image,), stage="reasons", extra=(("i", i),)) for i in range(3)
    ]
    requests.append(LLMRequest("y" * 4000, stage="clusters"))
    cache.put(CallCache.key(provider, requests[0]), LLMResponse("done"), provider.spec, "reasons")

    frame = estimate_requests(
        requests, provider, PriceTable(), {"reasons": 200, "default": 1000}, cache=cache
    ).set_index("stage")
    per_reason = PriceTable().cost("gemini-2.5-pro", 100 + 258, 200)
    assert frame.loc["reasons", "calls"] == 3
    assert frame.loc["reasons", "cached"] == 1
    assert frame.loc["reasons", "input_tokens"] == 2 * (100 + 258)
    assert frame.loc["reasons", "cost_usd"] == pytest.approx(2 * per_reason)
    assert frame.loc["clusters", "output_tokens"] == 1000
    assert frame.loc["clusters", "cost_usd"] == pytest.approx(PriceTable().cost("gemini-2.5-pro", 1000, 1000))
