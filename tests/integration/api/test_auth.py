"""Sign-up, API keys and the switches that turn sign-up and deposits off."""

from __future__ import annotations

import hashlib
import re

import asyncpg
import httpx
import pytest

from tests.integration.api.conftest import ClientFactory, error_code, sign_up


@pytest.mark.asyncio
async def test_sign_up_answers_201_with_user_and_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/users")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"userId", "apiKey"}
    assert re.fullmatch(r"u_[0-9a-f]{16}", body["userId"])
    assert len(body["apiKey"]) >= 40
    again = (await client.post("/users", json={})).json()
    assert again["userId"] != body["userId"] and again["apiKey"] != body["apiKey"]


@pytest.mark.asyncio
async def test_sign_up_refuses_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json={"name": "alice"})
    assert response.status_code == 400
    assert error_code(response) == "INVALID_REQUEST"


@pytest.mark.asyncio
async def test_only_the_hash_of_a_key_is_stored(client: httpx.AsyncClient, database_url: str) -> None:
    body = (await client.post("/users")).json()
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT key_hash FROM api_keys WHERE user_id = $1", body["userId"])
    finally:
        await conn.close()
    assert [bytes(row["key_hash"]) for row in rows] == [hashlib.sha256(body["apiKey"].encode()).digest()]


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "nonsense"},
])
async def test_private_endpoints_need_a_known_key(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/balances"), ("POST", "/deposit"), ("POST", "/order"),
                         ("GET", "/order/TATA-INR-1"), ("DELETE", "/order/TATA-INR-1"), ("GET", "/orders"),
                         ("DELETE", "/orders")]:
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert error_code(response) == "UNAUTHORIZED"


@pytest.mark.asyncio
async def test_auth_comes_before_body_validation(client: httpx.AsyncClient) -> None:
    response = await client.post("/order", content=b"{broken", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_a_key_works_in_another_api_process(make_client: ClientFactory) -> None:
    """A key made by one API process is found (in PostgreSQL) by another one that never cached it."""
    async with make_client() as first:
        _, headers = await sign_up(first)
    async with make_client() as second:
        response = await second.post("/order", json={}, headers=headers)
    assert response.status_code == 400  # authenticated: the (empty) body is what is wrong


@pytest.mark.asyncio
async def test_sign_up_switched_off_is_forbidden(make_client: ClientFactory) -> None:
    async with make_client(ALLOW_SIGNUP="false") as client:
        response = await client.post("/users")
    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"


@pytest.mark.asyncio
async def test_deposit_switched_off_is_forbidden(make_client: ClientFactory) -> None:
    async with make_client() as client:
        _, headers = await sign_up(client)
    async with make_client(ALLOW_DEPOSIT="false") as client:
        response = await client.post("/deposit", json={"asset": "INR", "amount": "100"}, headers=headers)
        assert response.status_code == 403
        assert error_code(response) == "FORBIDDEN"
        anonymous = await client.post("/deposit", json={"asset": "INR", "amount": "100"})
        assert anonymous.status_code == 401
