"""api/frontend.py: the UI's static export at / never shadows the API, and /config.json."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from api.errors import install_error_handlers
from api.frontend import install_frontend, load_frontend_settings
from shared.config import ConfigError


def build_app(directory: Path, **env: str) -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/markets")
    async def markets() -> list[str]:
        return ["TATA-INR"]

    app.include_router(router, prefix="/api/v1")
    install_frontend(app, load_frontend_settings({"FRONTEND_DIR": str(directory), **env}))
    install_error_handlers(app)
    return app


@pytest.fixture
def export(tmp_path: Path) -> Path:
    (tmp_path / "trade").mkdir()
    (tmp_path / "index.html").write_text("<html>markets</html>")
    (tmp_path / "trade" / "index.html").write_text("<html>trade</html>")
    (tmp_path / "404.html").write_text("<html>not found</html>")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "index.html").write_text("<html>must never be served</html>")
    return tmp_path


async def get(app: FastAPI, path: str, method: str = "GET", host: str = "exchange.test") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        return await client.request(method, path)


@pytest.mark.asyncio
async def test_pages_are_served_and_api_paths_keep_their_envelopes(export: Path) -> None:
    app = build_app(export)
    assert (await get(app, "/")).text == "<html>markets</html>"
    assert (await get(app, "/trade/?market=TATA-INR")).text == "<html>trade</html>"
    assert (await get(app, "/api/v1/markets")).json() == ["TATA-INR"]
    for path in ("/api/v1/nope", "/api", "/api/", "/nope"):
        response = await get(app, path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND", path
    wrong = await get(app, "/api/v1/markets", method="POST")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.asyncio
async def test_config_json_points_at_this_host_or_the_configured_urls(export: Path) -> None:
    derived = await get(build_app(export, WS_PORT="9001"), "/config.json", host="box.lan:8000")
    assert derived.json() == {"apiBase": "/api/v1", "wsUrl": "ws://box.lan:9001/"}
    assert derived.headers["cache-control"] == "no-store"
    configured = build_app(export, PUBLIC_WS_URL="wss://ex.example/ws", PUBLIC_API_BASE="https://ex.example/api/v1/")
    assert (await get(configured, "/config.json")).json() == {
        "apiBase": "https://ex.example/api/v1", "wsUrl": "wss://ex.example/ws"}


@pytest.mark.asyncio
async def test_without_a_build_only_config_json_is_added(tmp_path: Path) -> None:
    app = build_app(tmp_path / "missing")
    assert (await get(app, "/config.json")).status_code == 200
    assert (await get(app, "/")).json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("name", "value"), [
    ("PUBLIC_WS_URL", "http://x:8001/"), ("PUBLIC_API_BASE", "api/v1"), ("WS_PORT", "70000"),
    ("FRONTEND_DIR", "")])
def test_bad_settings_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_frontend_settings({name: value})
