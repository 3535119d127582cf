"""POST /api/v1/order and DELETE /api/v1/order/{orderId} straight from the ASGI scope.

They are nearly all of a trading client's requests, and FastAPI's routing, dependency solving and
middleware stack cost about as much CPU per request as everything the API does for them itself
(measured with bench/e2e_bench.py --profile: ~20% of the API process). ``ExchangeApp`` answers
exactly these two before FastAPI sees them, with the same functions the FastAPI routes call
(``api/order_ops.py``, ``api/deps.authenticate``, ``api/body``) and the same error envelopes; the
routes stay registered, so OpenAPI documents them and ``fast_path = False`` serves them through FastAPI
(the tests run the HTTP suites both ways). Anything else, including a trailing slash or an empty id,
goes to FastAPI untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from redis.exceptions import RedisError

from api import order_ops
from api.body import check_headers, check_size
from api.deps import authenticate, bearer_key
from api.engine_client import EngineReply
from api.errors import INTERNAL_ERROR, ApiError, encode_error
from api.services import Services
from shared.errors import ErrorCode

log = logging.getLogger("api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ORDER_PATH = "/api/v1/order"
_ORDER_PREFIX = ORDER_PATH + "/"
_JSON = (b"content-type", b"application/json")


class _Disconnected(Exception):
    """The client went away before its body arrived: nothing to answer."""


class ExchangeApp(FastAPI):
    """The API's FastAPI app, with the order hot path answered before FastAPI's stack."""

    fast_path = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path and scope["type"] == "http":
            path: str = scope["path"]
            method: str = scope["method"]
            if method == "POST" and path == ORDER_PATH:
                await _answer(send, self._place(scope, receive))
                return
            if method == "DELETE" and path.startswith(_ORDER_PREFIX):
                order_id = path[len(_ORDER_PREFIX):]
                if order_id and "/" not in order_id:
                    await _answer(send, self._cancel(scope, order_id))
                    return
        await super().__call__(scope, receive, send)

    async def _place(self, scope: Scope, receive: Receive) -> EngineReply:
        headers = _headers(scope)
        services: Services = self.state.services
        user = await authenticate(services, bearer_key(headers.get(b"authorization")))
        check_headers(headers.get(b"content-type"), headers.get(b"content-length"))
        return await order_ops.place(services, user, await _read_body(receive))

    async def _cancel(self, scope: Scope, order_id: str) -> EngineReply:
        services: Services = self.state.services
        user = await authenticate(services, bearer_key(_headers(scope).get(b"authorization")))
        return await order_ops.cancel(services, user, order_id)


def _headers(scope: Scope) -> dict[bytes, str]:
    """The request headers of interest, decoded as Starlette does (latin-1); the first of repeats."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in (b"authorization", b"content-type", b"content-length") and name not in found:
            found[name] = value.decode("latin-1")
    return found


async def _read_body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body += message.get("body", b"")
        check_size(body)
        if not message.get("more_body", False):
            return bytes(body)


async def _answer(send: Send, handling: Awaitable[EngineReply]) -> None:
    """Run the request and send its answer: the engine's reply, or the envelope of what went wrong."""
    extra: list[tuple[bytes, bytes]] = []
    try:
        reply = await handling
        status, body = reply.status, reply.body
    except ApiError as exc:
        status, body = exc.status, encode_error(exc.code, exc.message, **exc.extra)
        if exc.headers:
            extra = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                     for name, value in exc.headers.items()]
    except RedisError as exc:
        log.warning("redis unavailable: %s", exc)
        status, body = 503, encode_error(ErrorCode.ENGINE_UNAVAILABLE,
                                         "the engine cannot be reached (Redis unavailable)")
    except _Disconnected:
        return
    except Exception:
        log.exception("unexpected error on the order fast path")
        status, body = 500, encode_error(INTERNAL_ERROR, "internal error")
    await send({"type": "http.response.start", "status": status,
                "headers": [_JSON, (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})
