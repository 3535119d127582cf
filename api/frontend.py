"""The browser UI (frontend/, a Next.js static export) at ``/``, and ``/config.json`` telling it where
the services are.

Same origin as /api/v1, so the browser needs no CORS. Installed after the API routers: /api/v1, /docs
and /openapi.json keep precedence, and no path under ``/api/`` ever falls through to the UI (an unknown
API path stays a JSON 404 or 405 envelope). The UI is served only when its build (``frontend/out``,
``make frontend``) exists; ``/config.json`` always.

Settings (``api.config.FrontendSettings``, read with the API's configuration at start-up, so a bad
value makes ``python -m api`` refuse to start, naming it): ``FRONTEND_DIR`` (default: ``frontend/out`` of
this checkout), ``PUBLIC_WS_URL`` (default: the page's own host name with ``WS_PORT``, ``ws://`` or
``wss://`` after the page's scheme), ``PUBLIC_API_BASE`` (default ``/api/v1``, same origin).
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.config import FrontendSettings, load_frontend_settings

API_PATHS = "/api"


class _UiFiles(StaticFiles):
    """The export's files; an unknown path is the API's JSON 404 envelope, not the export's 404.html."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path == "404.html":
            return "", None
        return super().lookup_path(path)


class _UiMount(Mount):
    """A mount at ``/`` that never claims an ``/api`` path, so those keep the API's 404/405 envelopes."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        if path == API_PATHS or path.startswith(API_PATHS + "/"):
            return Match.NONE, {}
        return super().matches(scope)


def browser_config(settings: FrontendSettings, request: Request) -> dict[str, str]:
    """``{"apiBase", "wsUrl"}`` for a page loaded through ``request``."""
    if settings.public_ws_url:
        ws_url = settings.public_ws_url
    else:
        scheme = "wss" if request.url.scheme == "https" else "ws"
        host = request.url.hostname or "127.0.0.1"
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        ws_url = f"{scheme}://{host}:{settings.ws_port}/"
    return {"apiBase": settings.public_api_base, "wsUrl": ws_url}


def install_frontend(app: FastAPI, settings: FrontendSettings | None = None) -> None:
    """Add ``GET /config.json`` and, when the UI is built, the UI itself at ``/`` (after every route)."""
    settings = settings or load_frontend_settings()

    async def config_json(request: Request) -> JSONResponse:
        return JSONResponse(browser_config(settings, request), headers={"Cache-Control": "no-store"})

    app.add_api_route("/config.json", config_json, methods=["GET"], include_in_schema=False)
    if settings.directory.is_dir():
        ui = _UiFiles(directory=settings.directory, html=True)
        app.router.routes.append(_UiMount("", app=ui, name="frontend"))
