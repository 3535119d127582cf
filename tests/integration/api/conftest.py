"""Fixtures for the API tests: a fresh PostgreSQL database per run, a Redis namespace per test, the app
in-process (httpx + ASGITransport, lifespan run by hand) and, for the end-to-end tests, a real
``python -m engine`` process. Real Redis and PostgreSQL only: nothing is faked.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis as AsyncRedis

from api.config import load_config
from api.main import create_app
from api.redis_values import to_bytes
from shared.keys import Keys
from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace
from tests.support.services import PG_BASE, admin_sql, fresh_database, module_command

__all__ = ["PG_BASE", "ROOT", "module_command"]  # the API tests import these from here

ROOT = Path(__file__).resolve().parents[3]
BASE_URL = "http://test/api/v1"

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"mudra_test_{uuid.uuid4().hex[:12]}"
    admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of the test's own (history tables would otherwise mix between tests): a test module
    that needs one defines ``database_url`` as ``own_database``."""
    with fresh_database() as url:
        yield url


@pytest_asyncio.fixture
async def aredis() -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(REDIS_URL, socket_timeout=None)
    try:
        yield client
    finally:
        await client.aclose()


async def post_ok(client: httpx.AsyncClient, path: str, headers: dict[str, str], **body: object) -> Any:
    """POST a JSON body that must be accepted (200 or 201); its decoded answer."""
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def sync_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def namespace(sync_redis: redis.Redis) -> Iterator[str]:
    name = new_namespace("test-api")
    try:
        yield name
    finally:
        delete_namespace(sync_redis, name)


@pytest.fixture
def keys(namespace: str) -> Keys:
    return Keys(namespace)


@pytest.fixture
def api_env(namespace: str, database_url: str) -> dict[str, str]:
    """The environment of an API (and engine) for this test; tests add or override settings."""
    return {"REDIS_URL": REDIS_URL, "DATABASE_URL": database_url, "MUDRA_NAMESPACE": namespace}


@pytest.fixture(params=["fast-path", "fastapi"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    """Every test of a client runs twice: POST/DELETE /order by api/fast_path.py, then by FastAPI."""
    return bool(request.param == "fast-path")


@asynccontextmanager
async def running_client(env: dict[str, str], fast_path: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a fresh app built from ``env`` (its lifespan opened and closed around)."""
    app = create_app(load_config(env))
    app.fast_path = fast_path
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def make_client(api_env: dict[str, str], fast_path: bool) -> ClientFactory:
    """``async with make_client(ALLOW_SIGNUP="false") as client``: an app with extra settings."""

    def factory(**overrides: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return running_client({**api_env, **overrides}, fast_path)

    return factory


@pytest_asyncio.fixture
async def client(api_env: dict[str, str], fast_path: bool) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(api_env, fast_path) as c:
        yield c


async def sign_up(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A new user: (user id, headers carrying its API key)."""
    response = await client.post("/users")
    assert response.status_code == 201, response.text
    body = response.json()
    return body["userId"], {"Authorization": f"Bearer {body['apiKey']}"}


def error_code(response: httpx.Response) -> str:
    """The envelope's code (and a check that the body is exactly the contract's envelope)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    code: str = body["error"]["code"]
    return code


# ------------------------------------------------------------------ engine processes


class EngineProcess:
    """A ``python -m engine`` child process; its stderr goes to a file shown when it misbehaves."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(module_command("engine"), cwd=ROOT, env={**os.environ, **env},
                                     stdout=subprocess.DEVNULL, stderr=self._log)

    def wait_ready(self, client: redis.Redis, keys: Keys, markets: list[str], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"engine exited with {self.proc.returncode}: {self.log()}")
            owners = [to_bytes(o).decode() for o in client.hmget(keys.shards(), markets) if o]
            if len(owners) == len(markets) and all(client.exists(keys.shard_alive(o)) for o in owners):
                return
            time.sleep(0.05)
        raise AssertionError(f"engine not ready after {timeout} s: {self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]


@pytest.fixture
def start_engine(api_env: dict[str, str], sync_redis: redis.Redis, keys: Keys,
                 tmp_path: Path) -> Iterator[Callable[..., EngineProcess]]:
    """``start_engine(ENGINE_MARKETS="TATA-INR")``: a running engine shard, stopped after the test."""
    started: list[EngineProcess] = []

    def start(**overrides: str) -> EngineProcess:
        env = {**api_env, **overrides}
        engine = EngineProcess(env, tmp_path / f"engine-{len(started)}.log")
        started.append(engine)
        owned = env.get("ENGINE_MARKETS")
        markets = owned.split(",") if owned else list(load_config(env).common.markets.markets)
        engine.wait_ready(sync_redis, keys, markets)
        return engine

    try:
        yield start
    finally:
        for engine in started:
            engine.stop()


@pytest.fixture
def engine(start_engine: Callable[..., EngineProcess]) -> EngineProcess:
    """One engine shard owning every market (the default deployment)."""
    return start_engine()


def json_of(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()
