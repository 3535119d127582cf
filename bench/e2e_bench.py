"""End-to-end benchmark of the live trading path: HTTP client -> API -> Redis -> engine -> back.

One run, all on loopback, prints figures and asserts nothing:

1. Baseline: bench/baseline_app.py (a bare FastAPI app, one POST endpoint taking a pydantic body and
   returning it), served by uvicorn with one worker, uvloop, httptools, no access log, and hit with the
   same request bytes (the order bodies below, same headers) and the same concurrency as the exchange.
2. The exchange: a fresh MUDRA_NAMESPACE and a fresh PostgreSQL database (created, then dropped at the
   end); ``python -m engine`` and ``python -m api`` (one uvicorn worker, a free port) as processes; waits
   for GET /api/v1/health 200; signs up one user per client plus one for the engine probe
   (POST /api/v1/users) and deposits 1,000,000,000 INR and 1,000,000,000 TATA to each (POST /deposit).
   RATE_LIMIT_PER_MINUTE is set to 1,000,000,000: the limiter runs on every request but never refuses.
   Everything else is the services' default (ENGINE_BATCH_SIZE 512, ENGINE_TIMEOUT_MS 3000).

Phases, each ``--seconds`` long, ``--clients`` keep-alive connections:
  baseline/py-closed, baseline/wrk-closed, baseline/py-fixed@50%base,
  exchange/py-closed, exchange/wrk-closed, exchange/py-fixed@50%base, exchange/py-fixed@50%own.
"closed": closed loop, each connection sends its next request as soon as the previous answer arrives
(maximum throughput; its latencies include the queueing that N outstanding requests cause).
"fixed@R": open loop at R requests/s in total, wrk2-style: each connection has its own evenly spaced
schedule, and latency is counted from the *intended* send time, so a stall delays (and is charged to)
every request scheduled behind it instead of hiding it (coordinated omission). 50%base is half the
baseline's closed-loop req/s (the higher of the py and wrk figures), 50%own half the exchange's.
The request mix of the exchange per connection (one user per connection): 80% POST /api/v1/order, a GTC
limit order on TATA-INR, quantity 1..100, buy/sell 50/50, 80% passive (1..50 ticks from 1000.00, so they
rest), 20% priced up to 50 ticks through 1000.00 (they cross), each with a unique clientOrderId; 20%
DELETE /api/v1/order/{id} of one of the connection's own orders that the API answered as still resting
(if it has none, an order instead). An order filled in the meantime answers 409 ORDER_NOT_OPEN, shown
under 409. The baseline gets the same order bodies, POST only.

Load generators (the box has 2 cores, so each one takes CPU from the services; its CPU is printed):
- py: this file's generator, one asyncio.Protocol per connection on uvloop, requests built from
  pre-encoded header bytes, responses split by Content-Length; no HTTP library, no coroutine per request.
  Latency: every request's time in ns, exact percentiles over all samples of the measured window
  (nearest rank); the first ``--warmup`` seconds of a phase are not measured.
- wrk: wrk 4 (C; Debian package ``wrk``) with one thread and a generated Lua script (same mix and
  bodies, but the users rotate per request rather than per connection; a cancel is routed by the user
  index carried in the clientOrderId). Latency from wrk's own histogram, all requests together; it has
  no warm-up. Skipped with the install command printed when wrk is missing, or with --no-wrk. wrk2
  (fixed rate) is not in Debian: the fixed-rate phases use py.
Both closed-loop figures are printed, each against the baseline measured by the same generator. Here
they cost about the same CPU per request (py ~65-75 us, wrk with its Lua callbacks ~60 us), so neither
is privileged; the p99 at 50% of the baseline rate is py-fixed's.

Engine share (command queued -> reply published), sampled in the same run without touching the engine:
during every exchange phase a separate probe process (this file, --engine-probe) pushes ``--probe-rate``
requests/s of the same mix for its own user straight onto the shard's Redis ``in`` list, exactly as the
API would (encode_request with a deadline), one at a time, and times RPUSH -> its reply popped from its
own reply list (BLPOP). So it includes the wait behind the API's requests in the queue, the batch's
processing and MULTI/EXEC, plus one Redis round trip and the probe's wake-up: an upper bound of the
engine's part of an HTTP request. The probe's requests are a few % of the engine's load.

Also printed per phase: the CPU each process used (% of one core, from /proc; Redis is shared with
anything else on the box) and per request, the whole machine's CPU use (so the share taken by other
users of the box shows), os.getloadavg(), the services' RSS, error codes of non-2xx answers, and for the
exchange the engine's batches (journal entries added) with the average requests per batch; at the end
the size of the engine's snapshot. ``--profile DIR`` records the API and engine processes with py-spy
(``record --nonblocking --function``, raw format) during exchange/py-closed, whose figures are then
perturbed, and prints their top functions.

Cleanup, also on Ctrl-C or SIGTERM: the services are stopped (SIGTERM, then SIGKILL), the namespace's
Redis keys deleted and the database dropped.

Run: .venv/bin/python bench/e2e_bench.py [--clients 64] [--seconds 20] [--warmup 2] [--probe-rate 100]
     [--no-wrk] [--profile DIR] [--keep-logs]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import redis
import uvloop

from shared.keys import Keys
from shared.wire import decode_reply, encode_request

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, for everything
REDIS_URL = "redis://127.0.0.1:6379/0"
PG_BASE = "postgresql://postgres@127.0.0.1:5432"
MARKET = "TATA-INR"
MID = 100_000  # 1000.00 in ticks of 0.01
PASSIVE_SHARE = 0.8
CANCEL_SHARE = 0.2
DEPOSIT = "1000000000"
RESTING = frozenset({"new", "partially_filled"})
MAX_TRACKED = 50_000  # open orders remembered per connection (bounds memory)
GRACE_S = 15.0  # after a phase: how long in-flight requests may still take
PLACE, CANCEL = 0, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------- figures


def percentile(ordered: list[int], per_100k: int) -> int:
    """Nearest-rank percentile of sorted samples; ``per_100k`` 99_900 is p99.9 (integer arithmetic)."""
    if not ordered:
        return 0
    rank = -(-per_100k * len(ordered) // 100_000)  # ceil
    return ordered[max(rank, 1) - 1]


def ms(ns: float) -> str:
    return f"{ns / 1e6:,.2f} ms"


def latency_line(samples: list[int]) -> str:
    if not samples:
        return "no samples"
    s = sorted(samples)
    return (f"n={len(s):,}  p50 {ms(percentile(s, 50_000))}  p99 {ms(percentile(s, 99_000))}  "
            f"p99.9 {ms(percentile(s, 99_900))}  max {ms(s[-1])}")


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def error_code(body: bytes) -> str:
    """The contract's error code of an error body (FastAPI's own shape or garbage: '?')."""
    try:
        return str(orjson.loads(body)["error"]["code"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "?"


def rss_mib(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return f"{int(line.split()[1]) / 1024:,.0f}"
    except OSError:
        pass
    return "?"


def proc_ticks(pid: int) -> int | None:
    """utime + stime of a process (all its threads), in clock ticks; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def machine_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the machine since boot."""
    with open("/proc/stat", "rb") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return sum(values), values[3] + values[4]


class CpuMeter:
    """CPU used by named processes over a window, as % of one core, and the machine's busy %."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = time.monotonic()
        self.ticks = {name: proc_ticks(pid) for name, pid in pids.items()}
        self.machine = machine_ticks()

    def stop(self, extra_cpu_s: dict[str, float] | None = None) -> tuple[str, dict[str, float]]:
        """(a line to print, CPU seconds by process name)."""
        wall = time.monotonic() - self.start
        parts = []
        ours = 0.0
        seconds_by_name: dict[str, float] = {}
        for name, pid in self.pids.items():
            before, after = self.ticks[name], proc_ticks(pid)
            if before is not None and after is not None:
                seconds_by_name[name] = (after - before) / CLK_TCK
                used = 100 * seconds_by_name[name] / wall
                ours += used
                parts.append(f"{name} {used:.0f}")
        for name, seconds in (extra_cpu_s or {}).items():
            seconds_by_name[name] = seconds
            ours += 100 * seconds / wall
            parts.append(f"{name} {100 * seconds / wall:.0f}")
        total, idle = machine_ticks()
        d_total, d_idle = total - self.machine[0], idle - self.machine[1]
        busy = 100 * (d_total - d_idle) / CLK_TCK / wall
        cores = os.cpu_count() or 1
        rss = ", ".join(f"{name} {rss_mib(pid)}" for name, pid in self.pids.items() if name != "redis")
        return (f"CPU % of one core: {', '.join(parts)}; whole machine {busy:.0f} of {100 * cores}"
                f" (everything else: kernel, probe, other users ~{max(busy - ours, 0):.0f}); "
                f"loadavg {loadavg()}; RSS MiB {rss}"), seconds_by_name


