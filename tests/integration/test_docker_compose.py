"""docker-compose.yml: valid for docker-compose v1 (`docker-compose config`), and what it promises.

No Docker engine runs in CI, so the stack itself is never started here; this checks the file as Compose
reads it (anchors merged, variables filled in). `make test` installs docker-compose when it is missing
(the Makefile's compose-tool step); under CI a missing binary fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # PyYAML, installed with uvicorn[standard]

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("engine", "api", "ws", "db_writer", "market_maker")


def _compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: `make test` installs it (compose-tool)")
        pytest.skip("docker-compose not installed (`make compose-tool` installs it)")
    return binary


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env.pop("POSTGRES_PASSWORD", None)
    env.pop("MM_TAKER_RATE", None)
    command = [_compose(), "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def _targets(volumes: list[Any]) -> set[str]:
    """Mount points; v1 prints ``name:/path:rw`` strings, v2 mappings."""
    return {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in volumes}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    checked = _run("config")
    assert checked.returncode == 0, checked.stderr
    return yaml.safe_load(checked.stdout)


def test_config_is_valid_for_docker_compose_v1():
    result = _run("config", "-q")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr


def test_one_service_per_component_plus_the_stores(compose):
    assert set(compose["services"]) == {"redis", "timescaledb", *COMPONENTS}


def test_every_component_runs_its_module_from_the_repository_image(compose):
    for name in COMPONENTS:
        service = compose["services"][name]
        assert Path(service["build"]["context"]) == ROOT, name
        assert service["command"][:3] == ["python", "-m", name], name
        assert (ROOT / name / "__main__.py").exists(), f"{name} has no __main__.py"
        assert service["restart"] == "unless-stopped"
    assert compose["services"]["market_maker"]["command"][3:] == ["--taker-rate", "2"]


def test_redis_keeps_an_append_only_file(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert redis["image"].startswith("redis:7")
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] in ("everysec", "always")
    assert "/data" in _targets(redis["volumes"])


def test_the_database_is_timescaledb(compose):
    database = compose["services"]["timescaledb"]
    assert database["image"].startswith("timescale/timescaledb:")
    assert "/var/lib/postgresql/data" in _targets(database["volumes"])


@pytest.mark.parametrize("name", ["redis", "timescaledb", "api", "ws"])
def test_health_checks(compose, name):
    check = compose["services"][name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL") and check["retries"] >= 3


def test_api_health_check_asks_the_health_endpoint(compose):
    assert "/api/v1/health" in " ".join(compose["services"]["api"]["healthcheck"]["test"])


def test_start_order_waits_on_conditions(compose):
    services = compose["services"]
    expected = {
        "engine": {"redis": "service_healthy"},
        "api": {"redis": "service_healthy", "timescaledb": "service_healthy", "engine": "service_started"},
        "ws": {"redis": "service_healthy", "timescaledb": "service_healthy", "engine": "service_started"},
        "db_writer": {"redis": "service_healthy", "timescaledb": "service_healthy"},
        "market_maker": {"api": "service_healthy", "ws": "service_healthy"},
    }
    for name, dependencies in expected.items():
        found = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert found == dependencies, name
        for dep, condition in found.items():
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health: it has no check"


def test_services_find_the_stores_by_service_name_and_listen_on_every_interface(compose):
    for name in COMPONENTS:
        env = compose["services"][name]["environment"]
        assert urlsplit(env["REDIS_URL"]).hostname == "redis", name
        assert urlsplit(env["DATABASE_URL"]).hostname == "timescaledb", name
        assert env["API_HOST"] == env["WS_HOST"] == "0.0.0.0", name
    maker = compose["services"]["market_maker"]["environment"]
    assert urlsplit(maker["MM_API_URL"]).hostname == "api" and urlsplit(maker["MM_WS_URL"]).hostname == "ws"
    published = {port["target"] for name in ("api", "ws") for port in compose["services"][name]["ports"]}
    assert published == {8000, 8001}


def test_the_database_password_matches_the_url(compose):
    password = compose["services"]["timescaledb"]["environment"]["POSTGRES_PASSWORD"]
    assert urlsplit(compose["services"]["api"]["environment"]["DATABASE_URL"]).password == password


def test_dockerfile_is_one_python_311_slim_image_with_a_frontend_stage():
    text = (ROOT / "Dockerfile").read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert froms[-1] == "python:3.11-slim" and any(image.startswith("node:") for image in froms)
    assert "npm ci" in text and "FRONTEND_DIR=/app/frontend/out" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".mudra-data", "frontend/node_modules"} <= set(ignored)
