"""Reading a JSON request body exactly: size-capped, UTF-8, numbers as ``Decimal``, no duplicate keys.

FastAPI's own body parsing would turn ``101.5`` into a binary float and answer errors in its own shape,
so the routes read their bodies here and check each field themselves (api/validation.py).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

from fastapi import Request

from api.errors import invalid_request

MAX_BODY_BYTES = 64 * 1024


async def read_json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The body as a JSON object; INVALID_REQUEST for a wrong content type, too large or malformed body.

    ``allow_empty``: an empty body counts as ``{}`` (POST /users takes no fields).
    """
    return decode_object(await read_body(request), allow_empty=allow_empty)


async def read_body(request: Request) -> bytes:
    """The raw body of a JSON request: content type and size checked, not yet decoded."""
    check_headers(request.headers.get("content-type"), request.headers.get("content-length"))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        check_size(body)
    return bytes(body)


def check_headers(content_type: str | None, content_length: str | None) -> None:
    """Refuse a non-JSON Content-Type or a declared length over the cap before reading the body."""
    _check_content_type(content_type)
    if content_length is not None and content_length.isdigit() and int(content_length) > MAX_BODY_BYTES:
        raise _too_large()


def check_size(body: bytes | bytearray) -> None:
    """INVALID_REQUEST once the body read so far is over the cap."""
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()


def decode_object(body: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """A whole request body as a JSON object (``{}`` for an empty one when ``allow_empty``)."""
    if not body.strip():
        if allow_empty:
            return {}
        raise invalid_request("the request body must be a JSON object")
    data = decode_json(body)
    if not isinstance(data, dict):
        raise invalid_request("the request body must be a JSON object")
    return data


def decode_json(raw: bytes) -> Any:
    """Parse JSON with every number as an exact ``Decimal``; NaN, Infinity and duplicate keys refused."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant,
                          object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise invalid_request("the request body is not UTF-8") from None
    except RecursionError:
        raise invalid_request("the request body is nested too deeply") from None
    except ValueError as exc:
        raise invalid_request(f"malformed JSON: {exc}") from None


def _check_content_type(value: str | None) -> None:
    """Accept no Content-Type (curl, bare clients) or a JSON one; refuse forms and anything else."""
    if value is None:
        return
    media_type = value.partition(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json") or media_type == "":
        return
    raise invalid_request(f"Content-Type must be application/json, not {media_type!r}")


def _too_large() -> Exception:
    return invalid_request(f"the request body is larger than {MAX_BODY_BYTES} bytes")


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result
