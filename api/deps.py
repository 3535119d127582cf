"""Dependency aliases for the routes: the shared services and the authenticated (rate-limited) user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import hash_key
from api.errors import ApiError
from api.services import Services
from shared.errors import ErrorCode

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <apiKey> (from POST /users)")


async def get_services(request: Request) -> Services:
    """The services of the running app (async: FastAPI runs a plain def dependency in a thread)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, parsed as FastAPI's HTTPBearer does."""
    if not authorization:
        return None
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if not scheme or not key or scheme.lower() != "bearer":
        return None
    return key


async def authenticate(services: Services, api_key: str | None) -> str:
    """The user id of ``api_key``; 401 without a known key, 429 over the key's rate limit."""
    if not api_key:
        raise ApiError(ErrorCode.UNAUTHORIZED, "missing API key: send Authorization: Bearer <apiKey>",
                       headers={"WWW-Authenticate": "Bearer"})
    key_hash = hash_key(api_key)
    user_id = await services.auth.user_for(key_hash)
    if user_id is None:
        raise ApiError(ErrorCode.UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    retry_after = services.limiter.hit(key_hash)
    if retry_after is not None:
        raise ApiError(ErrorCode.RATE_LIMITED, "too many requests for this API key",
                       headers={"Retry-After": str(retry_after)})
    return user_id


async def current_user(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's user id (see ``authenticate``)."""
    return await authenticate(services, None if credentials is None else credentials.credentials)


CurrentUser = Annotated[str, Depends(current_user)]
