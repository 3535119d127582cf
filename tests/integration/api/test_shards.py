"""Two engine shards with disjoint assets: requests routed by market/asset, lists and balances merged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.integration.api.conftest import ClientFactory, EngineProcess, json_of, sign_up

MARKETS = {
    "assets": {"INR": {"decimals": 2}, "TATA": {"decimals": 0}, "USD": {"decimals": 2},
               "BTC": {"decimals": 8}},
    "markets": [
        {"symbol": "TATA-INR", "base": "TATA", "quote": "INR", "tickSize": "0.01", "lotSize": "1",
         "minQuantity": "1"},
        {"symbol": "BTC-USD", "base": "BTC", "quote": "USD", "tickSize": "1", "lotSize": "0.01",
         "minQuantity": "0.01"},
    ],
}


@pytest.mark.asyncio
async def test_two_shards_are_one_exchange(make_client: ClientFactory,
                                           start_engine: Callable[..., EngineProcess],
                                           tmp_path: Path) -> None:
    markets_file = tmp_path / "markets.json"
    markets_file.write_bytes(orjson.dumps(MARKETS))
    start_engine(MUDRA_MARKETS=str(markets_file), ENGINE_MARKETS="TATA-INR")
    start_engine(MUDRA_MARKETS=str(markets_file), ENGINE_MARKETS="BTC-USD")
    async with make_client(MUDRA_MARKETS=str(markets_file)) as client:
        assert json_of(await client.get("/health")) == {"status": "ok", "engine": "up"}
        _, alice = await sign_up(client)
        after_usd = json_of(await client.post("/deposit", json={"asset": "USD", "amount": "5000.5"},
                                              headers=alice))
        assert after_usd["USD"] == {"available": "5000.50", "locked": "0.00"}
        after_inr = json_of(await client.post("/deposit", json={"asset": "INR", "amount": "1000"},
                                              headers=alice))
        assert after_inr == {
            "INR": {"available": "1000.00", "locked": "0.00"}, "TATA": {"available": "0", "locked": "0"},
            "USD": {"available": "5000.50", "locked": "0.00"},
            "BTC": {"available": "0.00000000", "locked": "0.00000000"}}

        btc = await client.post("/order", headers=alice, json={
            "market": "BTC-USD", "kind": "buy", "type": "limit", "price": "20000", "quantity": "0.1"})
        assert btc.status_code == 201, btc.text
        tata = await client.post("/order", headers=alice, json={
            "market": "TATA-INR", "kind": "buy", "type": "limit", "price": "10", "quantity": "3"})
        assert tata.status_code == 201, tata.text
        assert json_of(await client.get("/balances", headers=alice)) == {
            "INR": {"available": "970.00", "locked": "30.00"}, "TATA": {"available": "0", "locked": "0"},
            "USD": {"available": "3000.50", "locked": "2000.00"},
            "BTC": {"available": "0.00000000", "locked": "0.00000000"}}

        listed = json_of(await client.get("/orders", headers=alice))
        assert [o["orderId"] for o in listed] == [btc.json()["orderId"], tata.json()["orderId"]]
        only_tata = json_of(await client.get("/orders", params={"market": "TATA-INR"}, headers=alice))
        assert [o["orderId"] for o in only_tata] == [tata.json()["orderId"]]
        cancelled = json_of(await client.delete("/orders", headers=alice))
        assert {o["orderId"] for o in cancelled} == {btc.json()["orderId"], tata.json()["orderId"]}
        assert json_of(await client.get("/orders", headers=alice)) == []
        got = json_of(await client.get(f"/order/{btc.json()['orderId']}", headers=alice))
        assert got["fillStatus"] == "cancelled" and got["market"] == "BTC-USD"
