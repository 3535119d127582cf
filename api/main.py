"""Build the FastAPI application: routers under /api/v1, error envelopes, services for its lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.config import ApiConfig
from api.errors import install_error_handlers
from api.fast_path import ExchangeApp
from api.frontend import install_frontend
from api.routes import account, health, history, market_data, orders, users
from api.services import Services

API_PREFIX = "/api/v1"


def create_app(config: ApiConfig) -> ExchangeApp:
    """The app for ``config``; Redis, PostgreSQL and the engine client open in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(config)
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    app = ExchangeApp(title="E-Mudra-Bajar API", version="1", lifespan=lifespan,
                      description="The REST API of E-Mudra-Bajar (docs/api.md). Errors: "
                                 '`{"error": {"code", "message"}}`.')
    for module in (users, account, orders, market_data, history, health):
        app.include_router(module.router, prefix=API_PREFIX)
    install_frontend(app, config.frontend)  # the browser UI at / and /config.json, after the API's routes
    install_error_handlers(app)
    _publish_400_not_422(app)
    return app


def _publish_400_not_422(app: FastAPI) -> None:
    """Drop FastAPI's generated 422 responses from the schema: validation errors are 400 envelopes here."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
