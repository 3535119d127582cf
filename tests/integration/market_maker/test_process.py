"""``python -m market_maker`` as a process: a bad setting refuses to start; deposits switched off are said
clearly while it keeps running."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.market_maker.conftest import check_alive, depth, maker_env
from tests.support.services import ROOT, Exchange, running_exchange


@pytest.mark.parametrize(("name", "value"), [("MM_LEVELS", "many"), ("MM_START_PRICES", "TATA-INR=1.001"),
                                             ("MM_WALK", "sideways")])
def test_a_bad_setting_refuses_to_start_naming_it(name: str, value: str) -> None:
    done = subprocess.run([sys.executable, "-m", "market_maker"], cwd=ROOT, env={**os.environ, name: value},
                          capture_output=True, timeout=30)
    assert done.returncode == 2
    assert f"market_maker: refusing to start: {name}" in done.stderr.decode()


def test_a_bad_flag_refuses_to_start() -> None:
    done = subprocess.run([sys.executable, "-m", "market_maker", "--taker-rate", "-2"], cwd=ROOT,
                          capture_output=True, timeout=30)
    assert done.returncode == 2 and "--taker-rate" in done.stderr.decode()


@pytest.fixture
def no_deposits(tmp_path: Path) -> Iterator[Exchange]:
    with running_exchange(tmp_path, "test-mm", ALLOW_DEPOSIT="false") as running:
        yield running


def test_deposits_switched_off_are_logged_clearly_and_it_keeps_running(no_deposits: Exchange,
                                                                         tmp_path: Path) -> None:
    no_deposits.spawn("market_maker", ["--seed", "1"], maker_env(no_deposits, tmp_path))
    deadline = time.monotonic() + 30
    while "deposits are switched off on this exchange (403 FORBIDDEN)" not in no_deposits.log("market_maker"):
        assert time.monotonic() < deadline, no_deposits.log("market_maker")
        time.sleep(0.2)
    time.sleep(2)
    check_alive(no_deposits)  # it waits for funds rather than exiting (the launcher would restart-loop it)
    assert depth(no_deposits, "TATA-INR")["bids"] == []  # and quotes nothing it cannot pay for