@dataclass
class PhaseResult:
    name: str
    seconds: float
    kinds: tuple[str, ...]
    latencies: list[list[int]] = field(default_factory=lambda: [[], []])  # by kind, ns
    service: list[int] = field(default_factory=list)  # fixed rate: from the actual send, ns
    send_lag: list[int] = field(default_factory=list)  # fixed rate: actual send - intended, ns
    statuses: Counter[tuple[int, str]] = field(default_factory=Counter)  # (kind, "status [error code]")
    errors: Counter[str] = field(default_factory=Counter)
    target_rate: float | None = None
    scheduled: int = 0  # fixed rate: sends due inside the measured window
    unsent: int = 0  # fixed rate: sends due before the end but never made
    wrk: dict[str, Any] | None = None
    batches: int | None = None  # exchange: engine batches with commands (journal entries added)
    cpu: str = ""
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds by process over the phase
    wall_s: float = 0.0  # the phase's length as the CPU meter saw it (warm-up and tail included)
    probe: dict[str, Any] | None = None
    profile: list[str] = field(default_factory=list)

    def count(self, kind: int | None = None) -> int:
        if self.wrk is not None:
            return int(self.wrk["requests"]) if kind is None else int(self.wrk["sent"][kind])
        return sum(n for (k, _), n in self.statuses.items() if kind is None or k == kind)

    def rate(self, kind: int | None = None) -> float:
        return self.count(kind) / self.seconds

    def p99_ns(self) -> int:
        if self.wrk is not None:
            return int(self.wrk["p99"] * 1000)
        return percentile(sorted(self.latencies[PLACE] + self.latencies[CANCEL]), 99_000)

    def cpu_per_request_us(self, name: str) -> float:
        """CPU time of a process over the phase / requests answered in it (extrapolated from the window)."""
        served = self.count() * max(self.wall_s, self.seconds) / self.seconds
        return 1e6 * self.cpu_s.get(name, 0.0) / served if served else 0.0

    def e2e_p50(self) -> tuple[int, str]:
        """The HTTP p50 the engine's part is compared with, and what it is."""
        if self.wrk is not None:
            return int(self.wrk["p50"] * 1000), "wrk p50, all requests"
        if self.target_rate is not None:
            return percentile(sorted(self.service), 50_000), "p50 from the actual send, all requests"
        return percentile(sorted(self.latencies[PLACE]), 50_000), f"p50 {self.kinds[PLACE]}"

    def report(self) -> None:
        print(f"\n== {self.name}: {self.seconds:.1f} s measured")
        if self.wrk is not None:
            w = self.wrk
            sent = ", ".join(f"{self.kinds[k]} {w['sent'][k]:,}" for k in (PLACE, CANCEL) if w["sent"][k])
            print(f"   {w['requests'] / self.seconds:,.0f} req/s ({w['requests']:,} responses; sent {sent})")
            print(f"   latency (wrk, all requests): p50 {ms(w['p50'] * 1000)}  p99 {ms(w['p99'] * 1000)}  "
                  f"p99.9 {ms(w['p999'] * 1000)}  max {ms(w['max'] * 1000)}")
            statuses = ", ".join(f"{k} x{v:,}" for k, v in sorted(w["statuses"].items()))
            print(f"   statuses: {statuses}; socket errors {w['errors']}")
        else:
            rates = ", ".join(f"{self.kinds[k]} {self.rate(k):,.0f}/s"
                              for k in (PLACE, CANCEL) if self.count(k))
            print(f"   {self.rate():,.0f} req/s ({rates})")
            if self.target_rate is not None:
                print(f"   offered {self.target_rate:,.0f} req/s: ~{self.scheduled:,} sends due in the "
                      f"window; {self.unsent:,} due before the end never sent (behind schedule)")
            label = "latency from the intended send" if self.target_rate is not None else "latency"
            for kind in (PLACE, CANCEL):
                if self.latencies[kind]:
                    print(f"   {label} {self.kinds[kind]}: {latency_line(self.latencies[kind])}")
            if self.target_rate is not None:
                print(f"   latency from the actual send, all: {latency_line(self.service)}")
                print(f"   generator send lag (actual - intended): {latency_line(self.send_lag)}")
            statuses = "; ".join(
                f"{self.kinds[kind]} " + ", ".join(f"{status} x{n:,}" for (k, status), n
                                                   in sorted(self.statuses.items()) if k == kind)
                for kind in (PLACE, CANCEL) if self.count(kind))
            print(f"   statuses: {statuses}; transport errors: {dict(self.errors) or 'none'}")
        print(f"   {self.cpu}")
        per = ", ".join(f"{name} {self.cpu_per_request_us(name):,.0f}" for name in self.cpu_s)
        if self.count():
            print(f"   CPU per request (us, ~ CPU time / requests answered in the metered time): {per}")
        if self.probe is not None:
            p = self.probe
            samples = p["latencies"]
            print(f"   engine probe ({p['rate']:.0f}/s, RPUSH -> reply popped): {latency_line(samples)}; "
                  f"statuses {p['statuses']}; probe CPU {p['cpu_s']:.1f} s")
            if samples:
                e2e, what = self.e2e_p50()
                share = percentile(sorted(samples), 50_000) / max(e2e, 1)
                print(f"   engine probe p50 / HTTP {what} = {100 * share:.0f}%")
        if self.batches:
            probes = len(self.probe["latencies"]) if self.probe else 0
            requests = (self.count() + probes) * max(self.wall_s, self.seconds) / self.seconds
            print(f"   engine: {self.batches:,} batches with commands over the phase, "
                  f"~{requests / self.batches:.1f} requests each (rough: requests extrapolated from the "
                  "measured window)")
        for line in self.profile:
            print(f"   {line}")


