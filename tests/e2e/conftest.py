from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace
from tests.support.services import Exchange, fresh_database


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
    client = redis.Redis.from_url(REDIS_URL)
    namespace = new_namespace("test-e2e")
    with fresh_database() as database_url:
        running = Exchange(namespace, database_url, tmp_path)
        try:
            running.start()
            yield running
        finally:
            running.stop()
            delete_namespace(client, namespace)
            client.close()
