"""engine/commit.py: the writes of a batch run by the COMMIT script, in order, against the real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from engine.commit import COMMIT, Writes
from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def ns(client: redis.Redis) -> Iterator[str]:
    namespace = new_namespace("test-commit")
    try:
        yield namespace
    finally:
        delete_namespace(client, namespace)


def test_every_write_lands_in_order_and_the_first_reply_comes_back(client: redis.Redis, ns: str) -> None:
    pubsub = client.pubsub()
    pubsub.subscribe(f"{ns}:chan")
    pubsub.get_message(timeout=1)
    client.rpush(f"{ns}:inflight", b"x")
    writes = Writes()
    writes.xadd(f"{ns}:journal", {"b": b"batch"})
    writes.xadd(f"{ns}:events", {"s": "all", "e": b"[]"}, maxlen=1000)
    writes.rpush(f"{ns}:replies", b"r1", b"r2\t201\t{}")
    writes.expire(f"{ns}:replies", 300)
    writes.lpush(f"{ns}:trades", b"t1", b"t2", b"t3")
    writes.ltrim(f"{ns}:trades", 0, 1)
    writes.set(f"{ns}:ticker", b'{"a": 1}')
    writes.publish(f"{ns}:chan", b"frame")
    writes.delete(f"{ns}:inflight")
    assert len(writes) == 9
    first = client.register_script(COMMIT)(keys=writes.keys, args=writes.args)
    entries = client.xrange(f"{ns}:journal")
    assert [(entry_id, fields) for entry_id, fields in entries] == [(first, {b"b": b"batch"})]
    assert client.xrange(f"{ns}:events")[0][1] == {b"s": b"all", b"e": b"[]"}
    assert client.lrange(f"{ns}:replies", 0, -1) == [b"r1", b"r2\t201\t{}"]
    assert 0 < client.ttl(f"{ns}:replies") <= 300
    assert client.lrange(f"{ns}:trades", 0, -1) == [b"t3", b"t2"]
    assert client.get(f"{ns}:ticker") == b'{"a": 1}'
    assert client.exists(f"{ns}:inflight") == 0
    message = pubsub.get_message(timeout=1)
    assert message is not None and message["data"] == b"frame"
    pubsub.close()


def test_an_empty_argument_list_and_many_values_pass_through(client: redis.Redis, ns: str) -> None:
    writes = Writes()
    values = [b"v%d" % i for i in range(5000)]  # ENGINE_BATCH_SIZE's maximum of replies
    writes.rpush(f"{ns}:many", *values)
    writes.delete(f"{ns}:absent")
    assert client.register_script(COMMIT)(keys=writes.keys, args=writes.args) == 5000
    assert client.lrange(f"{ns}:many", 0, -1) == values
