from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_ns import namespace_fixture


@pytest.fixture
def redis_ns() -> Iterator[tuple[redis.Redis, str]]:
    yield from namespace_fixture()
