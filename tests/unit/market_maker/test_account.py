"""market_maker/account.py: the state file, holdings in minor units, what to deposit."""

from __future__ import annotations

import stat
from pathlib import Path

from market_maker.account import StateFile, deposits_needed, minor, totals
from shared.markets import load_markets

ASSETS = load_markets().assets


def test_state_file_keeps_a_key_per_exchange_and_role(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "deep" / "mm.json")
    assert state.load("http://a/api/v1", "maker") is None
    state.save("http://a/api/v1", "maker", "u_1", "key-1")
    state.save("http://a/api/v1", "taker", "u_2", "key-2")
    state.save("http://b/api/v1", "maker", "u_3", "key-3")
    again = StateFile(tmp_path / "deep" / "mm.json")
    assert again.load("http://a/api/v1", "maker") == {"userId": "u_1", "apiKey": "key-1"}
    assert again.load("http://a/api/v1", "taker") == {"userId": "u_2", "apiKey": "key-2"}
    assert again.load("http://b/api/v1", "maker") == {"userId": "u_3", "apiKey": "key-3"}
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600  # it holds API keys
    assert [p.name for p in state.path.parent.iterdir()] == ["mm.json"]  # no temporary file left


def test_an_unreadable_state_file_means_new_accounts(tmp_path: Path) -> None:
    path = tmp_path / "mm.json"
    path.write_text("{not json")
    state = StateFile(path)
    assert state.load("http://a/api/v1", "maker") is None
    state.save("http://a/api/v1", "maker", "u_1", "k")
    assert state.load("http://a/api/v1", "maker") == {"userId": "u_1", "apiKey": "k"}


def test_totals_are_exact_minor_units() -> None:
    balances = {"INR": {"available": "99000.05", "locked": "1000.00"},
                "TATA": {"available": "0", "locked": "7"}}
    held = totals(balances, ASSETS)
    assert held == {"INR": 10_000_005, "TATA": 7, "RELIANCE": 0, "INFY": 0}
    assert minor("0.00", ASSETS["INR"]) == 0


def test_deposits_needed_tops_up_below_the_threshold_only() -> None:
    targets = {"INR": 1_000, "TATA": 100}
    assert deposits_needed(targets, {}, 100) == {"INR": 1_000, "TATA": 100}
    assert deposits_needed(targets, {"INR": 999, "TATA": 100}, 100) == {"INR": 1}
    assert deposits_needed(targets, {"INR": 300, "TATA": 24}, 25) == {"TATA": 76}
    assert deposits_needed(targets, {"INR": 0, "TATA": 0}, 0) == {}
