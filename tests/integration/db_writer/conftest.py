"""Fixtures for the DB writer tests: real Redis and PostgreSQL, a real ``python -m engine`` process.

Each test gets its own Redis namespace and its own database (created by the writer itself, as at a
first deployment, and dropped afterwards). Nothing is faked.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis

from shared.keys import Keys
from shared.markets import load_markets
from shared.wire import decode_reply, encode_request
from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace
from tests.support.services import PG_BASE, ROOT, admin_sql, module_command

MARKETS = ("TATA-INR", "RELIANCE-INR", "INFY-INR")


@pytest.fixture
def database_url() -> Iterator[str]:
    """A database name that does not exist yet (the writer creates it); dropped after the test."""
    name = f"mudra_dbw_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def namespace() -> Iterator[str]:
    name = new_namespace("test-dbw")
    try:
        yield name
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        delete_namespace(client, name)
        client.close()


@pytest.fixture
def keys(namespace: str) -> Keys:
    return Keys(namespace)


@pytest_asyncio.fixture
async def aredis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=None)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def service_env(namespace: str, database_url: str) -> dict[str, str]:
    """Environment of the engine and writer processes of this test."""
    return {**os.environ, "REDIS_URL": REDIS_URL, "DATABASE_URL": database_url, "MUDRA_NAMESPACE": namespace,
            # No snapshot during a test: the journal keeps every command, for replay_journal.
            "ENGINE_SNAPSHOT_SECONDS": "3600"}


class ServiceProcess:
    """A child process whose output goes to a file (shown when it misbehaves)."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(module_command(module), cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(module: str, env: dict[str, str]) -> ServiceProcess:
        process = ServiceProcess(module, env, tmp_path / f"{module}-{len(started)}.log")
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest_asyncio.fixture
async def engine(start_process: Callable[..., ServiceProcess], service_env: dict[str, str],
                 aredis: Redis, keys: Keys) -> ServiceProcess:
    """A ``python -m engine`` owning every market, ready."""
    process = start_process("engine", service_env)
    deadline = time.monotonic() + 30
    while not await aredis.exists(keys.shard_alive("all")):
        assert process.proc.poll() is None, process.log()
        assert time.monotonic() < deadline, process.log()
        await asyncio.sleep(0.05)
    return process


class Trader:
    """Sends requests to the engine as an API process does, and waits for their replies."""

    def __init__(self, redis: Redis, keys: Keys, seed: int = 1) -> None:
        self.redis = redis
        self.keys = keys
        self.reply_key = keys.replies(f"dbw-test-{uuid.uuid4().hex[:6]}")
        self.ids = itertools.count(1)
        self.rng = random.Random(seed)
        self.users = [f"user{i}" for i in range(5)]

    async def send(self, requests: list[tuple[str, dict[str, Any]]], timeout: float = 30) -> list[Any]:
        """Push the requests in one RPUSH; return their (status, body) replies in request order."""
        ids = [str(next(self.ids)) for _ in requests]
        await self.redis.rpush(self.keys.engine_in("all"), *(
            encode_request(rid, self.reply_key, op, **fields) for rid, (op, fields) in zip(ids, requests,
                                                                                          strict=True)))
        replies: dict[str, tuple[int, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(replies) < len(ids):
            assert time.monotonic() < deadline, f"{len(replies)}/{len(ids)} replies"
            popped = await self.redis.blpop([self.reply_key], timeout=1)
            if popped is not None:
                raw = popped[1]
                rid, status, body = decode_reply(raw if isinstance(raw, bytes) else raw.encode())
                replies[rid] = (status, orjson.loads(body))
        return [replies[rid] for rid in ids]

    async def fund(self) -> None:
        requests = [("deposit", {"user": u, "asset": a, "amount": amount}) for u in self.users
                    for a, amount in (("INR", 10**10), ("TATA", 10**5), ("RELIANCE", 10**5), ("INFY", 10**5))]
        assert all(status == 200 for status, _ in await self.send(requests))

    def random_request(self) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        user, market, side = rng.choice(self.users), rng.choice(MARKETS), rng.choice(["buy", "sell"])
        roll = rng.random()
        if roll < 0.8:
            return "place", {"user": user, "market": market, "side": side, "type": "limit",
                             "price": rng.randint(9_990, 10_010), "quantity": rng.randint(1, 5),
                             "tif": rng.choice(["GTC", "GTC", "GTC", "IOC"]), "postOnly": False,
                             "clientOrderId": None}
        if roll < 0.93:
            return "place", {"user": user, "market": market, "side": side, "type": "market", "price": None,
                             "quantity": rng.randint(1, 3), "tif": "GTC", "postOnly": False,
                             "clientOrderId": None}
        return "cancel_all", {"user": user, "market": rng.choice([None, market])}

    async def trade(self, n: int, per_push: int = 50) -> None:
        for start in range(0, n, per_push):
            await self.send([self.random_request() for _ in range(min(per_push, n - start))])

    async def balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Every user's balances as the engine holds them, in minor units."""
        assets = load_markets().assets
        result = {}
        for user, (status, body) in zip(self.users, await self.send(
                [("balances", {"user": u}) for u in self.users]), strict=True):
            assert status == 200
            for asset, values in body.items():
                scale = 10 ** assets[asset].decimals
                result[(user, asset)] = (int(Decimal(values["available"]) * scale),
                                         int(Decimal(values["locked"]) * scale))
        return result


@pytest.fixture
def trader(aredis: Redis, keys: Keys) -> Trader:
    return Trader(aredis, keys)

