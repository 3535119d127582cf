"""GET /health: Redis reachable and every engine shard answers ``ping`` within 2 s."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response
from redis.exceptions import RedisError

from api.deps import ServicesDep
from api.errors import ApiError
from api.responses import json_response
from api.schemas import Health
from api.services import Services

router = APIRouter(tags=["operations"])

PING_TIMEOUT_S = 2.0


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(services: ServicesDep) -> Response:
    """200 ``{"status":"ok","engine":"up"}``, else 503 ``{"status":"degraded","engine":"down"}``."""
    if await engine_up(services):
        return json_response({"status": "ok", "engine": "up"})
    return json_response({"status": "degraded", "engine": "down"}, 503)


async def engine_up(services: Services) -> bool:
    engine = services.engine
    try:
        await asyncio.wait_for(services.redis.ping(), PING_TIMEOUT_S)
        await asyncio.wait_for(engine.refresh_shards(), PING_TIMEOUT_S)
        shards = await engine.all_shards()
        replies = await asyncio.gather(*(engine.request(s, "ping", timeout=PING_TIMEOUT_S) for s in shards))
    except (ApiError, RedisError, OSError, TimeoutError):
        return False
    return all(reply.ok for reply in replies)
