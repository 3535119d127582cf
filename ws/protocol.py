"""The client side of the WebSocket protocol, sans I/O: text in, a request or an error reply out.

A client sends JSON objects (docs/api.md, WebSocket)::

    {"method": "SUBSCRIBE", "params": ["depth@TATA-INR", "trade@TATA-INR"], "id": 1}
    {"method": "UNSUBSCRIBE", "params": ["trade@TATA-INR"], "id": 2}
    {"method": "AUTH", "params": {"apiKey": "..."}, "id": 3}

:func:`parse_message` turns one message into a :class:`Subscribe`, :class:`Unsubscribe` or :class:`Auth`,
or into a :class:`Rejection` whose reply the server sends back before carrying on: a malformed message
never closes the connection.

Choices where the contract is silent:

- ``id`` may be an integer, a string (at most 128 characters) or null/absent; the reply echoes it. When
  it cannot be read (not JSON, not an object, an id of another type) the reply's id is null.
- Every rejection is ``INVALID_REQUEST``, including a stream naming a market that is not listed
  (``depth@NOPE-INR``): the contract says an unknown stream name is INVALID_REQUEST, and a stream on an
  unlisted market is an unknown stream name. The message names the market.
- A request is all or nothing: one bad stream name rejects the whole SUBSCRIBE, nothing changes.
- Unknown top-level fields, an empty ``params`` list and more than :data:`MAX_STREAMS_PER_REQUEST`
  streams are rejected; method names are upper case, as in the contract.
- Binary frames and messages above :data:`MAX_MESSAGE_BYTES` are rejected (the server's hard frame
  limit, above which the WebSocket library closes the connection with 1009, is much larger).

The other direction needs one function: :func:`text_frame` frames what the server sends. A server's
frames are not masked (RFC 6455, 5.1), so one event's frame is the same bytes for every client and is
built once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import ErrorCode

MAX_MESSAGE_BYTES = 64 * 1024
MAX_STREAMS_PER_REQUEST = 100
MAX_ID_LENGTH = 128
MAX_API_KEY_LENGTH = 512

ORDERS_STREAM = "orders"
DEPTH = "depth"
#: The public stream kinds; a public stream is ``<kind>@<MARKET>``.
PUBLIC_KINDS = frozenset({DEPTH, "trade", "ticker", "kline.1s", "kline.1m", "kline.1h"})
_FIELDS = frozenset({"method", "params", "id"})

RequestId = int | str | None


@dataclass(frozen=True, slots=True)
class Subscribe:
    id: RequestId
    streams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    id: RequestId
    streams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Auth:
    id: RequestId
    api_key: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message the server refuses; the connection stays open."""

    id: RequestId
    code: str
    message: str

    def reply(self) -> bytes:
        return error_reply(self.id, self.code, self.message)


Request = Subscribe | Unsubscribe | Auth


#: FIN + opcode 1 (text), then the 7-bit length: the headers of every frame under 126 bytes.
_TEXT_HEADERS = tuple(bytes((0x81, length)) for length in range(126))


def text_frame(payload: bytes) -> bytes:
    """The unmasked, unfragmented WebSocket text frame carrying ``payload`` (UTF-8), header included."""
    length = len(payload)
    if length < 126:
        return _TEXT_HEADERS[length] + payload
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big") + payload
    return b"\x81\x7f" + length.to_bytes(8, "big") + payload


def ack(request_id: RequestId) -> bytes:
    """The success reply ``{"id": .., "result": null}``."""
    return orjson.dumps({"id": request_id, "result": None})


def error_reply(request_id: RequestId, code: str, message: str) -> bytes:
    """The error reply ``{"id": .., "error": {"code", "message"}}``."""
    return orjson.dumps({"id": request_id, "error": {"code": code, "message": message}})


def split_stream(stream: str) -> tuple[str, str] | None:
    """``depth@TATA-INR`` -> ("depth", "TATA-INR"); None for ``orders`` or anything without ``@``."""
    kind, at, market = stream.partition("@")
    if not at:
        return None
    return kind, market


def parse_message(message: str | bytes, markets: Collection[str]) -> Request | Rejection:
    """Parse and validate one client message against the listed ``markets``."""
    if not isinstance(message, str):
        return _invalid(None, "binary frames are not accepted: send JSON text")
    if len(message) > MAX_MESSAGE_BYTES or len(raw := message.encode()) > MAX_MESSAGE_BYTES:
        return _invalid(None, f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _invalid(None, "message is not valid JSON")
    if not isinstance(data, dict):
        return _invalid(None, "message must be a JSON object")
    request_id = data.get("id")
    if not _valid_id(request_id):
        return _invalid(None, f"id must be an integer, a string of at most {MAX_ID_LENGTH} chars or null")
    unknown = set(data) - _FIELDS
    if unknown:
        return _invalid(request_id, f"unknown field(s): {', '.join(sorted(unknown))}")
    method = data.get("method")
    params = data.get("params")
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        streams = _parse_streams(params, markets)
        if isinstance(streams, str):
            return _invalid(request_id, streams)
        return Subscribe(request_id, streams) if method == "SUBSCRIBE" else Unsubscribe(request_id, streams)
    if method == "AUTH":
        if not isinstance(params, dict) or set(params) != {"apiKey"}:
            return _invalid(request_id, 'AUTH params must be {"apiKey": "<key>"}')
        api_key = params["apiKey"]
        if not isinstance(api_key, str) or not 0 < len(api_key) <= MAX_API_KEY_LENGTH:
            return _invalid(request_id, "apiKey must be a non-empty string")
        return Auth(request_id, api_key)
    if method is None:
        return _invalid(request_id, "method is missing")
    return _invalid(request_id, "method must be SUBSCRIBE, UNSUBSCRIBE or AUTH")


def _valid_id(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH


def _parse_streams(params: Any, markets: Collection[str]) -> tuple[str, ...] | str:
    """The validated, de-duplicated stream names, or the reason they are refused."""
    if not isinstance(params, list) or not params:
        return "params must be a non-empty list of stream names"
    if len(params) > MAX_STREAMS_PER_REQUEST:
        return f"at most {MAX_STREAMS_PER_REQUEST} streams per request"
    streams: dict[str, None] = {}
    for stream in params:
        problem = stream_problem(stream, markets)
        if problem is not None:
            return problem
        streams[stream] = None
    return tuple(streams)


def stream_problem(stream: Any, markets: Collection[str]) -> str | None:
    """Why ``stream`` is not a stream name, or None when it is one."""
    if not isinstance(stream, str):
        return "stream names must be strings"
    if stream == ORDERS_STREAM:
        return None
    shown = stream if len(stream) <= 64 else stream[:64] + "..."
    parts = split_stream(stream)
    if parts is None or parts[0] not in PUBLIC_KINDS:
        return f"unknown stream {shown!r}"
    if parts[1] not in markets:
        return f"unknown stream {shown!r}: market {parts[1][:32]!r} is not listed"
    return None


def _invalid(request_id: RequestId, message: str) -> Rejection:
    return Rejection(request_id, ErrorCode.INVALID_REQUEST.value, message)
