"""WebSocket fan-out benchmark: N subscribers of one market, frames published to Redis at steady rates.

Starts ``python -m ws`` as its own process (its own core), connects ``--subscribers`` clients to
``trade@TATA-INR`` and publishes trade-sized frames (``--frame-bytes`` of JSON, one per PUBLISH) on the
market channel at each rate of ``--rates`` for ``--seconds``. Every frame carries its publish time
(``time.time_ns()``).

- ``--measure`` clients are full websockets clients that decode every frame: publish-to-receipt delay
  (p50/p99/max) comes from them;
- the others only count the bytes they receive (all frames have the same size), so that the client side
  does not become the bottleneck: delivered frames/s = bytes / wire size of one frame, summed.

Also reported: the server's CPU share during each phase and the clients it disconnected (lagging).
Prints figures, asserts nothing. Needs Redis and PostgreSQL as for the tests (DATABASE_URL).

Run: .venv/bin/python bench/ws_fanout_bench.py [--subscribers 1000] [--rates 100,500,1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import signal
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

import orjson
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from shared.keys import Keys

ROOT = Path(__file__).resolve().parents[1]
MARKET = "TATA-INR"
STREAM = f"trade@{MARKET}"
SUBSCRIBE = orjson.dumps({"method": "SUBSCRIBE", "params": [STREAM], "id": 1})
ACK = orjson.dumps({"id": 1, "result": None})


def make_frame(sequence: int, size: int) -> bytes:
    """A ``trade@M`` frame of exactly ``size`` bytes carrying its publish time in ns."""
    head = b'{"stream":"%s","data":{"time":%d,"n":"%012d","pad":"' % (
        STREAM.encode(), time.time_ns(), sequence)
    tail = b'"}}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def wire_size(payload: int) -> int:
    """Bytes of an unmasked server frame carrying ``payload`` bytes."""
    return payload + (2 if payload < 126 else 4 if payload < 65536 else 10)


def masked_text_frame(payload: bytes) -> bytes:
    """A client's (masked) text frame; payloads under 126 bytes only."""
    assert len(payload) < 126
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class CountingClient(asyncio.Protocol):
    """Handshake, subscribe, then only count received bytes (cheap enough for a thousand of them)."""

    def __init__(self, port: int, subscribed: asyncio.Future[None]) -> None:
        self.port = port
        self.subscribed = subscribed
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.open = False
        self.received = 0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        if self.open:
            self.received += len(data)
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        if not self.buffer.startswith(b"HTTP/1.1 101"):
            self.subscribed.set_exception(RuntimeError(self.buffer[:80].decode(errors="replace")))
            return
        self.open = True
        self.received = len(self.buffer) - end - 4
        assert self.transport is not None
        self.transport.write(masked_text_frame(SUBSCRIBE))
        self.subscribed.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


async def measure(connection: ClientConnection, delays: list[float]) -> None:
    """Decode every frame; record publish-to-receipt delay in ms."""
    async for message in connection:
        data = orjson.loads(message)
        if "stream" in data:
            delays.append((time.time_ns() - data["data"]["time"]) / 1e6)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_healthy(port: int, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                status = await reader.readline()
                writer.close()
                await writer.wait_closed()
                if status.startswith(b"HTTP/1.1 200"):
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)


async def publish_steadily(redis: aioredis.Redis, channel: str, rate: int, seconds: float, size: int,
                           first: int) -> int:
    """Publish ``rate`` frames/s for ``seconds``, catching up in 1 ms ticks; the number published."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while (elapsed := loop.time() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            await redis.publish(channel, make_frame(first + sent, size))
            sent += 1
        await asyncio.sleep(0.001)
    return sent


async def run(args: argparse.Namespace) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MUDRA_NAMESPACE": namespace, "WS_PORT": str(port),
           "WS_CLIENT_QUEUE": str(args.queue), "WS_PING_INTERVAL": "3600"}
    server = await asyncio.create_subprocess_exec(sys.executable, "-m", "ws", cwd=ROOT, env=env,
                                                  stderr=asyncio.subprocess.DEVNULL)
    redis = aioredis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    loop = asyncio.get_running_loop()
    counters: list[CountingClient] = []
    measurers: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    delays: list[float] = []
    try:
        await wait_healthy(port)
        for _ in range(args.subscribers - args.measure):
            subscribed: asyncio.Future[None] = loop.create_future()
            _, protocol = await loop.create_connection(lambda f=subscribed: CountingClient(port, f),
                                                       "127.0.0.1", port)
            counters.append(protocol)
            await subscribed
        for _ in range(args.measure):
            connection = await connect(f"ws://127.0.0.1:{port}/", max_queue=None, compression=None)
            await connection.send(SUBSCRIBE.decode())
            assert orjson.loads(await connection.recv()) == {"id": 1, "result": None}
            measurers.append(connection)
            readers.append(asyncio.create_task(measure(connection, delays)))
        await asyncio.sleep(0.5)  # every SUBSCRIBE processed
        frame_wire = wire_size(len(make_frame(0, args.frame_bytes)))
        ack_wire = wire_size(len(ACK))
        print(f"ws fan-out: {args.subscribers} subscribers of {STREAM} ({args.measure} decoding), "
              f"{len(make_frame(0, args.frame_bytes))}-byte frames, queue {args.queue}, "
              f"{args.seconds:g} s per rate; Python {platform.python_version()}, {os.cpu_count()} cores")
        print(f"{'rate/s':>8} {'published':>10} {'delivered/s':>12} {'expected/s':>11} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'max ms':>8} {'server CPU':>10} {'bench CPU':>9} {'dropped':>8}")
        channel = Keys(namespace).market_channel(MARKET)
        published_total = 0
        for rate in args.rates:
            before = sum(c.received for c in counters)
            delays.clear()
            cpu_before, own_before = cpu_seconds(server.pid), cpu_seconds(os.getpid())
            started = loop.time()
            sent = await publish_steadily(redis, channel, rate, args.seconds, args.frame_bytes,
                                          published_total)
            await asyncio.sleep(0.5)  # let the tail arrive
            elapsed = loop.time() - started
            cpu = (cpu_seconds(server.pid) - cpu_before) / elapsed
            own_cpu = (cpu_seconds(os.getpid()) - own_before) / elapsed
            published_total += sent
            delivered = (sum(c.received for c in counters) - before) / frame_wire
            if before == 0:
                delivered -= len(counters) * ack_wire / frame_wire
            delivered += len(delays)
            dropped = sum(c.lost for c in counters) + sum(r.done() for r in readers)
            ordered = sorted(delays) or [float("nan")]
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            expected = sent * args.subscribers / args.seconds
            p50, worst = statistics.median(ordered), ordered[-1]
            print(f"{rate:>8} {sent:>10} {delivered / args.seconds:>12.0f} {expected:>11.0f} "
                  f"{p50:>8.2f} {p99:>8.2f} {worst:>8.2f} {cpu:>10.0%} {own_cpu:>9.0%} {dropped:>8}")
    finally:
        for connection in measurers:
            await connection.close()
        for task in readers:
            task.cancel()
        for counter in counters:
            if counter.transport is not None:
                counter.transport.close()
        server.send_signal(signal.SIGTERM)
        await server.wait()
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--measure", type=int, default=20, help="decoding clients (delay measurement)")
    parser.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], default=[50, 100, 200, 400])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--frame-bytes", type=int, default=200)
    parser.add_argument("--queue", type=int, default=1000, help="WS_CLIENT_QUEUE of the server")
    args = parser.parse_args()
    if not 0 < args.measure <= args.subscribers:
        parser.error("--measure must be between 1 and --subscribers")
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
