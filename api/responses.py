"""JSON responses: bytes passed through as they are, or Python values encoded once with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from api.engine_client import EngineReply

JSON = "application/json"


def raw_json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type=JSON)


def engine_response(reply: EngineReply) -> Response:
    """The engine's reply as it is: its status and its body bytes, never re-encoded."""
    return raw_json(reply.body, reply.status)