# ---------------------------------------------------------------------------------------- workload


def place_body(rng: random.Random, tag: bytes, n: int) -> bytes:
    """One GTC limit order on TATA-INR: 80% passive (rests), 20% through the mid (crosses)."""
    buy = rng.random() < 0.5
    offset = rng.randint(1, 50) if rng.random() < PASSIVE_SHARE else -rng.randint(0, 50)
    price = MID - offset if buy else MID + offset
    return (b'{"market":"TATA-INR","kind":"%s","type":"limit","price":"%d.%02d","quantity":"%d",'
            b'"timeInForce":"GTC","postOnly":false,"clientOrderId":"%s%d"}'
            % (b"buy" if buy else b"sell", price // 100, price % 100, rng.randint(1, 100), tag, n))


class Account:
    """One user of the load generator: its key, pre-encoded request heads and its resting orders."""

    __slots__ = ("counter", "delete_head", "delete_tail", "headers", "open", "rng", "tag")

    def __init__(self, index: int, api_key: str, port: int, seed: int) -> None:
        host = f"Host: {HOST}:{port}\r\n".encode()
        auth = f"Authorization: Bearer {api_key}\r\n".encode()
        self.headers = host + auth
        self.delete_head = b"DELETE /api/v1/order/"
        self.delete_tail = b" HTTP/1.1\r\n" + host + auth + b"\r\n"
        self.rng = random.Random(seed * 1_000_003 + index)
        self.tag = b"c%d-" % index
        self.counter = 0
        self.open: list[bytes] = []

    def post_head(self, path: bytes) -> bytes:
        return b"POST " + path + b" HTTP/1.1\r\n" + self.headers + b"Content-Type: application/json\r\n"


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request in flight at a time."""

    def __init__(self, phase: LoadPhase, account: Account) -> None:
        self.phase = phase
        self.account = account
        self.post_head = account.post_head(phase.path)
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses
        self.buf = b""
        self.kind = PLACE
        self.sent = 0
        self.intended = 0
        self.next_at = 0
        self.busy = False
        self.finished = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.finished:
            self.phase.result.errors["connection lost" + (" mid-request" if self.busy else "")] += 1
            self.busy = False
            self.phase.finish(self)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while buf:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            at = buf.find(b"content-length:", 0, end)
            if at < 0:
                at = buf[:end].lower().find(b"content-length:")
            if at < 0:
                self.phase.result.errors["response without content-length"] += 1
                self.buf = b""
                if self.transport is not None:
                    self.transport.close()
                return
            total = end + 4 + int(buf[at + 15:buf.find(b"\r\n", at)])
            if len(buf) < total:
                break
            status, body = int(buf[9:12]), buf[end + 4:total]
            buf = buf[total:]
            self.phase.on_response(self, status, body)
        self.buf = buf


class LoadPhase:
    """One phase of the py generator: closed loop (rate None) or fixed rate, over all accounts."""

    def __init__(self, result: PhaseResult, accounts: list[Account], port: int, path: bytes,
                 exchange: bool, seconds: float, warmup: float, rate: float | None) -> None:
        self.result = result
        self.accounts = accounts
        self.port = port
        self.path = path
        self.exchange = exchange
        self.seconds = seconds
        self.warmup = warmup
        self.rate = rate
        self.interval = int(len(accounts) * 1e9 / rate) if rate else 0
        self.measure_from = 0
        self.end = 0
        self.active = 0
        self.done: asyncio.Future[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        loop = self.loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        conns = [Conn(self, account) for account in self.accounts]
        for conn in conns:
            await loop.create_connection(lambda c=conn: c, HOST, self.port)
        t0 = time.perf_counter_ns()
        self.measure_from = t0 + int(self.warmup * 1e9)
        self.end = self.measure_from + int(self.seconds * 1e9)
        self.active = len(conns)
        for i, conn in enumerate(conns):
            if self.rate is None:
                self.send(conn, t0)
            else:
                conn.next_at = t0 + int(i * 1e9 / self.rate)
                loop.call_later((conn.next_at - t0) / 1e9, self.fire, conn)
        try:
            timeout = (self.end - time.perf_counter_ns()) / 1e9 + GRACE_S
            await asyncio.wait_for(asyncio.shield(self.done), timeout)
        except TimeoutError:
            busy = sum(1 for c in conns if c.busy)
            self.result.errors[f"no answer {GRACE_S:.0f} s after the end"] += busy
        finally:
            for conn in conns:
                conn.finished = True
                if conn.transport is not None:
                    conn.transport.close()
        if self.rate is not None:
            due = 0
            for i in range(len(conns)):
                first = t0 + int(i * 1e9 / self.rate)
                start = max(first, self.measure_from)
                if start < self.end:
                    due += -(-(self.end - start) // self.interval)
            self.result.scheduled = due

    def make_request(self, conn: Conn) -> tuple[int, bytes]:
        account = conn.account
        rng = account.rng
        if account.open and rng.random() < CANCEL_SHARE:
            open_ids = account.open
            i = rng.randrange(len(open_ids))
            order_id = open_ids[i]
            open_ids[i] = open_ids[-1]
            open_ids.pop()
            return CANCEL, account.delete_head + order_id + account.delete_tail
        account.counter += 1
        body = place_body(rng, account.tag, account.counter)
        return PLACE, conn.post_head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    def fire(self, conn: Conn) -> None:
        if not conn.finished:
            self.send(conn, conn.next_at)

    def send(self, conn: Conn, intended: int) -> None:
        if conn.transport is None:
            self.finish(conn)
            return
        conn.kind, raw = self.make_request(conn)
        conn.intended = intended
        conn.next_at += self.interval
        conn.busy = True
        conn.sent = time.perf_counter_ns()
        conn.transport.write(raw)

    def on_response(self, conn: Conn, status: int, body: bytes) -> None:
        now = time.perf_counter_ns()
        conn.busy = False
        kind = conn.kind
        result = self.result
        if kind == PLACE and status == 201 and self.exchange:
            order = orjson.loads(body)
            if order.get("fillStatus") in RESTING and len(conn.account.open) < MAX_TRACKED:
                conn.account.open.append(order["orderId"].encode())
        if self.measure_from <= now < self.end:
            result.statuses[(kind, str(status) if status < 300 else f"{status} {error_code(body)}")] += 1
            if self.rate is None:
                result.latencies[kind].append(now - conn.sent)
            else:
                result.latencies[kind].append(now - conn.intended)
                result.service.append(now - conn.sent)
                result.send_lag.append(conn.sent - conn.intended)
        if conn.finished:
            return
        if now >= self.end:
            self.finish(conn)
        elif self.rate is None:
            self.send(conn, now)
        elif conn.next_at >= self.end:
            self.finish(conn)
        elif conn.next_at <= now:
            self.send(conn, conn.next_at)  # behind schedule: at once, still charged from next_at
        else:
            assert self.loop is not None
            self.loop.call_later((conn.next_at - now) / 1e9, self.fire, conn)

    def finish(self, conn: Conn) -> None:
        if conn.finished:
            return
        conn.finished = True
        if self.rate is not None and conn.next_at < self.end:
            self.result.unsent += -(-(self.end - conn.next_at) // self.interval)
        self.active -= 1
        if self.active <= 0 and self.done is not None and not self.done.done():
            self.done.set_result(None)


# ---------------------------------------------------------------------------------------- wrk

WRK_SCRIPT = r"""
-- generated by bench/e2e_bench.py
local keys = {@KEYS@}
local path = "@PATH@"
local cancel_share = @CANCEL@
local passive_share = @PASSIVE@
local mid = @MID@
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

statuses = {}
sent_place = 0
sent_cancel = 0
local n = 0
local hdrs = {}
local open_ids, open_users, nopen = {}, {}, 0

function init(args)
  math.randomseed(4242 + tid)
  for i, key in ipairs(keys) do
    hdrs[i] = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
  end
end

function request()
  n = n + 1
  if nopen > 0 and math.random() < cancel_share then
    local i = math.random(nopen)
    local id, u = open_ids[i], open_users[i]
    open_ids[i], open_users[i] = open_ids[nopen], open_users[nopen]
    open_ids[nopen], open_users[nopen] = nil, nil
    nopen = nopen - 1
    sent_cancel = sent_cancel + 1
    local h = {["Authorization"] = hdrs[u]["Authorization"]}
    return wrk.format("DELETE", "/api/v1/order/" .. id, h)
  end
  local u = (n % #keys) + 1
  local kind, price
  local offset
  if math.random() < passive_share then offset = math.random(1, 50) else offset = -math.random(0, 50) end
  if math.random() < 0.5 then kind, price = "buy", mid - offset else kind, price = "sell", mid + offset end
  local body = string.format('{"market":"TATA-INR","kind":"%s","type":"limit","price":"%d.%02d",'
    .. '"quantity":"%d","timeInForce":"GTC","postOnly":false,"clientOrderId":"w%d-%d-%d"}',
    kind, math.floor(price / 100), price % 100, math.random(1, 100), u, tid, n)
  sent_place = sent_place + 1
  return wrk.format("POST", path, hdrs[u], body)
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if status == 201 and cancel_share > 0 and nopen < 200000 then
    local fs = string.match(body, '"fillStatus":"([%a_]+)"')
    if fs == "new" or fs == "partially_filled" then
      local id = string.match(body, '"orderId":"([^"]+)"')
      local u = tonumber(string.match(body, '"clientOrderId":"w(%d+)%-'))
      if id and u then
        nopen = nopen + 1
        open_ids[nopen], open_users[nopen] = id, u
      end
    end
  end
end

function done(summary, latency, requests)
  local all, place, cancel = {}, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
    place = place + t:get("sent_place")
    cancel = cancel + t:get("sent_cancel")
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format('E2EJSON {"requests":%d,"duration_us":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d,'
    .. '"sent":[%d,%d],"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, place, cancel, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout))
end
"""


def wrk_script(keys: list[str], path: str, cancel_share: float) -> str:
    return (WRK_SCRIPT.replace("@KEYS@", ", ".join(f'"{k}"' for k in keys)).replace("@PATH@", path)
            .replace("@CANCEL@", repr(cancel_share)).replace("@PASSIVE@", repr(PASSIVE_SHARE))
            .replace("@MID@", str(MID)))


# ---------------------------------------------------------------------------------------- engine probe


def probe_main(config_json: str) -> int:
    """Child process: push requests onto the engine's list at a fixed rate, one at a time; time replies."""
    cfg = json.loads(config_json)
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=None)
    keys = Keys(cfg["namespace"])
    reply = keys.replies(f"probe-{uuid.uuid4().hex[:8]}")
    inbox = keys.engine_in(cfg["shard"])
    rng = random.Random(cfg["seed"])
    interval = 1.0 / cfg["rate"]
    latencies: list[int] = []
    statuses: Counter[str] = Counter()
    open_ids: list[int] = []
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    start = time.perf_counter()
    end = start + cfg["seconds"]
    measure_from = start + cfg["warmup"]
    next_at = start
    for i in range(int(cfg["seconds"] * cfg["rate"]) + 1):
        now = time.perf_counter()
        if stop or now >= end:
            break
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        if open_ids and rng.random() < CANCEL_SHARE:
            op = "cancel"
            fields: dict[str, Any] = {"user": cfg["user"], "market": MARKET,
                                      "orderId": open_ids.pop(rng.randrange(len(open_ids)))}
        else:
            op = "place"
            buy = rng.random() < 0.5
            offset = rng.randint(1, 50) if rng.random() < PASSIVE_SHARE else -rng.randint(0, 50)
            fields = {"user": cfg["user"], "market": MARKET, "side": "buy" if buy else "sell",
                      "type": "limit", "price": MID - offset if buy else MID + offset,
                      "quantity": rng.randint(1, 100), "tif": "GTC", "postOnly": False,
                      "clientOrderId": f"p{cfg['seed']}-{i}"}
        request_id = f"probe:{i}"
        raw = encode_request(request_id, reply, op, deadline=time.time_ns() // 1_000_000 + 3000, **fields)
        t0 = time.perf_counter_ns()
        client.rpush(inbox, raw)
        for _ in range(100):  # skip a late reply to an earlier probe that timed out
            popped = client.blpop([reply], timeout=5)
            if popped is None:
                statuses["timeout"] += 1
                break
            got_id, status, body = decode_reply(popped[1])
            if got_id != request_id:
                continue
            t1 = time.perf_counter_ns()
            if t0 >= measure_from * 1e9:
                latencies.append(t1 - t0)
                statuses[f"{op} {status}"] += 1
            if op == "place" and status == 201:
                order = orjson.loads(body)
                if order["fillStatus"] in RESTING:
                    open_ids.append(int(order["orderId"].rsplit("-", 1)[1]))
            break
    client.delete(reply)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(cfg["out"]).write_text(json.dumps({"latencies": latencies, "statuses": dict(statuses),
                                            "rate": cfg["rate"], "cpu_s": usage.ru_utime + usage.ru_stime}))
    return 0


# ---------------------------------------------------------------------------------------- profiles


def summarize_profile(path: Path, name: str, seconds: float, rate: int, top: int = 12) -> list[str]:
    """Top functions of a py-spy raw (collapsed) profile: own samples and samples anywhere on the stack."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        return [f"profile {name}: none ({exc})"]
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f]
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    if not total:
        return [f"profile {name}: no samples"]
    out = [f"profile {name}: {total:,} samples at {rate}/s over {seconds:.0f} s "
           f"(~{100 * total / (rate * seconds):.0f}% of the time on CPU in Python); file {path}",
           "  own time (leaf frame):"]
    out += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out.append("  anywhere on the stack:")
    out += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in anywhere.most_common(top * 2)]
    return out


# ---------------------------------------------------------------------------------------- the run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def admin_sql(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(f"{PG_BASE}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        tag = uuid.uuid4().hex[:10]
        self.namespace = f"e2e-bench-{tag}"
        self.database = f"mudra_e2e_{tag}"
        self.tmp = Path(tempfile.mkdtemp(prefix="e2e-bench-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.db_created = False
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        self.results: dict[str, PhaseResult] = {}
        self.redis_pid = int(self.redis.info("server")["process_id"])
        self.wrk = None if args.no_wrk else shutil.which("wrk")
        self.shard = "all"
        self.probe_user = ""

    # ------------------------------------------------------------------ processes

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def log_tail(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.tmp / f"{name}.log").read_text(errors="replace").splitlines()[-20:])
        return ""

    def wait_http(self, name: str, check: Callable[[httpx.Client], bool], budget_s: float = 60.0) -> None:
        deadline = time.monotonic() + budget_s
        with httpx.Client(timeout=3) as http:
            while time.monotonic() < deadline:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited ({proc.returncode}):\n{self.log_tail(name)}")
                with contextlib.suppress(httpx.HTTPError):
                    if check(http):
                        return
                time.sleep(0.2)
        raise SystemExit(f"{name} not ready after {budget_s:.0f} s:\n{self.log_tail(name)}")

    def cleanup(self) -> None:
        for name in list(self.procs)[::-1]:
            with contextlib.suppress(Exception):
                self.stop(name)
        with contextlib.suppress(Exception):
            batch = []
            for key in self.redis.scan_iter(match=f"{self.namespace}:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self.redis.unlink(*batch)
                    batch.clear()
            if batch:
                self.redis.unlink(*batch)
        if self.db_created:
            try:
                admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            except Exception as exc:
                print(f"could not drop database {self.database}: {exc}", file=sys.stderr)
        with contextlib.suppress(Exception):
            self.runner.close()
        if self.args.keep_logs:
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ phases

    def py_phase(self, name: str, kinds: tuple[str, ...], accounts: list[Account], port: int, path: bytes,
                 exchange: bool, rate: float | None, pids: dict[str, int]) -> PhaseResult:
        args = self.args
        result = PhaseResult(name, args.seconds, kinds, target_rate=rate)
        phase = LoadPhase(result, accounts, port, path, exchange, args.seconds, args.warmup, rate)
        probe = self.start_probe(name, args.warmup) if exchange else None
        batches = self.journal_entries() if exchange else None
        profiled = rate is None or args.only_fixed is not None
        profilers = self.start_profilers(pids) if exchange and args.profile and profiled else {}
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        meter = CpuMeter(pids)
        self.runner.run(phase.run())
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        own = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
        result.wall_s = time.monotonic() - meter.start
        result.cpu, result.cpu_s = meter.stop({"load generator (py)": own})
        result.probe = self.finish_probe(probe)
        if batches is not None:
            result.batches = self.journal_entries() - batches
        result.profile = self.finish_profilers(profilers)
        self.results[name] = result
        result.report()
        return result

    def wrk_phase(self, name: str, kinds: tuple[str, ...], keys: list[str], port: int, path: str,
                  exchange: bool, pids: dict[str, int]) -> PhaseResult | None:
        if self.wrk is None:
            return None
        args = self.args
        script = self.tmp / f"{name.replace('/', '_')}.lua"
        script.write_text(wrk_script(keys, path, CANCEL_SHARE if exchange else 0.0))
        out = self.tmp / f"{name.replace('/', '_')}.wrk.out"
        probe = self.start_probe(name, 0.0) if exchange else None
        batches = self.journal_entries() if exchange else None
        cmd = [self.wrk, "-t1", f"-c{args.clients}", f"-d{args.seconds:g}s", "--timeout", "10s",
               "-s", str(script), f"http://{HOST}:{port}{path}"]
        meter = CpuMeter(pids)
        with out.open("wb") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs["wrk"] = proc
        deadline = time.monotonic() + args.seconds + 60
        usage = None
        while time.monotonic() < deadline:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        self.procs.pop("wrk", None)
        if proc.returncode is None:
            proc.kill()
            proc.wait(5)
            raise SystemExit(f"wrk did not finish in time: {out.read_text(errors='replace')[-2000:]}")
        wrk_cpu = (usage.ru_utime + usage.ru_stime) if usage is not None else 0.0
        wall_s = time.monotonic() - meter.start
        cpu, cpu_s = meter.stop({"load generator (wrk)": wrk_cpu})
        text = out.read_text(errors="replace")
        line = next((ln for ln in text.splitlines() if ln.startswith("E2EJSON ")), None)
        if line is None:
            raise SystemExit(f"wrk printed no result:\n{text[-2000:]}")
        data = json.loads(line.removeprefix("E2EJSON "))
        result = PhaseResult(name, data["duration_us"] / 1e6, kinds, wrk=data, cpu=cpu, cpu_s=cpu_s,
                             wall_s=wall_s)
        result.probe = self.finish_probe(probe)
        if batches is not None:
            result.batches = self.journal_entries() - batches
        self.results[name] = result
        result.report()
        return result

    def journal_entries(self) -> int:
        """Entries ever added to the shard's journal (one per batch with commands; trimming aside)."""
        try:
            info = self.redis.xinfo_stream(Keys(self.namespace).journal(self.shard))
        except redis.ResponseError:
            return 0
        return int(info.get("entries-added", 0))

    def start_probe(self, name: str, warmup: float) -> tuple[subprocess.Popen[bytes], Path] | None:
        if self.args.probe_rate <= 0:
            return None
        out = self.tmp / f"probe-{name.replace('/', '_')}.json"
        cfg = {"namespace": self.namespace, "shard": self.shard, "user": self.probe_user, "out": str(out),
               "rate": self.args.probe_rate, "seconds": self.args.seconds + warmup, "warmup": warmup,
               "seed": len(self.results) + 1}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--engine-probe", json.dumps(cfg)]
        proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
        self.procs[f"probe {name}"] = proc
        return proc, out

    def finish_probe(self, probe: tuple[subprocess.Popen[bytes], Path] | None) -> dict[str, Any] | None:
        if probe is None:
            return None
        proc, out = probe
        try:
            proc.wait(self.args.seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for key in [k for k, p in self.procs.items() if p is proc]:
            del self.procs[key]
        try:
            data: dict[str, Any] = json.loads(out.read_text())
        except (OSError, ValueError):
            return None
        return data

    def start_profilers(self, pids: dict[str, int]) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
        profile_dir = Path(self.args.profile).resolve()
        profile_dir.mkdir(parents=True, exist_ok=True)
        py_spy = Path(sys.executable).parent / "py-spy"
        started = {}
        for target in ("api", "engine"):
            out = profile_dir / f"{target}.txt"
            seconds = math.ceil(self.args.seconds + self.args.warmup)
            cmd = [str(py_spy), "record", "--pid", str(pids[target]), "--duration", str(seconds),
                   "--rate", str(self.args.profile_rate), "--format", "raw", "--function", "--nonblocking",
                   "--output", str(out)]
            if self.args.profile_native:
                cmd.append("--native")
            log = (self.tmp / f"py-spy-{target}.log").open("wb")
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            self.procs[f"py-spy {target}"] = proc
            started[target] = (proc, out)
        return started

    def finish_profilers(self, profilers: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> list[str]:
        lines: list[str] = []
        for target, (proc, out) in profilers.items():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            self.procs.pop(f"py-spy {target}", None)
            seconds = self.args.seconds + self.args.warmup
            lines += summarize_profile(out, target, seconds, self.args.profile_rate)
        return lines

    def start_exchange(self) -> tuple[list[Account], list[str], int, dict[str, int]]:
        """Start engine + API in a fresh namespace and database; sign up and fund the users."""
        args = self.args
        admin_sql(f'CREATE DATABASE "{self.database}"')
        self.db_created = True
        port = free_port()
        env = {"MUDRA_NAMESPACE": self.namespace, "REDIS_URL": REDIS_URL,
               "DATABASE_URL": f"{PG_BASE}/{self.database}", "API_HOST": HOST, "API_PORT": str(port),
               "RATE_LIMIT_PER_MINUTE": "1000000000"}
        self.start("engine", [sys.executable, "-m", "engine"], env)
        self.start("api", [sys.executable, "-m", "api"], env)
        base_url = f"http://{HOST}:{port}/api/v1"
        self.wait_http("api", lambda h: h.get(f"{base_url}/health").status_code == 200)
        self.shard = (self.redis.hget(Keys(self.namespace).shards(), MARKET) or b"all").decode()
        users: list[tuple[str, str]] = []
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for _ in range(args.clients + 1):
                signup = http.post("/users")
                if signup.status_code != 201:
                    raise SystemExit(f"POST /users answered {signup.status_code}: {signup.text}")
                user = signup.json()
                for asset in ("INR", "TATA"):
                    deposit = http.post("/deposit", json={"asset": asset, "amount": DEPOSIT},
                                        headers={"Authorization": f"Bearer {user['apiKey']}"})
                    if deposit.status_code != 200:
                        raise SystemExit(f"POST /deposit answered {deposit.status_code}: {deposit.text}")
                users.append((user["userId"], user["apiKey"]))
        self.probe_user = users[-1][0]
        keys = [key for _, key in users[:-1]]
        print(f"\nexchange up: namespace {self.namespace}, database {self.database}, shard {self.shard!r}, "
              f"{len(keys)} users + 1 probe user funded")
        accounts = [Account(i, key, port, args.seed) for i, key in enumerate(keys)]
        pids = {"api": self.procs["api"].pid, "engine": self.procs["engine"].pid, "redis": self.redis_pid}
        return accounts, keys, port, pids

    def execute_only_fixed(self, rate: float) -> None:
        """--only-fixed: just exchange/py-fixed at ``rate`` req/s (profiled with --profile)."""
        accounts, _, port, pids = self.start_exchange()
        kinds_ex = ("POST /order", "DELETE /order")
        result = self.py_phase(f"exchange/py-fixed@{rate:g}", kinds_ex, accounts, port, b"/api/v1/order",
                               True, rate, pids)
        print(f"\n== p99 at {rate:,.0f} req/s offered: {ms(result.p99_ns())} (achieved "
              f"{result.rate():,.0f} req/s); API CPU per request {result.cpu_per_request_us('api'):,.0f} us, "
              f"engine {result.cpu_per_request_us('engine'):,.0f} us, redis "
              f"{result.cpu_per_request_us('redis'):,.0f} us; loadavg {loadavg()}")
        for line in result.profile:
            print(line)

    # ------------------------------------------------------------------ main

    def execute(self) -> None:
        args = self.args
        print(f"e2e bench: {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
              f"loadavg {loadavg()} (1/5/15 min) at start; {args.clients} connections, {args.seconds:g} s "
              f"per phase (py phases after a {args.warmup:g} s warm-up), engine probe {args.probe_rate:g}/s")
        if self.wrk is None and not args.no_wrk:
            print("wrk not found: wrk phases skipped (install it with: apt-get install -y wrk)")
        kinds_base = ("POST /bench", "-")
        kinds_ex = ("POST /order", "DELETE /order")

        if args.only_fixed is not None:
            self.execute_only_fixed(args.only_fixed)
            return
        # Baseline.
        port = free_port()
        self.start("baseline", [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"),
                                "baseline_app:app", "--host", HOST, "--port", str(port), "--loop", "uvloop",
                                "--http", "httptools", "--no-access-log", "--log-level", "warning"], {})
        sample = place_body(random.Random(1), b"x", 1)
        json_type = {"Content-Type": "application/json"}
        self.wait_http("baseline", lambda h: h.post(f"http://{HOST}:{port}/bench", content=sample,
                                                    headers=json_type).status_code == 200)
        # Keys as long as real ones (43 characters), so the requests are the same size; never checked.
        fake_keys = [uuid.uuid4().hex + uuid.uuid4().hex[:11] for _ in range(args.clients)]
        accounts = [Account(i, key, port, args.seed) for i, key in enumerate(fake_keys)]
        pids = {"baseline app": self.procs["baseline"].pid}
        base_py = self.py_phase("baseline/py-closed", kinds_base, accounts, port, b"/bench", False, None,
                                pids)
        base_wrk = self.wrk_phase("baseline/wrk-closed", kinds_base, fake_keys, port, "/bench", False,
                                  pids)
        base_rate = max(base_py.rate(), base_wrk.rate() if base_wrk else 0.0)
        base_fixed = self.py_phase("baseline/py-fixed@50%base", kinds_base, accounts, port, b"/bench", False,
                                   base_rate / 2, pids)
        self.stop("baseline")

        # The exchange.
        accounts, keys, port, pids = self.start_exchange()
        order = b"/api/v1/order"
        ex_py = self.py_phase("exchange/py-closed", kinds_ex, accounts, port, order, True, None, pids)
        ex_wrk = self.wrk_phase("exchange/wrk-closed", kinds_ex, keys, port, order.decode(), True, pids)
        ex_fixed = self.py_phase("exchange/py-fixed@50%base", kinds_ex, accounts, port, order, True,
                                 base_rate / 2, pids)
        own_rate = max(ex_py.rate(), ex_wrk.rate() if ex_wrk else 0.0)
        ex_own = self.py_phase("exchange/py-fixed@50%own", kinds_ex, accounts, port, order, True,
                               own_rate / 2, pids)
        for name in ("api", "engine"):
            proc = self.procs[name]
            if proc.poll() is not None:
                print(f"\n!! {name} exited ({proc.returncode}) during the run:\n{self.log_tail(name)}")
        snapshot = self.redis.strlen(Keys(self.namespace).snapshot(self.shard))
        print(f"\nengine snapshot now {snapshot / 2**20:,.1f} MiB (taken every 30 s while busy)")

        # Summary.
        print(f"\n== SUMMARY ({args.clients} connections, {args.seconds:g} s per phase, "
              f"{os.cpu_count()} CPUs, loadavg now {loadavg()})")
        print(f"baseline bare FastAPI POST (pydantic body), one uvicorn worker: py {base_py.rate():,.0f} "
              "req/s" + (f", wrk {base_wrk.rate():,.0f} req/s" if base_wrk else "")
              + f"; 50% of the higher = {base_rate / 2:,.0f} req/s")
        for label, ex, base in (("py", ex_py, base_py), ("wrk", ex_wrk, base_wrk)):
            if ex is None or base is None or not base.rate():
                continue
            print(f"exchange ({label}, closed loop): {ex.rate():,.0f} req/s = "
                  f"{100 * ex.rate() / base.rate():.0f}% of the baseline's {base.rate():,.0f}; "
                  f"POST /order {ex.rate(PLACE):,.0f}/s = {100 * ex.rate(PLACE) / base.rate():.0f}% of it "
                  f"(the rest are DELETEs); p99 {ms(ex.p99_ns())} at {args.clients} outstanding requests")
        for label, ex, base in (("py", ex_py, base_py), ("wrk", ex_wrk, base_wrk)):
            if ex is None or base is None:
                continue
            app, api = base.cpu_per_request_us("baseline app"), ex.cpu_per_request_us("api")
            print(f"CPU per request ({label} closed loop): baseline app {app:,.0f} us, api {api:,.0f} us "
                  f"({api / max(app, 1):.1f}x), engine {ex.cpu_per_request_us('engine'):,.0f} us, "
                  f"redis {ex.cpu_per_request_us('redis'):,.0f} us")
        print(f"p99 at 50% of the baseline rate ({base_rate / 2:,.0f} req/s offered, py, latency from the "
              f"intended send): exchange {ms(ex_fixed.p99_ns())} (achieved {ex_fixed.rate():,.0f} req/s, "
              f"{ex_fixed.unsent:,} sends never made); baseline itself {ms(base_fixed.p99_ns())}")
        print(f"p99 at 50% of the exchange's own rate ({own_rate / 2:,.0f} req/s offered): "
              f"{ms(ex_own.p99_ns())} (achieved {ex_own.rate():,.0f} req/s)")
        for res in (ex_py, ex_wrk, ex_fixed, ex_own):
            if res is not None and res.probe and res.probe["latencies"]:
                engine = sorted(res.probe["latencies"])
                e2e, what = res.e2e_p50()
                print(f"engine share ({res.name}): engine probe p50 {ms(percentile(engine, 50_000))} "
                      f"p99 {ms(percentile(engine, 99_000))} vs HTTP {what} {ms(e2e)} -> "
                      f"{100 * percentile(engine, 50_000) / max(e2e, 1):.0f}% of the p50")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64, help="concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured length of each phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured start of each py phase")
    parser.add_argument("--probe-rate", type=float, default=100.0, help="engine probe requests/s (0: off)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk phases")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy the API and engine during exchange/py-closed")
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples/s")
    parser.add_argument("--profile-native", action="store_true", help="py-spy --native (C frames too)")
    parser.add_argument("--only-fixed", type=float, metavar="RATE",
                        help="only the exchange fixed-rate phase at RATE req/s (--profile profiles it)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs and wrk output")
    parser.add_argument("--engine-probe", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_probe:
        return probe_main(args.engine_probe)
    if not 1 <= args.clients <= 1000 or not 1 <= args.seconds <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--clients 1..1000, --seconds 1..600, --warmup 0..60")
    if not 0 <= args.probe_rate <= 1000:
        parser.error("--probe-rate 0..1000")

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    bench = Bench(args)
    try:
        bench.execute()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
