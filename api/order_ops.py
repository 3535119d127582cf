"""Place and cancel: the two hot requests, shared by their FastAPI routes and the fast path.

Both take what the request carries (the user, the body bytes or the order id) and answer the engine's
reply as it is; every refusal is an ``ApiError``. ``api/fast_path.py`` calls them straight from the ASGI
scope, the routes in ``api/routes/orders.py`` (which document them in OpenAPI) through FastAPI.
"""

from __future__ import annotations

from api.body import decode_object
from api.engine_client import EngineReply
from api.errors import ApiError
from api.services import Services
from api.validation import parse_place_order
from shared.errors import ErrorCode
from shared.views import parse_order_id


async def place(services: Services, user: str, body: bytes) -> EngineReply:
    """POST /order: check the body, send the order to the market's shard, answer its reply."""
    fields = parse_place_order(decode_object(body), services.markets)
    shard = await services.engine.shard_for_market(fields["market"])
    return await services.engine.request(shard, "place", user=user, **fields)


async def cancel(services: Services, user: str, order_id: str) -> EngineReply:
    """DELETE /order/{orderId}: cancel one of the user's open orders."""
    market, number = order_ref(order_id, services)
    shard = await services.engine.shard_for_market(market)
    return await services.engine.request(shard, "cancel", user=user, market=market, orderId=number)


def order_ref(order_id: str, services: Services) -> tuple[str, int]:
    """(market, engine order id) of a public order id; 404 when it names no order of a listed market."""
    parsed = parse_order_id(order_id)
    if parsed is None or parsed[0] not in services.markets.markets:
        raise ApiError(ErrorCode.ORDER_NOT_FOUND, "no such order")
    return parsed
