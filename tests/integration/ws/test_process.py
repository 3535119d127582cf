"""``python -m ws`` as a process: it serves, stops cleanly on SIGTERM, and refuses a bad configuration."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.integration.ws.conftest import REDIS_URL, ClientFactory, free_port
from tests.integration.ws.engine_double import EngineDouble

ROOT = Path(__file__).resolve().parents[3]
# Under MUDRA_TEST_PURE=1 the child loads the pure-Python sources too, like the test process does.
_PURE_MAIN = ("from tests.support.pure_build import use_pure_sources; use_pure_sources(); "
              "import runpy; runpy.run_module('ws', run_name='__main__', alter_sys=True)")


def ws_command() -> list[str]:
    if os.environ.get("MUDRA_TEST_PURE") == "1":
        return [sys.executable, "-c", _PURE_MAIN]
    return [sys.executable, "-m", "ws"]


def ws_env(**overrides: str) -> dict[str, str]:
    own = ("WS_", "MUDRA_NAMESPACE", "MUDRA_MARKETS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update({"REDIS_URL": REDIS_URL, "PYTHONUNBUFFERED": "1", **overrides})
    return env


def run_refused(**overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ws_command(), cwd=ROOT, env=ws_env(**overrides), capture_output=True, text=True,
                          timeout=60)


async def wait_healthy(port: int, process: asyncio.subprocess.Process, timeout: float = 30.0) -> None:
    """Poll GET /health until 200 (listening and subscribed to Redis)."""
    async with asyncio.timeout(timeout):
        while True:
            assert process.returncode is None, "python -m ws exited early"
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            status = await reader.readline()
            writer.close()
            await writer.wait_closed()
            if status.startswith(b"HTTP/1.1 200"):
                return
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_python_m_ws_serves_then_stops_on_sigterm(namespace: str, database_url: str,
                                                        engine: EngineDouble,
                                                        client_factory: ClientFactory) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *ws_command(), cwd=ROOT, env=ws_env(WS_PORT=str(port), MUDRA_NAMESPACE=namespace,
                                            DATABASE_URL=database_url),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_healthy(port, process)
        client = await client_factory(port, "/ws")
        await client.subscribe("trade@TATA-INR")
        trade = await engine.trade("TATA-INR")
        assert await client.recv() == orjson.loads(trade)
        assert (await client.request("SUBSCRIBE", ["orders"]))["error"]["code"] == "UNAUTHORIZED"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        assert b"ws listening on 127.0.0.1:%d" % port in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


@pytest.mark.parametrize(("variable", "value"), [
    ("WS_PORT", "abc"), ("WS_PORT", "99999"), ("WS_CLIENT_QUEUE", "-3"), ("WS_PING_TIMEOUT", "never"),
    ("REDIS_URL", "nonsense"),
])
def test_bad_configuration_refused_naming_the_variable(variable: str, value: str) -> None:
    result = run_refused(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_markets_file_refused(tmp_path: Path) -> None:
    bad = tmp_path / "markets.json"
    bad.write_text('{"assets": {"INR": {"decimals": 2}}, "markets": [{"symbol": "TATA-INR", "base": "TATA",'
                   ' "quote": "INR", "tickSize": "0.01", "lotSize": "1", "minQuantity": "1"}]}')
    result = run_refused(MUDRA_MARKETS=str(bad))
    assert result.returncode != 0
    assert "MUDRA_MARKETS" in result.stderr and "TATA" in result.stderr


def test_port_in_use_refused(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_refused(WS_PORT=str(port), DATABASE_URL=database_url)
    assert result.returncode == 1
    assert f"WS_PORT={port}" in result.stderr


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.asyncio
async def test_workers_share_the_port_each_serving_whole_connections(
        namespace: str, database_url: str, engine: EngineDouble, client_factory: ClientFactory) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *ws_command(), cwd=ROOT, env=ws_env(WS_PORT=str(port), MUDRA_NAMESPACE=namespace,
                                            DATABASE_URL=database_url, WS_WORKERS="2"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_healthy(port, process)
        workers = children_of(process.pid)
        assert len(workers) == 2
        clients = [await client_factory(port) for _ in range(16)]
        for client in clients:
            await client.subscribe("trade@TATA-INR")
        await asyncio.sleep(0.2)  # both workers' feeds are subscribed (health answered by one of them)
        trade = await engine.trade("TATA-INR")
        for client in clients:
            assert await client.recv() == orjson.loads(trade)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        assert stderr.count(b"ws listening on 127.0.0.1:%d" % port) == 2
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


def test_workers_refused_the_port_stop_with_status_1(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_refused(WS_PORT=str(port), DATABASE_URL=database_url, WS_WORKERS="2")
    assert result.returncode == 1
    assert f"WS_PORT={port}" in result.stderr
