"""market_maker/client.py: how replies map to results and errors, and the backoff schedule."""

from __future__ import annotations

import random

import httpx
import pytest

from market_maker.client import ApiError, Backoff, Unavailable, _decode


def reply(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers)


def test_success_is_the_decoded_body() -> None:
    assert _decode("GET", "/orders", reply(200, b'[{"price": "100.10"}]')) == [{"price": "100.10"}]


def test_definitive_refusals_are_api_errors_with_the_envelope() -> None:
    body = b'{"error": {"code": "DUPLICATE_CLIENT_ORDER_ID", "message": "used", "orderId": "TATA-INR-7"}}'
    with pytest.raises(ApiError) as caught:
        _decode("POST", "/order", reply(409, body))
    assert (caught.value.status, caught.value.code, caught.value.body["orderId"]) == (
        409, "DUPLICATE_CLIENT_ORDER_ID", "TATA-INR-7")
    with pytest.raises(ApiError, match="401 UNAUTHORIZED"):
        _decode("GET", "/balances", reply(401, b'{"error": {"code": "UNAUTHORIZED", "message": "no"}}'))


@pytest.mark.parametrize(("status", "body", "headers", "retry_after"), [
    (503, b'{"error": {"code": "ENGINE_UNAVAILABLE", "message": "x"}}', {}, None),
    (429, b'{"error": {"code": "RATE_LIMITED", "message": "x"}}', {"Retry-After": "3"}, 3.0),
    (502, b"<html>bad gateway</html>", {}, None),
    (500, b"", {"Retry-After": "soon"}, None),
])
def test_transient_failures_are_unavailable(status: int, body: bytes, headers: dict[str, str],
                                            retry_after: float | None) -> None:
    with pytest.raises(Unavailable) as caught:
        _decode("POST", "/order", reply(status, body, headers))
    assert caught.value.retry_after == retry_after


def test_backoff_grows_to_its_cap_honours_a_hint_and_resets() -> None:
    backoff = Backoff(random.Random(0), first=0.2, cap=5.0)
    delays = [backoff.next() for _ in range(10)]
    assert 0.1 <= delays[0] <= 0.2 and delays[3] > delays[0]
    assert all(d <= 5.0 for d in delays) and max(delays) >= 2.5
    assert backoff.next(hint=30.0) == 30.0
    backoff.reset()
    assert backoff.next() <= 0.2
