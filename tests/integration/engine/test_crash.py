"""kill -9 the engine process while orders flow; restart it; nothing acknowledged is lost or doubled."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson
import redis

from shared.events import Trade
from shared.keys import Keys
from tests.integration.engine.test_service import Client, fund, place

ROOT = Path(__file__).resolve().parents[3]
USERS = ["u1", "u2", "u3", "u4"]


def start_engine(namespace: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MUDRA_NAMESPACE": namespace, "ENGINE_SNAPSHOT_SECONDS": "1",
           "ENGINE_BATCH_SIZE": "16"}
    return subprocess.Popen([sys.executable, "-m", "engine"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Replies:
    """All replies seen on the test's reply list, by request id (the list is read, never popped)."""

    def __init__(self, c: Client) -> None:
        self.c = c

    def all(self) -> dict[str, list[tuple[int, dict]]]:
        replies: dict[str, list[tuple[int, dict]]] = {}
        for raw in self.c.redis.lrange(self.c.reply_key, 0, -1):
            rid, status, body = raw.split(b"\t", 2)
            replies.setdefault(rid.decode(), []).append((int(status), orjson.loads(body)))
        return replies

    def wait_for(self, ids: list[str], timeout: float = 15) -> dict[str, list[tuple[int, dict]]]:
        deadline = time.monotonic() + timeout
        while True:
            replies = self.all()
            if all(rid in replies for rid in ids) or time.monotonic() > deadline:
                return replies
            time.sleep(0.02)


def random_order(c: Client, rng: random.Random, users_by_request: dict[str, str]) -> str:
    user = rng.choice(USERS)
    rid = place(c, user, rng.choice(["buy", "sell"]), rng.randint(9_990, 10_010), rng.randint(1, 5))
    users_by_request[rid] = user
    return rid


def test_kill_9_while_orders_flow_loses_no_acknowledged_order_and_applies_nothing_twice(redis_ns):
    client, ns = redis_ns
    c = Client(client, ns)
    replies = Replies(c)
    rng = random.Random(7)
    users_by_request: dict[str, str] = {}
    proc = start_engine(ns)
    try:
        assert replies.wait_for([c.push("ping")]), "engine did not start"
        fund(c, USERS)
        pushed: list[str] = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # orders flow; the engine snapshots every second
            pushed.append(random_order(c, rng, users_by_request))
            if len(pushed) % 20 == 0:
                time.sleep(0.005)
        # A burst queued in one go that the engine cannot finish before the kill: it lands mid-stream.
        with c.pipelined():
            pushed += [random_order(c, rng, users_by_request) for _ in range(3000)]
        time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        acked = {rid: rs[0][1] for rid, rs in replies.all().items() if rs[0][0] == 201}
        assert len(acked) > 50, "too little was acknowledged before the kill to test anything"
        assert len(acked) < len(pushed), "the kill came after everything was done: nothing in flight"
        pushed += [random_order(c, rng, users_by_request) for _ in range(200)]  # the engine is down
        proc = start_engine(ns)
        after = place(c, "u1", "buy", 9_000, 1)
        seen = replies.wait_for([*pushed, after])
        # Every request got exactly one reply: none lost in flight, none applied twice.
        missing = [rid for rid in [*pushed, after] if len(seen.get(rid, [])) != 1]
        assert not missing, f"{len(missing)} requests lost or answered twice"
        assert seen[after][0][0] == 201  # and it takes orders again
        # Every order acknowledged before the kill is known after it, with the same identity.
        lookups = {rid: c.push("order", user=users_by_request[rid], market="TATA-INR",
                               orderId=int(order["orderId"].rsplit("-", 1)[1]))
                   for rid, order in acked.items()}
        found = replies.wait_for(list(lookups.values()))
        for rid, lookup in lookups.items():
            status, body = found[lookup][0]
            assert status == 200, body
            assert (body["orderId"], body["createdAt"], body["quantity"]) == (
                acked[rid]["orderId"], acked[rid]["createdAt"], acked[rid]["quantity"])
        # Balances conserve: exactly the deposits.
        balance_ids = [c.push("balances", user=user) for user in USERS]
        found = replies.wait_for(balance_ids)
        totals = {"INR": Decimal(0), "TATA": Decimal(0)}
        for rid in balance_ids:
            body = found[rid][0][1]
            for asset in totals:
                totals[asset] += Decimal(body[asset]["available"]) + Decimal(body[asset]["locked"])
        assert totals == {"INR": Decimal(1_000_000 * len(USERS)), "TATA": Decimal(10_000 * len(USERS))}
        # No trade id twice, and no command sequence number committed twice.
        trade_ids, seqs = [], []
        trade_id_at = Trade.FIELDS.index("trade_id")
        for _, fields in client.xrange(Keys(ns).db_events()):  # rows per table, each starting with its seq
            trades = orjson.loads(fields[b"t"])
            trade_ids.extend(row[trade_id_at] for row in trades)
            rows = [*trades, *orjson.loads(fields[b"o"]), *orjson.loads(fields[b"b"])]
            seqs.extend(sorted({row[0] for row in rows}))
        assert trade_ids and len(trade_ids) == len(set(trade_ids))
        assert seqs == sorted(set(seqs))
    finally:
        proc.kill()
        proc.wait()


def test_losing_redis_makes_the_engine_exit_with_5_and_a_message(tmp_path: Path) -> None:
    """A private redis-server (the shared one must stay up) killed under a running engine: the engine does
    not retry a commit that may have run; it exits 5, saying why, for its supervisor to restart it."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = None
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        env = {**os.environ, "MUDRA_NAMESPACE": "lost-redis", "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        engine = subprocess.Popen([sys.executable, "-m", "engine"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        probe = redis.Redis(port=port)
        while not probe.hget(Keys("lost-redis").shards(), "TATA-INR"):  # registered: it is running
            assert engine.poll() is None, engine.stderr.read().decode() if engine.stderr else ""
            assert time.monotonic() < deadline + 20, "the engine did not register"
            time.sleep(0.05)
        probe.close()
        server.kill()
        server.wait(10)
        _, stderr = engine.communicate(timeout=30)
        assert engine.returncode == 5, stderr.decode()
        assert b"lost Redis" in stderr
    finally:
        for proc in (engine, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
