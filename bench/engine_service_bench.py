"""Engine service benchmark: requests already queued in Redis -> replies and market data published.

Fills a fresh namespace's command list with N requests (the engine_bench mix: 70% limit orders, 20%
cancels, 10% market orders, over 100 funded users, seed 42), starts ``python -m engine`` and times from
its first reply to its last, in wall-clock time and in the CPU time the engine process and Redis used
meanwhile (the box is shared, so the CPU figures are the stable ones). Everything the service does per
batch is included: moving the batch to in-flight, applying, journal + DB events + replies + market-data
frames + state keys in one Lua script call (which also takes the next batch). Prints figures; asserts
nothing.

Run: .venv/bin/python bench/engine_service_bench.py [--requests 200000] [--batch 512] [--profile FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from shared.keys import Keys
from shared.wire import encode_request

ROOT = Path(__file__).resolve().parents[1]
MID = 100_000
USERS = [f"user{i}" for i in range(100)]


def requests(n: int, reply: str, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for i, user in enumerate(USERS):
        out.append(encode_request(f"d{i}a", reply, "deposit", user=user, asset="INR", amount=10**11))
        out.append(encode_request(f"d{i}b", reply, "deposit", user=user, asset="TATA", amount=10**9))
    placed: list[tuple[str, int]] = []  # (user, order id); ids are engine seqs: deposits take 1..200
    seq = len(out)
    for i in range(n):
        seq += 1
        roll = rng.random()
        user = rng.choice(USERS)
        if roll < 0.7:
            side = rng.choice(["buy", "sell"])
            offset = rng.randint(1, 50) if rng.random() < 0.8 else -rng.randint(0, 50)
            price = MID - offset if side == "buy" else MID + offset
            out.append(encode_request(str(i), reply, "place", user=user, market="TATA-INR", side=side,
                                      type="limit", price=price, quantity=rng.randint(1, 100), tif="GTC",
                                      postOnly=False, clientOrderId=None))
            placed.append((user, seq))
        elif roll < 0.9 and placed:
            owner, order_id = placed[rng.randrange(len(placed))]
            out.append(encode_request(str(i), reply, "cancel", user=owner, market="TATA-INR",
                                      orderId=order_id))
        else:
            out.append(encode_request(str(i), reply, "place", user=user, market="TATA-INR",
                                      side=rng.choice(["buy", "sell"]), type="market", price=None,
                                      quantity=rng.randint(1, 10), tif="GTC", postOnly=False,
                                      clientOrderId=None))
    return out


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", metavar="FILE",
                        help="record the engine with py-spy (raw format); perturbs the figures")
    args = parser.parse_args()
    client = redis.Redis()
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    keys = Keys(namespace)
    reply = keys.replies("bench")
    payload = requests(args.requests, reply, args.seed)
    total = len(payload)
    for start in range(0, total, 10_000):
        client.rpush(keys.engine_in("all"), *payload[start:start + 10_000])
    env = {**os.environ, "MUDRA_NAMESPACE": namespace, "ENGINE_BATCH_SIZE": str(args.batch)}
    proc = subprocess.Popen([sys.executable, "-m", "engine"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while client.llen(reply) == 0:
            time.sleep(0.001)
        started = time.perf_counter()
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        spy = None if args.profile is None else subprocess.Popen(
            [py_spy, "record", "--nonblocking", "-r", "200", "-f", "raw", "-o", args.profile,
             "-p", str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_started, redis_started = process_cpu_s(proc.pid), redis_cpu_s(client)
        while (done := client.llen(reply)) < total:
            time.sleep(0.005)
            if proc.poll() is not None:
                raise SystemExit(f"engine exited early after {done} replies")
        elapsed = time.perf_counter() - started
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        engine_cpu, redis_cpu = process_cpu_s(proc.pid) - cpu_started, redis_cpu_s(client) - redis_started
        statuses: dict[bytes, int] = {}
        for raw in client.lrange(reply, 0, -1):
            status = raw.split(b"\t", 2)[1]
            statuses[status] = statuses.get(status, 0) + 1
        events = client.xlen(keys.db_events())
        print(f"engine service: {total:,} queued requests in {elapsed:.2f} s -> {total / elapsed:,.0f} "
              f"requests/s (batch {args.batch}); statuses {dict(sorted(statuses.items()))}; "
              f"{events:,} DB event batches")
        print(f"  CPU: engine {engine_cpu:.2f} s ({total / engine_cpu:,.0f} requests per engine CPU-second, "
              f"{engine_cpu / total * 1e6:.1f} us each), Redis {redis_cpu:.2f} s "
              f"({redis_cpu / total * 1e6:.1f} us per request); load average {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait()
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)


if __name__ == "__main__":
    main()
