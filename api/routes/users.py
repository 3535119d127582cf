"""POST /users: open sign-up (ALLOW_SIGNUP)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.body import read_json_object
from api.deps import ServicesDep
from api.errors import ApiError
from api.responses import json_response
from api.schemas import SignUp, error_responses
from api.validation import only_fields
from shared.errors import ErrorCode

router = APIRouter(tags=["accounts"])


@router.post("/users", status_code=201, response_model=SignUp, responses=error_responses(400, 403))
async def sign_up(request: Request, services: ServicesDep) -> Response:
    """Create a user and its API key (the key is shown only here). The body is empty or ``{}``."""
    if not services.config.allow_signup:
        raise ApiError(ErrorCode.FORBIDDEN, "sign-up is switched off on this exchange")
    only_fields(await read_json_object(request, allow_empty=True), frozenset())
    user_id, api_key = await services.auth.create_user()
    return json_response({"userId": user_id, "apiKey": api_key}, 201)
