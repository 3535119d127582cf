"""Every error the API answers, in the contract's envelope ``{"error": {"code", "message"}}``.

Exceptions, from the route to the wire::

    ApiError                 raised by routes, dependencies and the engine client: code -> HTTP status
    RequestValidationError   FastAPI's query/path validation -> 400 INVALID_REQUEST
    HTTPException            Starlette's unknown route / method -> 404 NOT_FOUND / 405 METHOD_NOT_ALLOWED
    RedisError               the bus to the engine is down -> 503 ENGINE_UNAVAILABLE
    Exception                a bug -> 500 INTERNAL_ERROR (and logged by the server)

FastAPI's default ``{"detail": ...}`` bodies never reach a client. The codes outside API.md's table
(NOT_FOUND, METHOD_NOT_ALLOWED, SERVICE_UNAVAILABLE, INTERNAL_ERROR) are listed in docs/api-service.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import HTTP_STATUS, ErrorCode

log = logging.getLogger("api")

NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"

_STATUS_CODES: dict[int, str] = {
    400: ErrorCode.INVALID_REQUEST, 401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN,
    404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 429: ErrorCode.RATE_LIMITED, 503: SERVICE_UNAVAILABLE,
}


class ApiError(Exception):
    """A request the API answers with an error envelope; ``extra`` adds fields (e.g. ``orderId``)."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else HTTP_STATUS[ErrorCode(code)]
        self.headers = dict(headers) if headers else None
        self.extra = extra


def invalid_request(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_REQUEST, message)


def encode_error(code: str, message: str, **extra: Any) -> bytes:
    """The envelope's bytes: ``{"error": {"code", "message", ...extra}}``."""
    return orjson.dumps({"error": {"code": str(code), "message": message, **extra}})


def error_response(code: str, message: str, status: int, headers: Mapping[str, str] | None = None,
                   **extra: Any) -> Response:
    return Response(encode_error(code, message, **extra), status_code=status, headers=headers,
                    media_type="application/json")


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.code, exc.message, exc.status, exc.headers, **exc.extra)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    message = "invalid request"
    if errors:
        first = errors[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body"))
        message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", message))
    return error_response(ErrorCode.INVALID_REQUEST, message, 400)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    if exc.status_code == 404:
        message = "no such endpoint"
    elif exc.status_code == 405:
        message = "method not allowed on this endpoint"
    else:
        message = str(exc.detail)
    return error_response(code, message, exc.status_code, exc.headers)


async def _redis_error(_: Request, exc: Exception) -> Response:
    log.warning("redis unavailable: %s", exc)
    return error_response(ErrorCode.ENGINE_UNAVAILABLE, "the engine cannot be reached (Redis unavailable)",
                          503)


async def _internal_error(_: Request, exc: Exception) -> Response:
    return error_response(INTERNAL_ERROR, "internal error", 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RedisError, _redis_error)
    app.add_exception_handler(Exception, _internal_error)
