"""The request/reply protocol between API processes and engine shards over Redis (docs/internals.md).

A request is a JSON object ``{"id", "reply", "op", ...}`` pushed on the shard's command list; all
prices, quantities and amounts in it are already integers (ticks, lots, minor units). The engine answers
on the list named by ``reply`` with ``<id> TAB <HTTP status> TAB <JSON body>``: the body is the exact
HTTP response body, so the API forwards it without re-encoding.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, final

import orjson

from shared.messages import Message

OPS = frozenset({"place", "cancel", "cancel_all", "deposit", "order", "orders", "balances", "quote", "ping"})


class WireError(ValueError):
    """A request or reply that does not follow the protocol."""


@final
class Request(Message):
    """One decoded request: its id, reply list, op and the op's fields.

    A Message (native, read-only attributes when compiled), not a frozen dataclass: the engine builds
    one per request and a frozen dataclass's ``__init__`` is slow Python code.
    """

    FIELDS: ClassVar[tuple[str, ...]] = ("id", "reply", "op", "fields")
    __slots__ = FIELDS

    def __init__(self, id: str, reply: str, op: str, fields: dict[str, Any]) -> None:
        self.id: Final = id
        self.reply: Final = reply
        self.op: Final = op
        self.fields: Final = fields

    def astuple(self) -> tuple[Any, ...]:
        return (self.id, self.reply, self.op, self.fields)


def encode_request(request_id: str, reply: str, op: str, **fields: Any) -> bytes:
    if op not in OPS:
        raise WireError(f"unknown op {op!r}")
    return orjson.dumps({"id": request_id, "reply": reply, "op": op, **fields})


def decode_request(raw: bytes) -> Request:
    """Parse one request; WireError if it is not a JSON object with string id, reply and a known op."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WireError("not a JSON object")
    request_id, reply, op = data.pop("id", None), data.pop("reply", None), data.pop("op", None)
    if not isinstance(request_id, str) or not isinstance(reply, str):
        raise WireError("id and reply must be strings")
    if op not in OPS:
        raise WireError(f"unknown op {op!r}")
    return Request(request_id, reply, op, data)


def encode_reply(request_id: str, status: int, body: bytes) -> bytes:
    return b"%s\t%d\t%s" % (request_id.encode(), status, body)


def decode_reply(raw: bytes) -> tuple[str, int, bytes]:
    try:
        request_id, status, body = raw.split(b"\t", 2)
        return request_id.decode(), int(status), body
    except ValueError as exc:
        raise WireError(f"malformed reply: {raw[:80]!r}") from exc


def error_body(code: str, message: str, **extra: Any) -> bytes:
    """The contract's error envelope: ``{"error": {"code", "message", ...}}``."""
    return orjson.dumps({"error": {"code": code, "message": message, **extra}})


def pack_command(args: list[bytes | str | int]) -> bytes:
    """A Redis command in RESP (an array of bulk strings: str as UTF-8, int in decimal), for callers that
    write to a redis-py connection themselves (engine/runner.py): compiled, several times cheaper than
    redis-py's packer for the engine's commits of a thousand arguments."""
    parts: list[bytes] = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = b"%d" % arg
        parts.append(b"$%d\r\n" % len(data))
        parts.append(data)
        parts.append(b"\r\n")
    return b"".join(parts)
