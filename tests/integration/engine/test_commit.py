"""engine/commit.py: the writes of a batch run by the COMMIT script, in order, against the real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from engine.commit import Writes
from shared.wire import pack_command
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


def commit(client: redis.Redis, ns: str, writes: Writes, done: int = 0, take: int = 0) -> list:
    """Run COMMIT the way the runner does: its own RESP packing on a connection of the pool."""
    connection = client.connection_pool.get_connection()
    try:
        command = writes.command(f"{ns}:in", f"{ns}:inflight", done, take)
        connection.send_packed_command([pack_command(command)])
        return connection.read_response()
    finally:
        client.connection_pool.release(connection)


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
    writes.delete(f"{ns}:gone")
    assert len(writes) == 9
    first, taken = commit(client, ns, writes, done=1)
    assert taken == []
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
    assert commit(client, ns, writes) == [5000, []]
    assert client.lrange(f"{ns}:many", 0, -1) == values


def test_no_writes_and_a_first_write_without_reply_value_give_none(client: redis.Redis, ns: str) -> None:
    assert commit(client, ns, Writes()) == [None, []]


def test_the_committed_batch_leaves_inflight_and_the_next_requests_are_taken_in_order(
        client: redis.Redis, ns: str) -> None:
    client.rpush(f"{ns}:inflight", b"a1", b"a2", b"b1")  # a: the batch committed; b: taken after it
    client.rpush(f"{ns}:in", b"c1", b"c2", b"c3")
    writes = Writes()
    writes.set(f"{ns}:k", b"v")
    assert commit(client, ns, writes, done=2, take=2) == [b"OK", [b"c1", b"c2"]]
    assert client.lrange(f"{ns}:inflight", 0, -1) == [b"b1", b"c1", b"c2"]
    assert client.lrange(f"{ns}:in", 0, -1) == [b"c3"]
    assert commit(client, ns, Writes(), done=3, take=10) == [None, [b"c3"]]
    assert client.lrange(f"{ns}:inflight", 0, -1) == [b"c3"]
    assert client.exists(f"{ns}:in") == 0


def test_pack_command_is_resp_bulk_strings() -> None:
    assert pack_command(["SET", "k\u00e9", b"\x00\r\n", 12, -3]) == (
        b"*5\r\n$3\r\nSET\r\n$3\r\nk\xc3\xa9\r\n$3\r\n\x00\r\n\r\n$2\r\n12\r\n$2\r\n-3\r\n")


def test_a_take_of_twice_the_largest_batch_moves_everything_in_order(client: redis.Redis, ns: str) -> None:
    """The runner takes up to two batches ahead: 2 x ENGINE_BATCH_SIZE's maximum (5000)."""
    values = [b"r%d" % i for i in range(10_500)]
    client.rpush(f"{ns}:in", *values)
    first, taken = commit(client, ns, Writes(), take=10_000)
    assert first is None and taken == values[:10_000]
    assert client.lrange(f"{ns}:inflight", 0, -1) == values[:10_000]
    assert client.lrange(f"{ns}:in", 0, -1) == values[10_000:]
