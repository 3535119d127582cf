"""``python -m api`` as a real process (uvicorn on a TCP port), hit over HTTP, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.api.conftest import ROOT, module_command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def api_process(api_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(module_command("api"), cwd=ROOT,
                            env={**os.environ, **api_env, "API_PORT": str(port), "ENGINE_TIMEOUT_MS": "500"},
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "api.log").read_text()
            try:
                httpx.get(f"{base}/markets", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not start listening"
                time.sleep(0.1)
        yield base
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it ended.
        assert proc.wait(20) in (0, -signal.SIGTERM)
        output = (tmp_path / "api.log").read_text()
        assert "Application shutdown complete" in output
        assert "GET /api/v1/markets" not in output  # no access log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.close()


def test_the_api_process_serves_http(api_process: str) -> None:
    with httpx.Client(base_url=api_process, timeout=10) as http:
        markets = http.get("/markets")
        assert markets.status_code == 200
        assert markets.headers["content-type"] == "application/json"
        assert any(m["symbol"] == "TATA-INR" for m in markets.json())
        signup = http.post("/users")
        assert signup.status_code == 201
        key = signup.json()["apiKey"]
        bad = http.post("/order", content=b"{", headers={"Authorization": f"Bearer {key}"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_REQUEST"
        unknown = http.get("/nowhere")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
        assert http.get("/health").json() == {"status": "degraded", "engine": "down"}  # no engine here
        assert http.get(api_process.removesuffix("/api/v1") + "/openapi.json").status_code == 200
