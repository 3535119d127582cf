"""A unique Redis namespace per test, cleaned up afterwards (real Redis at REDIS_URL or 127.0.0.1:6379)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def new_namespace(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def delete_namespace(client: redis.Redis, namespace: str) -> None:
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


def namespace_fixture() -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=None)
    namespace = new_namespace()
    try:
        yield client, namespace
    finally:
        delete_namespace(client, namespace)
        client.close()
