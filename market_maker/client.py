"""The market maker's I/O with the exchange: the public REST API (httpx) and the ``orders`` WebSocket stream.

Exceptions, from the wire to the caller::

    ApiError       a definitive refusal (400, 401, 403, 404, 409): the envelope's code and message, and
                   the body (a 409 DUPLICATE_CLIENT_ORDER_ID carries the existing ``orderId``)
    Unavailable    worth retrying: connection refused/reset, timeout, 429 (``retry_after`` from
                   Retry-After), 503 ENGINE_UNAVAILABLE or any other 5xx

Only the public contract (docs/api.md) is used: the maker is an ordinary user.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

log = logging.getLogger("market_maker")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, body: Mapping[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.body = body


class Unavailable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Backoff:
    """Exponential backoff with jitter: first, 2x, 4x ... up to ``cap`` seconds; reset on success."""

    def __init__(self, rng: random.Random, first: float = 0.2, cap: float = 5.0) -> None:
        self._rng = rng
        self.first = first
        self.cap = cap
        self.failures = 0

    def next(self, hint: float | None = None) -> float:
        delay = min(self.cap, self.first * 2 ** min(self.failures, 16))
        self.failures += 1
        delay = delay * (0.5 + self._rng.random() / 2)
        return max(delay, hint or 0.0)

    def reset(self) -> None:
        self.failures = 0


class RestClient:
    """One account's view of the REST API over a shared keep-alive ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str | None = None) -> None:
        self._http = http
        self.base_url = base_url
        self.api_key = api_key

    async def call(self, method: str, path: str, *, body: Mapping[str, Any] | None = None,
                   params: Mapping[str, str] | None = None, auth: bool = True) -> Any:
        """Send one request; the decoded JSON on 2xx, else ApiError or Unavailable (see the module doc)."""
        headers = {"Content-Type": "application/json"}
        if auth and self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        content = orjson.dumps(body) if body is not None else None
        try:
            response = await self._http.request(method, self.base_url + path, content=content,
                                                params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"{method} {path}: {type(exc).__name__} {exc}".rstrip()) from None
        return _decode(method, path, response)

    async def sign_up(self) -> dict[str, str]:
        reply: dict[str, str] = await self.call("POST", "/users", body={}, auth=False)
        return reply

    async def balances(self) -> dict[str, dict[str, str]]:
        reply: dict[str, dict[str, str]] = await self.call("GET", "/balances")
        return reply

    async def deposit(self, asset: str, amount: str) -> None:
        await self.call("POST", "/deposit", body={"asset": asset, "amount": amount})

    async def open_orders(self) -> list[dict[str, Any]]:
        reply: list[dict[str, Any]] = await self.call("GET", "/orders")
        return reply

    async def place(self, order: Mapping[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = await self.call("POST", "/order", body=order)
        return reply

    async def cancel(self, order_id: str) -> None:
        await self.call("DELETE", f"/order/{order_id}")

    async def cancel_all(self) -> list[dict[str, Any]]:
        reply: list[dict[str, Any]] = await self.call("DELETE", "/orders")
        return reply

    async def top_of_book(self, market: str) -> tuple[str | None, str | None]:
        """(best bid, best ask) price strings of ``GET /depth``, None for an empty side."""
        depth = await self.call("GET", "/depth", params={"market": market, "limit": "1"}, auth=False)
        bids, asks = depth["bids"], depth["asks"]
        return (bids[0][0] if bids else None), (asks[0][0] if asks else None)


def _decode(method: str, path: str, response: httpx.Response) -> Any:
    status = response.status_code
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if 200 <= status < 300:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    message = str(error.get("message", "")) if isinstance(error, dict) else response.text[:200]
    if status == 429 or status >= 500:
        retry_after = _seconds(response.headers.get("Retry-After"))
        raise Unavailable(f"{method} {path}: {status} {code or 'error'} {message}".rstrip(), retry_after)
    raise ApiError(status, code or "HTTP_ERROR", message, error if isinstance(error, dict) else {})


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None


class OrderFeed:
    """The ``orders`` stream of one account, kept open with reconnects; a wake-up source, not the truth.

    ``on_fill`` runs for every order event with a fill (so the maker refills an eaten level at once);
    ``on_connect`` after every (re)subscription, since events may have been missed while away. The
    maker's state always comes from ``GET /orders``, so a missed or late event costs latency, never
    correctness.
    """

    def __init__(self, url: str, api_key: Callable[[], str | None], on_fill: Callable[[], None],
                 on_connect: Callable[[], None], backoff: Backoff) -> None:
        self._url = url
        self._api_key = api_key
        self._on_fill = on_fill
        self._on_connect = on_connect
        self._backoff = backoff
        self._connection: ClientConnection | None = None
        self.connected = False

    async def run(self) -> None:
        """Stay subscribed until cancelled."""
        while True:
            try:
                await self._session()
                reason = "closed by the server"
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, InvalidURI,
                    _Refused) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            self.connected = False
            if self._backoff.failures == 0:  # once per outage
                log.warning("ws %s: %s; reconnecting with backoff", self._url, reason)
            await asyncio.sleep(self._backoff.next())

    async def reconnect(self) -> None:
        """Drop the current connection (the account changed): ``run`` connects again with the new key."""
        if self._connection is not None:
            await self._connection.close()

    async def _session(self) -> None:
        async with connect(self._url, open_timeout=5, close_timeout=2, max_queue=256) as ws:
            self._connection = ws
            try:
                await self._request(ws, {"method": "AUTH", "params": {"apiKey": self._api_key() or ""},
                                         "id": 1})
                await self._request(ws, {"method": "SUBSCRIBE", "params": ["orders"], "id": 2})
                self.connected = True
                if self._backoff.failures:
                    log.info("ws %s: subscribed to orders again", self._url)
                self._backoff.reset()
                self._on_connect()
                async for message in ws:
                    self._event(message)
            finally:
                self._connection = None

    async def _request(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        await ws.send(orjson.dumps(message).decode())
        async with asyncio.timeout(5):
            while True:
                reply = orjson.loads(await ws.recv())
                if reply.get("id") == message["id"]:
                    break
        if reply.get("error"):
            error = reply["error"]
            raise _Refused(f"{message['method']}: {error.get('code')} {error.get('message')}")

    def _event(self, message: str | bytes) -> None:
        try:
            event = orjson.loads(message)
        except orjson.JSONDecodeError:
            return
        data = event.get("data") if isinstance(event, dict) and event.get("stream") == "orders" else None
        if isinstance(data, dict) and data.get("fills"):
            self._on_fill()


class _Refused(Exception):
    """The server answered AUTH or SUBSCRIBE with an error (e.g. a key the exchange does not know yet)."""
