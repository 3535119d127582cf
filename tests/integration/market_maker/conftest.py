"""The exchange (engine, api, ws) as processes, and ``python -m market_maker`` run against it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.services import Exchange, running_exchange

MARKETS = ("TATA-INR", "RELIANCE-INR", "INFY-INR")


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
    with running_exchange(tmp_path, "test-mm") as running:
        yield running


def maker_env(exchange: Exchange, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"MM_API_URL": exchange.api_url, "MM_WS_URL": exchange.ws_url,
            "MM_STATE_FILE": str(tmp_path / "mm-state.json"), **extra}


def maker_key(tmp_path: Path, exchange: Exchange, role: str = "maker", timeout: float = 30) -> dict[str, str]:
    """The account the market maker keeps in its state file (waits for the sign-up)."""
    deadline = time.monotonic() + timeout
    path = tmp_path / "mm-state.json"
    while time.monotonic() < deadline:
        if path.exists():
            entry = orjson.loads(path.read_bytes())["accounts"].get(exchange.api_url, {}).get(role)
            if entry:
                return dict(entry)
        check_alive(exchange)
        time.sleep(0.1)
    raise AssertionError(f"no {role} account in the state file: {exchange.log('market_maker')}")


def check_alive(exchange: Exchange) -> None:
    proc = exchange.procs["market_maker"]
    assert proc.poll() is None, f"market_maker exited {proc.returncode}: {exchange.log('market_maker')}"


def depth(exchange: Exchange, market: str) -> dict[str, Any]:
    response = httpx.get(f"{exchange.api_url}/depth", params={"market": market, "limit": "100"}, timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_quoted(exchange: Exchange, levels: int, timeout: float = 30) -> None:
    """Until every market shows ``levels`` levels on each side."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive(exchange)
        books = [depth(exchange, market) for market in MARKETS]
        if all(len(book["bids"]) >= levels and len(book["asks"]) >= levels for book in books):
            return
        time.sleep(0.2)
    raise AssertionError(f"the market maker did not quote {levels} levels: {exchange.log('market_maker')}")


def open_orders(exchange: Exchange, api_key: str) -> list[dict[str, Any]] | None:
    """The account's open orders, or None while the exchange cannot answer."""
    try:
        response = httpx.get(f"{exchange.api_url}/orders", headers={"Authorization": f"Bearer {api_key}"},
                             timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code == 503:
        return None
    assert response.status_code == 200, response.text
    return list(response.json())
