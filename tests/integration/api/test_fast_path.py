"""api/fast_path.py answers POST/DELETE /order exactly as the FastAPI routes do.

Two apps on the same namespace, database and engine, one with the fast path and one without, get the
same requests; every error answer must be byte-identical (status, body, the headers a client reads),
and successful ones the same shape. The rest of the API suite also runs on both (conftest ``fast_path``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from tests.integration.api.conftest import EngineProcess, running_client, sign_up

LIMIT = {"market": "TATA-INR", "kind": "buy", "type": "limit", "price": "101.50", "quantity": "10"}
HEADERS_READ = ("content-type", "retry-after", "www-authenticate", "location")


@pytest_asyncio.fixture
async def pair(api_env: dict[str, str],
               engine: EngineProcess) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    async with running_client(api_env, True) as fast, running_client(api_env, False) as slow:
        yield fast, slow


def answer(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    return (response.status_code, response.content,
            {name: response.headers[name] for name in HEADERS_READ if name in response.headers})


async def both(pair: tuple[httpx.AsyncClient, ...], method: str, path: str, **kwargs: Any) -> list[Any]:
    return [answer(await client.request(method, path, **kwargs)) for client in pair]


def requests(key: str) -> list[tuple[str, str, dict[str, Any]]]:
    auth = {"Authorization": f"Bearer {key}"}
    body = orjson.dumps(LIMIT)
    return [
        ("POST", "/order", {"content": body}),
        ("POST", "/order", {"content": body, "headers": {"Authorization": "Basic abc"}}),
        ("POST", "/order", {"content": body, "headers": {"Authorization": "Bearer "}}),
        ("POST", "/order", {"content": body, "headers": {"Authorization": "bearer not-a-key"}}),
        ("POST", "/order", {"content": b"", "headers": auth}),
        ("POST", "/order", {"content": b"[1]", "headers": auth}),
        ("POST", "/order", {"content": b"\xff", "headers": auth}),
        ("POST", "/order", {"content": b'{"a": 1, "a": 2}', "headers": auth}),
        ("POST", "/order", {"content": b"x" * 70_000, "headers": auth}),
        ("POST", "/order", {"content": body, "headers": {**auth, "Content-Type": "text/plain"}}),
        ("POST", "/order", {"content": body, "headers": {**auth, "Content-Type": "multipart/form-data"}}),
        ("POST", "/order", {"content": orjson.dumps({**LIMIT, "market": "NOPE-INR"}), "headers": auth}),
        ("POST", "/order", {"content": orjson.dumps({**LIMIT, "price": "1.001"}), "headers": auth}),
        ("POST", "/order", {"content": orjson.dumps({**LIMIT, "extra": 1}), "headers": auth}),
        ("POST", "/order", {"content": body, "headers": auth}),  # INSUFFICIENT_BALANCE from the engine
        ("POST", "/order/", {"content": body, "headers": auth}),
        ("DELETE", "/order/TATA-INR-999999", {"headers": auth}),
        ("DELETE", "/order/NOPE-1", {"headers": auth}),
        ("DELETE", "/order/garbage", {"headers": auth}),
        ("DELETE", "/order/TATA-INR-1/x", {"headers": auth}),
        ("DELETE", "/order/", {"headers": auth}),
        ("DELETE", "/order/TATA-INR-1", {}),
        ("PUT", "/order", {"content": body, "headers": auth}),
    ]


@pytest.mark.asyncio
async def test_every_error_is_identical_on_both_paths(pair: tuple[httpx.AsyncClient, ...]) -> None:
    _, headers = await sign_up(pair[0])
    key = headers["Authorization"].removeprefix("Bearer ")
    for method, path, kwargs in requests(key):
        fast, slow = await both(pair, method, path, **kwargs)
        assert fast == slow, (method, path, kwargs.get("headers"))
        assert fast[0] >= 300, (method, path)  # all refusals (or FastAPI's trailing-slash redirect)


@pytest.mark.asyncio
async def test_place_and_cancel_answer_the_same_shape(pair: tuple[httpx.AsyncClient, ...]) -> None:
    _, headers = await sign_up(pair[0])
    assert (await pair[0].post("/deposit", headers=headers, json={"asset": "INR", "amount": "10000"})
            ).status_code == 200
    placed = [await client.post("/order", headers=headers, json=LIMIT) for client in pair]
    assert [r.status_code for r in placed] == [201, 201]
    orders = [r.json() for r in placed]
    assert orders[0]["orderId"] != orders[1]["orderId"]
    strip = ("orderId", "createdAt", "updatedAt")
    assert [{k: v for k, v in o.items() if k not in strip} for o in orders] == \
        [{k: v for k, v in orders[0].items() if k not in strip}] * 2
    # Each app cancels the order the other placed: one state, two doors.
    cancelled = [await client.delete(f"/order/{orders[1 - i]['orderId']}", headers=headers)
                 for i, client in enumerate(pair)]
    assert [r.status_code for r in cancelled] == [200, 200]
    assert {r.json()["fillStatus"] for r in cancelled} == {"cancelled"}
    again = await both(pair, "DELETE", f"/order/{orders[0]['orderId']}", headers=headers)
    assert again[0] == again[1] and again[0][0] == 409


@pytest.mark.asyncio
async def test_rate_limit_is_identical_on_both_paths(api_env: dict[str, str], engine: EngineProcess) -> None:
    env = {**api_env, "RATE_LIMIT_PER_MINUTE": "1"}
    async with running_client(env, True) as fast, running_client(env, False) as slow:
        for client in (fast, slow):
            _, headers = await sign_up(client)
            first = await client.delete("/order/TATA-INR-5", headers=headers)
            second = await client.delete("/order/TATA-INR-5", headers=headers)
            assert first.status_code == 404
            assert second.status_code == 429 and second.headers["retry-after"].isdigit()
            assert second.json()["error"]["code"] == "RATE_LIMITED"
