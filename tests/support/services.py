"""Run the exchange's services as real processes for end-to-end tests (engine, API, WebSocket server)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("TEST_DATABASE_BASE", "postgresql://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def module_command(module: str) -> list[str]:
    """``python -m <module>``; under MUDRA_TEST_PURE=1 on the pure-Python source of the compiled modules."""
    if os.environ.get("MUDRA_TEST_PURE") == "1":
        return [sys.executable, "-c", "from tests.support.pure_build import use_pure_sources; "
                f"use_pure_sources(); import runpy; runpy.run_module({module!r}, run_name='__main__')"]
    return [sys.executable, "-m", module]


def admin_sql(sql: str) -> None:
    """Run one statement on the ``postgres`` database, in an event loop of its own (not a test's loop)."""

    async def run() -> None:
        conn = await asyncpg.connect(f"{PG_BASE}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"mudra_e2e_{uuid.uuid4().hex[:12]}"
    admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Exchange:
    """engine + api + ws as child processes sharing one namespace and database."""

    def __init__(self, namespace: str, database_url: str, log_dir: Path) -> None:
        self.api_port = free_port()
        self.ws_port = free_port()
        self.env = {**os.environ, "REDIS_URL": REDIS_URL, "DATABASE_URL": database_url,
                    "MUDRA_NAMESPACE": namespace, "API_PORT": str(self.api_port),
                    "WS_PORT": str(self.ws_port), "RATE_LIMIT_PER_MINUTE": "0"}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[Any] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/"

    def start(self) -> None:
        for service in ("engine", "api", "ws"):
            self.spawn(service)
        self._wait_ready()

    def spawn(self, service: str, args: list[str] | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``python -m <service> [args]`` with the exchange's environment (plus ``env``), logging to
        ``<log_dir>/<service>.log`` (appended, so a restarted service keeps its earlier lines)."""
        log = (self.log_dir / f"{service}.log").open("ab")
        self._logs.append(log)
        self.procs[service] = subprocess.Popen([*module_command(service), *(args or [])], cwd=ROOT,
                                               env={**self.env, **(env or {})}, stdout=log,
                                               stderr=subprocess.STDOUT)
        return self.procs[service]

    def kill(self, service: str) -> None:
        """kill -9 one service and wait for it to be gone."""
        proc = self.procs[service]
        proc.kill()
        proc.wait(10)

    def restart(self, service: str) -> None:
        """Start a killed engine, api or ws again with the same environment; wait until all are ready."""
        assert self.procs[service].poll() is not None, f"{service} is still running"
        self.spawn(service)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited {proc.returncode}: {self.log(name)}")
            try:
                healthy = httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200
                with socket.create_connection(("127.0.0.1", self.ws_port), timeout=1):
                    pass
                if healthy:
                    return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"services not ready: {[self.log(n) for n in self.procs]}")

    def log(self, service: str) -> str:
        return (self.log_dir / f"{service}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        extras = [proc for name, proc in self.procs.items() if name not in ("engine", "api", "ws")]
        for proc in extras:  # services started with spawn() first, while the exchange still answers
            if proc.poll() is None:
                proc.terminate()
        for proc in extras:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in self._logs:
            log.close()


@contextmanager
def running_exchange(log_dir: Path, namespace_prefix: str, **env: str) -> Iterator[Exchange]:
    """engine + api + ws started in a fresh namespace and database (``env`` added to theirs), then
    stopped, the namespace's keys deleted and the database dropped."""
    client = redis.Redis.from_url(REDIS_URL)
    namespace = new_namespace(namespace_prefix)
    try:
        with fresh_database() as database_url:
            running = Exchange(namespace, database_url, log_dir)
            running.env.update(env)
            try:
                running.start()
                yield running
            finally:
                running.stop()
    finally:
        delete_namespace(client, namespace)
        client.close()
