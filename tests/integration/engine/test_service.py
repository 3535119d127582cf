"""The engine service against a real Redis: batches, replies, state keys, restart and recovery."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import redis

from engine.config import load_config
from engine.runner import DEPTH_WRITE_INTERVAL_S, TICKER_INTERVAL_MS, EngineService, ShardConflict
from engine.snapshot import state_hash
from shared.keys import Keys
from shared.wire import decode_reply, encode_request
from tests.support.redis_ns import delete_namespace

REPLY = "t1"


def service(client: redis.Redis, namespace: str, clock: Callable[[], int] | None = None,
            **env: str) -> EngineService:
    config = load_config({"MUDRA_NAMESPACE": namespace, **env})
    engine_service = EngineService(config, client) if clock is None else EngineService(config, client, clock)
    engine_service.register()
    engine_service.recover()
    return engine_service


class Client:
    """Pushes requests the way an API process does and reads its reply list."""

    def __init__(self, client: redis.Redis, namespace: str, shard: str = "all") -> None:
        self.redis = client
        self.keys = Keys(namespace)
        self.shard = shard
        self.reply_key = self.keys.replies(REPLY)
        self.ids = itertools.count(1)
        self._held: list[bytes] | None = None

    def push(self, op: str, **fields: object) -> str:
        request_id = str(next(self.ids))
        request = encode_request(request_id, self.reply_key, op, **fields)
        if self._held is not None:
            self._held.append(request)
        else:
            self.redis.rpush(self.keys.engine_in(self.shard), request)
        return request_id

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        """Queue the requests pushed inside the block with one RPUSH at its end."""
        self._held = []
        try:
            yield
            self.redis.rpush(self.keys.engine_in(self.shard), *self._held)
        finally:
            self._held = None

    def replies(self) -> dict[str, tuple[int, object]]:
        raw = self.redis.lrange(self.reply_key, 0, -1)
        self.redis.delete(self.reply_key)
        return {rid: (status, orjson.loads(body)) for rid, status, body in map(decode_reply, raw)}


def place(c: Client, user: str, side: str, price: int, quantity: int, **extra: object) -> str:
    return c.push("place", user=user, market="TATA-INR", side=side, type="limit", price=price,
                  quantity=quantity, tif="GTC", postOnly=False, clientOrderId=None, **extra)


def drain(engine_service: EngineService) -> None:
    while engine_service.step():
        pass


def test_requests_in_one_batch_get_their_replies_in_order(redis_ns):
    client, ns = redis_ns
    engine_service = service(client, ns)
    c = Client(client, ns)
    ids = [c.push("deposit", user="alice", asset="INR", amount=1_000_000),
           c.push("deposit", user="bob", asset="TATA", amount=10),
           place(c, "bob", "sell", 10_000, 5),
           place(c, "alice", "buy", 10_000, 2),
           c.push("balances", user="alice"),
           c.push("ping")]
    assert engine_service.step() == 6
    replies = c.replies()
    assert list(replies) == ids
    assert replies[ids[3]][0] == 201
    assert replies[ids[3]][1]["fillStatus"] == "filled"
    assert replies[ids[4]][1]["INR"] == {"available": "9800.00", "locked": "0.00"}
    assert replies[ids[5]] == (200, {"status": "ok"})
    keys = Keys(ns)
    assert orjson.loads(client.get(keys.ticker("TATA-INR")))["lastPrice"] == "100.00"
    assert len(client.lrange(keys.trades("TATA-INR"), 0, -1)) == 1
    assert client.llen(keys.engine_inflight("all")) == 0
    assert client.xlen(keys.journal("all")) == 1


def test_malformed_requests_are_answered_and_change_nothing(redis_ns):
    client, ns = redis_ns
    engine_service = service(client, ns)
    c = Client(client, ns)
    before = state_hash(engine_service.engine)
    client.rpush(Keys(ns).engine_in("all"), b"not json", b'{"id": 5}', b"[]")
    bad = [place(c, "bob", "sell", "100", 1), c.push("cancel", user="bob", market="TATA-INR", orderId="x"),
           c.push("place", user="bob")]
    engine_service.step()
    replies = c.replies()
    assert [replies[i][0] for i in bad] == [400, 400, 400]
    assert all(replies[i][1]["error"]["code"] == "INVALID_REQUEST" for i in bad)
    assert state_hash(engine_service.engine) == before


def test_depth_key_matches_the_engine_after_a_batch(redis_ns):
    client, ns = redis_ns
    engine_service = service(client, ns)
    c = Client(client, ns)
    c.push("deposit", user="bob", asset="TATA", amount=100)
    c.push("deposit", user="alice", asset="INR", amount=10_000_000)
    place(c, "bob", "sell", 10_100, 3)
    place(c, "bob", "sell", 10_200, 4)
    place(c, "alice", "buy", 9_900, 5)
    engine_service.step()
    time.sleep(DEPTH_WRITE_INTERVAL_S)  # the depth key is rewritten at most that often
    engine_service.housekeeping()
    depth = orjson.loads(client.get(Keys(ns).depth("TATA-INR")))
    assert depth == {"market": "TATA-INR", "sequence": 3, "bids": [["99.00", "5"]],
                     "asks": [["101.00", "3"], ["102.00", "4"]]}


def random_flow(c: Client, rng: random.Random, n: int, users: list[str]) -> None:
    for _ in range(n):
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.8:
            side = rng.choice(["buy", "sell"])
            place(c, user, side, rng.randint(9_950, 10_050), rng.randint(1, 5))
        elif roll < 0.9:
            c.push("cancel_all", user=user, market=None)
        else:
            c.push("place", user=user, market="TATA-INR", side=rng.choice(["buy", "sell"]), type="market",
                   price=None, quantity=rng.randint(1, 3), tif="GTC", postOnly=False, clientOrderId=None)


def fund(c: Client, users: list[str]) -> None:
    for user in users:
        c.push("deposit", user=user, asset="INR", amount=100_000_000)
        c.push("deposit", user=user, asset="TATA", amount=10_000)


def test_restart_from_snapshot_and_journal_restores_the_exact_state(redis_ns):
    client, ns = redis_ns
    first = service(client, ns, ENGINE_BATCH_SIZE="7")
    c = Client(client, ns)
    users = ["u1", "u2", "u3"]
    rng = random.Random(1)
    fund(c, users)
    random_flow(c, rng, 150, users)
    drain(first)
    first.take_snapshot()
    random_flow(c, rng, 150, users)
    drain(first)
    assert first.commands_since_snapshot > 0  # the tail lives only in the journal
    second = service(client, ns)
    assert second.engine.seq == first.engine.seq
    assert state_hash(second.engine) == state_hash(first.engine)
    assert second.market_data.to_state() == first.market_data.to_state()


def test_a_batch_left_in_flight_by_a_crash_is_processed_once_on_restart(redis_ns):
    client, ns = redis_ns
    first = service(client, ns)
    c = Client(client, ns)
    c.push("deposit", user="bob", asset="TATA", amount=100)
    drain(first)
    keys = Keys(ns)
    ids = [place(c, "bob", "sell", 10_000, 1), place(c, "bob", "sell", 10_001, 1)]
    # The crash: the batch was moved to in-flight, nothing of it was committed.
    client.lmove(keys.engine_in("all"), keys.engine_inflight("all"), "LEFT", "RIGHT")
    client.lmove(keys.engine_in("all"), keys.engine_inflight("all"), "LEFT", "RIGHT")
    c.replies()
    second = service(client, ns)
    assert second.step() == 2
    replies = c.replies()
    assert [replies[i][0] for i in ids] == [201, 201]
    assert client.llen(keys.engine_inflight("all")) == 0
    assert second.step() == 0
    assert len(second.engine.open_orders("bob")) == 2


def test_a_second_shard_claiming_a_live_shards_market_is_refused(redis_ns):
    client, ns = redis_ns
    service(client, ns, ENGINE_MARKETS="TATA-INR")
    with pytest.raises(ShardConflict, match="TATA"):
        service(client, ns)
    # Disjoint markets but a shared asset (INR) are refused too: money is never split between ledgers.
    with pytest.raises(ShardConflict, match="INR"):
        service(client, ns, ENGINE_MARKETS="INFY-INR")


def test_a_background_snapshot_restores_the_same_state_and_trims_the_journal(redis_ns):
    client, ns = redis_ns
    first = service(client, ns, ENGINE_BATCH_SIZE="5")
    c = Client(client, ns)
    users = ["u1", "u2"]
    fund(c, users)
    random_flow(c, random.Random(5), 60, users)
    drain(first)
    journal_before = client.xlen(Keys(ns).journal("all"))
    first.take_snapshot(background=True)
    random_flow(c, random.Random(6), 30, users)  # the loop goes on while the child writes
    drain(first)
    first.reap_snapshot(wait=True)
    assert first._snapshot_child is None
    assert client.xlen(Keys(ns).journal("all")) < journal_before
    second = service(client, ns)
    assert state_hash(second.engine) == state_hash(first.engine)


def raw_replies(c: Client) -> dict[str, list[bytes]]:
    """Every reply body on the reply list by request id (a duplicate would show as a second body)."""
    out: dict[str, list[bytes]] = {}
    for raw in c.redis.lrange(c.reply_key, 0, -1):
        rid, status, body = raw.split(b"\t", 2)
        out.setdefault(rid.decode(), []).append(status + b" " + body)
    return out


def flow(c: Client, seed: int, n: int) -> None:
    users = ["u1", "u2", "u3"]
    with c.pipelined():
        fund(c, users)
        random_flow(c, random.Random(seed), n, users)


def twins(client, ns_a: str, ns_b: str, batch: int, seed: int, n: int):
    """Two services at a fixed clock in two namespaces, each fed the same random flow."""
    pairs = []
    for ns in (ns_a, ns_b):
        svc = service(client, ns, clock=lambda: 1_700_000_000_000, ENGINE_BATCH_SIZE=str(batch))
        c = Client(client, ns)
        flow(c, seed, n)
        pairs.append((svc, c))
    return pairs


def test_the_pipelined_loop_gives_the_same_replies_state_and_journal_as_one_batch_at_a_time(redis_ns):
    """step(wait=False) applies a batch while the previous commit runs and takes two batches ahead."""
    client, ns = redis_ns
    ns_sync = ns + "-sync"
    try:
        (pipelined, c), (one_by_one, c_sync) = twins(client, ns, ns_sync, batch=7, seed=3, n=300)
        steps = 0
        while pipelined.step(wait=False):
            steps += 1
            assert len(pipelined._taken) <= 2 * 7
        pipelined.sync()
        drain(one_by_one)
        assert steps == -(-306 // 7)  # 6 deposits + 300 requests, full batches of 7
        assert raw_replies(c) == raw_replies(c_sync)
        assert all(len(bodies) == 1 for bodies in raw_replies(c).values())
        assert state_hash(pipelined.engine) == state_hash(one_by_one.engine)
        assert pipelined.commands_since_snapshot == one_by_one.commands_since_snapshot
        keys, keys_sync = Keys(ns), Keys(ns_sync)
        assert client.llen(keys.engine_inflight("all")) == 0
        journal = client.xrange(keys.journal("all"))
        assert [f for _, f in journal] == [f for _, f in client.xrange(keys_sync.journal("all"))]
        assert pipelined.last_journal_id == journal[-1][0].decode()
        assert client.get(keys.ticker("TATA-INR")) == client.get(keys_sync.ticker("TATA-INR"))
    finally:
        delete_namespace(client, ns_sync)


def test_a_crash_with_batches_taken_ahead_processes_them_once_in_order_on_restart(redis_ns):
    client, ns = redis_ns
    ns_ref = ns + "-ref"
    try:
        (first, c), (reference, c_ref) = twins(client, ns, ns_ref, batch=5, seed=9, n=80)
        for _ in range(4):
            first.step(wait=False)
        first.sync()  # the commit of the 4th batch ran; the loop dies before applying what it took
        inflight = client.llen(Keys(ns).engine_inflight("all"))
        assert inflight == len(first._taken) == 10  # two batches taken ahead
        second = service(client, ns, clock=lambda: 1_700_000_000_000, ENGINE_BATCH_SIZE="5")
        drain(second)
        drain(reference)
        assert raw_replies(c) == raw_replies(c_ref)
        assert all(len(bodies) == 1 for bodies in raw_replies(c).values())
        assert state_hash(second.engine) == state_hash(reference.engine)
        assert client.llen(Keys(ns).engine_inflight("all")) == 0
    finally:
        delete_namespace(client, ns_ref)


def burst(c: Client) -> None:
    """Funding, a resting sell, two buys that trade with it, a ping (one request per batch of 1)."""
    with c.pipelined():
        c.push("deposit", user="alice", asset="INR", amount=10_000_000)
        c.push("deposit", user="bob", asset="TATA", amount=100)
        place(c, "bob", "sell", 10_000, 5)
        place(c, "alice", "buy", 10_000, 1)
        place(c, "alice", "buy", 10_000, 2)
        c.push("ping")


def on_a_clock(redis_ns: Any, **env: str) -> tuple[Any, str, list[int], Any, Client, str]:
    """(client, ns, now, a service whose clock reads now[0], a client, the TATA-INR ticker key)."""
    client, ns = redis_ns
    now = [1_700_000_000_000]
    return (client, ns, now, service(client, ns, clock=lambda: now[0], **env), Client(client, ns),
            Keys(ns).ticker("TATA-INR"))


def test_under_load_the_ticker_is_throttled_and_the_idle_loop_publishes_the_last_change(redis_ns):
    client, _, now, engine_service, c, key = on_a_clock(redis_ns, ENGINE_BATCH_SIZE="1")
    burst(c)
    for _ in range(3):  # deposits, then the sell: the first change is published at once
        engine_service.step()
    assert orjson.loads(client.get(key))["bestAsk"] == "100.00"
    now[0] += 10
    engine_service.step()  # the buys, the next request already taken each time: held back
    engine_service.step()
    assert engine_service._taken  # the ping
    held = orjson.loads(client.get(key))
    assert (held["volume"], held["trades"]) == ("0", 0)
    engine_service.housekeeping()
    assert orjson.loads(client.get(key)) == held  # not due yet
    wait = engine_service._idle_wait_s()
    assert 0 < wait <= (TICKER_INTERVAL_MS - 10) / 1000
    now[0] += TICKER_INTERVAL_MS - 10
    engine_service.housekeeping()
    ticker = orjson.loads(client.get(key))
    assert (ticker["volume"], ticker["trades"], ticker["time"]) == ("3", 2, now[0] - TICKER_INTERVAL_MS + 10)
    assert engine_service.market_data.ticker_due_in(now[0]) is None  # nothing pending any more


def test_a_request_answered_alone_sees_its_ticker_at_once(redis_ns):
    """One request at a time (nothing taken after it): no throttling, the ticker is in its commit."""
    client, _, now, engine_service, c, key = on_a_clock(redis_ns)
    c.push("deposit", user="alice", asset="INR", amount=10_000_000)
    c.push("deposit", user="bob", asset="TATA", amount=100)
    place(c, "bob", "sell", 10_000, 5)
    drain(engine_service)
    for quantity in (1, 2, 1):
        now[0] += 1
        place(c, "alice", "buy", 10_000, quantity)
        assert engine_service.step() == 1
        assert orjson.loads(client.get(key))["time"] == now[0]
    assert orjson.loads(client.get(key))["volume"] == "4"


def test_restart_publishes_a_ticker_held_back_at_a_crash_and_leaves_a_current_one_as_it_is(redis_ns):
    client, ns, now, first, c, key = on_a_clock(redis_ns, ENGINE_BATCH_SIZE="1")
    burst(c)
    for _ in range(5):
        first.step()
    assert orjson.loads(client.get(key))["volume"] == "0"  # held back; then the engine dies
    second = service(client, ns, clock=lambda: now[0], ENGINE_BATCH_SIZE="1")  # replays the journal
    restored = client.get(key)
    assert orjson.loads(restored)["volume"] == "3"
    drain(second)  # the ping
    third = service(client, ns, clock=lambda: now[0] + 5_000)
    assert state_hash(third.engine) == state_hash(second.engine)
    assert client.get(key) == restored  # nothing changed: not rewritten with a new time
