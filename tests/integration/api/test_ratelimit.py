"""The per-key rate limit: the sliding window itself, and 429 + Retry-After through the app."""

from __future__ import annotations

import pytest

from api.ratelimit import RateLimiter
from tests.integration.api.conftest import ClientFactory, error_code, sign_up


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_the_limit_then_refuses_with_a_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    assert [limiter.hit("k") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("k")
    assert wait is not None and 1 <= wait <= 120
    assert limiter.hit("other") is None  # per key


def test_limiter_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock)
    for _ in range(10):
        assert limiter.hit("k") is None
    clock.now += 30  # still in the first window: full
    assert limiter.hit("k") is not None
    clock.now += 30  # next window: the previous 10 weigh 100% at its start
    assert limiter.hit("k") is not None
    clock.now += 30  # half-way: the previous 10 weigh 5, so 4 more fit
    assert [limiter.hit("k") for _ in range(5)][:4] == [None] * 4
    clock.now += 120  # two windows later nothing counts
    assert all(limiter.hit("k") is None for _ in range(10))


def test_retry_after_is_enough() -> None:
    clock = Clock()
    limiter = RateLimiter(5, clock)
    for _ in range(5):
        limiter.hit("k")
    wait = limiter.hit("k")
    assert wait is not None
    clock.now += wait
    assert limiter.hit("k") is None


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(0, Clock())
    assert all(limiter.hit("k") is None for _ in range(10_000))


@pytest.mark.asyncio
async def test_over_the_limit_is_429_with_retry_after(make_client: ClientFactory) -> None:
    async with make_client(RATE_LIMIT_PER_MINUTE="3") as client:
        _, headers = await sign_up(client)
        _, other = await sign_up(client)
        for _ in range(3):  # an invalid body still counts: the key was used
            assert (await client.post("/order", json={}, headers=headers)).status_code == 400
        response = await client.post("/order", json={}, headers=headers)
        assert response.status_code == 429
        assert error_code(response) == "RATE_LIMITED"
        assert int(response.headers["Retry-After"]) >= 1
        assert (await client.post("/order", json={}, headers=other)).status_code == 400
        public = await client.get("/markets")
        assert public.status_code == 200


@pytest.mark.asyncio
async def test_limit_zero_is_off(make_client: ClientFactory) -> None:
    async with make_client(RATE_LIMIT_PER_MINUTE="0") as client:
        _, headers = await sign_up(client)
        for _ in range(50):
            assert (await client.post("/order", json={}, headers=headers)).status_code == 400


@pytest.mark.asyncio
async def test_unknown_keys_are_401_not_429(make_client: ClientFactory) -> None:
    async with make_client(RATE_LIMIT_PER_MINUTE="1") as client:
        for _ in range(3):
            response = await client.get("/balances", headers={"Authorization": "Bearer nope"})
            assert response.status_code == 401
