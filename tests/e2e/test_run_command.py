"""The README's run command end to end: ``python -m launcher`` (what ``make run`` execs) as a real process.

It must become healthy, show trades and candles from the market maker's taker flow within 30 s, restart
a service that dies, and on SIGINT stop every child and exit 0. Redis and PostgreSQL come from
REDIS_URL/DATABASE_URL (a fresh namespace and database per test); ports are free ones.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from launcher.infra import find_postgres_bin, find_redis_server
from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace
from tests.support.services import ROOT, free_port, fresh_database

MARKETS = ("TATA-INR", "RELIANCE-INR", "INFY-INR")
STARTED = re.compile(r"^launcher\s+\| (\w+) started \(pid (\d+)\)$")
RUNNING = "E-Mudra-Bajar is running"


class Launched:
    """``python -m launcher`` with its output collected line by line (and echoed on failure)."""

    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        self.api_port = int(env["API_PORT"])
        self.ws_port = int(env["WS_PORT"])
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen([sys.executable, "-m", "launcher", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_line(self, predicate: Callable[[str], bool], timeout: float, start: int = 0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no such line within {timeout} s; output:\n{self.tail()}")
                self._changed.wait(min(remaining, 0.5))

    def pids(self) -> dict[str, int]:
        """The latest pid of each service, from the launcher's ``<name> started (pid N)`` lines."""
        found = {}
        for line in list(self.lines):
            if match := STARTED.match(line):
                found[match[1]] = int(match[2])
        return found

    def tail(self, count: int = 80) -> str:
        return "\n".join(self.lines[-count:])

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._reader.join(5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Launched]]:
    client = redis.Redis.from_url(REDIS_URL)
    namespace = new_namespace("test-run")
    running: list[Launched] = []
    with fresh_database() as database_url:
        env = {**os.environ, "REDIS_URL": REDIS_URL, "DATABASE_URL": database_url,
               "MUDRA_NAMESPACE": namespace, "API_PORT": str(free_port()), "WS_PORT": str(free_port()),
               "MUDRA_DATA_DIR": str(tmp_path), "NO_COLOR": "1"}

        def start(*args: str, **changes: str | None) -> Launched:
            """Start the launcher with ``args``; ``NAME=None`` removes a variable, ``NAME="v"`` sets it."""
            child_env = {**env, **changes}
            launched = Launched({k: v for k, v in child_env.items() if v is not None}, list(args))
            running.append(launched)
            launched.wait_line(lambda line: RUNNING in line, timeout=120)
            return launched

        try:
            yield start
        finally:
            for launched in running:
                launched.stop()
            delete_namespace(client, namespace)
            client.close()


def _gone(pid: int) -> bool:
    """True when neither the process nor anything in its process group is left."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _non_empty(url: str, deadline: float) -> list[dict[str, object]]:
    while True:
        for market in MARKETS:
            response = httpx.get(url.format(market=market), timeout=5)
            if response.status_code == 200 and response.json():
                return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing from {url} in time")
        time.sleep(0.5)


def test_run_command_shows_trades_and_candles_then_stops_every_child(launch):
    # Needs market_maker/__main__.py (its taker makes the trades); without it the launcher skips the
    # market maker and this test fails on the missing trades, which is the point.
    launched = launch()
    assert httpx.get(f"{launched.api}/health", timeout=5).status_code == 200
    pids = launched.pids()
    assert {"engine", "api", "ws", "db_writer", "market_maker"} <= set(pids), launched.tail()
    deadline = time.monotonic() + 30
    trades = _non_empty(f"{launched.api}/trades?market={{market}}", deadline)
    candles = _non_empty(f"{launched.api}/klines?market={{market}}&interval=1s", deadline)
    assert trades[0]["tradeId"] and int(candles[-1]["trades"]) >= 1

    assert launched.stop() == 0, launched.tail()
    assert [name for name, pid in pids.items() if not _gone(pid)] == []
    assert launched.lines[-1].endswith("all services stopped")


def test_a_killed_service_is_restarted(launch):
    launched = launch("--no-market-maker")
    old = launched.pids()["ws"]
    mark = len(launched.lines)
    os.kill(old, signal.SIGKILL)
    launched.wait_line(lambda line: "ws was killed by SIGKILL" in line and "restarting in" in line, 10, mark)
    launched.wait_line(lambda line: bool((m := STARTED.match(line)) and m[1] == "ws" and int(m[2]) != old),
                       15, mark)
    deadline = time.monotonic() + 15
    while not _accepts(launched.ws_port):
        assert time.monotonic() < deadline, f"the restarted ws does not listen:\n{launched.tail()}"
        time.sleep(0.2)
    assert launched.pids()["ws"] != old
    assert launched.stop() == 0, launched.tail()
    assert all(_gone(pid) for pid in launched.pids().values())


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A data folder the ``postgres`` user can enter (pytest's own tmp folders are 0700 when run as root)."""
    path = Path(tempfile.mkdtemp(prefix="mudra-private-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_private_redis_and_postgres_when_none_is_given(launch, reachable_dir):
    if not (find_redis_server(os.environ.get("PATH")) and find_postgres_bin(os.environ.get("PATH"))):
        if os.environ.get("CI"):
            pytest.fail("CI must have redis-server and PostgreSQL's initdb/postgres installed")
        pytest.skip("redis-server or PostgreSQL server binaries not installed")
    launched = launch("--private", "--no-market-maker", REDIS_URL=None, DATABASE_URL=None,
                      MUDRA_DATA_DIR=str(reachable_dir))
    assert httpx.get(f"{launched.api}/health", timeout=5).status_code == 200
    assert httpx.post(f"{launched.api}/users", timeout=5).status_code == 201  # PostgreSQL works
    text = "\n".join(launched.lines)
    assert "Redis     redis://127.0.0.1:" in text and f"private, data in {reachable_dir}/redis" in text
    assert f"private, data in {reachable_dir}/postgres" in text
    pids = launched.pids()
    assert {"redis", "postgres"} <= set(pids)
    assert launched.stop() == 0, launched.tail()
    assert all(_gone(pid) for pid in pids.values())
    assert (reachable_dir / "postgres" / "PG_VERSION").exists()
    assert any((reachable_dir / "redis" / "appendonlydir").iterdir())  # the AOF
