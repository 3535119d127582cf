"""POST /deposit and GET /balances."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.body import read_json_object
from api.deps import CurrentUser, ServicesDep
from api.engine_client import EngineReply
from api.errors import ApiError
from api.merge import first_error, merge_balances
from api.responses import engine_response, raw_json
from api.schemas import Balances, DepositRequest, body_schema, error_responses
from api.services import Services
from api.validation import parse_deposit
from shared.errors import ErrorCode

router = APIRouter(tags=["accounts"])


@router.post("/deposit", response_model=Balances, responses=error_responses(400, 401, 403, 429, 503),
             openapi_extra=body_schema(DepositRequest))
async def deposit(request: Request, services: ServicesDep, user: CurrentUser) -> Response:
    """Credit paper money (ALLOW_DEPOSIT); answers the balances after it."""
    if not services.config.allow_deposit:
        raise ApiError(ErrorCode.FORBIDDEN, "deposits are switched off on this exchange")
    fields = parse_deposit(await read_json_object(request), services.markets)
    engine = services.engine
    shard = await engine.shard_for_asset(fields["asset"])
    reply = await engine.request(shard, "deposit", user=user, **fields)
    if not reply.ok:
        return engine_response(reply)
    try:
        if len(await engine.all_shards()) == 1:
            return engine_response(reply)
        return await _all_balances(services, user, known={shard: reply})
    except ApiError:
        # The deposit is done: never answer 503 for it because another shard is away. The owning
        # shard's reply lists every asset, but only its own with their real values.
        return engine_response(reply)


@router.get("/balances", response_model=Balances, responses=error_responses(401, 429, 503))
async def balances(services: ServicesDep, user: CurrentUser) -> Response:
    """Available and locked amount of every asset of the exchange, zeros included."""
    shards = await services.engine.all_shards()
    if len(shards) == 1:
        return engine_response(await services.engine.request(shards[0], "balances", user=user))
    return await _all_balances(services, user, known={})


async def _all_balances(services: Services, user: str, known: dict[str, EngineReply]) -> Response:
    engine = services.engine
    shards = [shard for shard in await engine.all_shards() if shard not in known]
    replies = await asyncio.gather(*(engine.request(shard, "balances", user=user) for shard in shards))
    by_shard = {**known, **dict(zip(shards, replies, strict=True))}
    error = first_error(list(by_shard.values()))
    if error is not None:
        return engine_response(error)
    return raw_json(merge_balances(by_shard, await engine.ownership(), services.markets))
