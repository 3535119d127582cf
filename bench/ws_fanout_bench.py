"""WebSocket fan-out benchmark: N subscribers of one market, frames flowing from Redis at steady rates.

Starts ``python -m ws`` as its own process and connects ``--subscribers`` clients, spread over
``--workers`` client processes. Two sources of frames:

- ``--source inject`` (default): the benchmark publishes ``trade@TATA-INR`` frames of ``--frame-bytes``
  bytes on the market channel (``--frames-per-message`` per PUBLISH, as the engine puts a batch's
  frames in one message) at each rate of ``--rates`` (frames/s) for ``--seconds``. Every frame carries
  the time it was published (``time.time_ns()`` taken just before the PUBLISH is sent);
- ``--source engine``: orders flow through the real engine (``python -m engine``): the benchmark pushes
  pairs of requests straight onto the engine's list (a resting 1-lot sell, then a 1-lot market buy that
  takes it: one trade) at each rate of ``--rates`` (trades/s), and the clients subscribe to
  ``--streams`` of TATA-INR (default trade, depth, ticker, kline.1s: every batch's frames). The delay is
  measured on trade frames from their ``time`` (ms), the batch time the engine stamps before applying
  and publishing; every other frame is counted. Expected = frames the engine published on those streams
  (counted by a pub/sub subscriber of the benchmark) x subscribers.

The clients are raw sockets on a plain epoll loop in each client process: they do the opening
handshake and the SUBSCRIBE, then parse every frame header (answering pings) and read the publish time
at its place in the payload. Every frame every client receives is counted and its delay measured:
publish time to the moment the client process read it from its socket (one clock read per socket
read). Delays go into 0.1 ms buckets; p50/p99 are bucket upper bounds, max is exact. On loopback each
delivery costs CPU on both sides: the server's write also runs the receiver's TCP input, the client's
read sends the ACK that the server's socket then processes.

Per phase it prints: frames published, frames delivered per second (counted, not estimated) against the
expected, delay percentiles, CPU per delivered frame of the server, of the client processes and of the
publisher (and engine), Redis's CPU share, the box's other load (cores busy outside this benchmark, from
/proc/stat) and clients dropped. Prints figures, asserts nothing. Needs Redis and PostgreSQL as for the
tests (DATABASE_URL).

Run: .venv/bin/python bench/ws_fanout_bench.py [--subscribers 1000] [--rates 50,100,200] [--seconds 5]
     [--workers 2] [--repeat 3] [--source engine --rates 12,25]
``--server-root DIR`` runs the server from another checkout (a git worktree of an older commit) with
the same harness, for before/after figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import platform
import select
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.keys import Keys  # noqa: E402
from shared.wire import encode_request  # noqa: E402

MARKET = "TATA-INR"
STREAM = f"trade@{MARKET}"
ACK = b'{"id":1,"result":null}'
#: An engine trade frame starts with this; its ``time`` (ms) is the engine's batch time.
TRADE_PREFIX = b'{"stream":"trade@'
TIME_FIELD = b'"time":'
ENGINE_STREAMS = "trade,depth,ticker,kline.1s"
#: Every published frame starts with this, then 19 digits of publish time in ns.
PREFIX = b'{"stream":"%s","data":{"time":' % STREAM.encode()
TIME_DIGITS = 19
BUCKET_NS = 100_000  # 0.1 ms
BUCKETS = 600_000  # up to 60 s; later is counted in the last bucket
TAIL_SECONDS = 0.5
REPORT_LIMIT = 64 * 1024 * 1024  # a report line carries a histogram


def make_frame(sequence: int, size: int) -> bytes:
    """A ``trade@M`` frame of ``size`` bytes (at least ~60) carrying its publish time in ns."""
    head = PREFIX + b'%019d,"n":"%012d","pad":"' % (time.time_ns(), sequence)
    tail = b'"}}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client's (masked) frame; payloads under 126 bytes only."""
    assert len(payload) < 126
    mask = os.urandom(4)
    return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))


# --- client worker process ---------------------------------------------------------------------------

class Stats:
    def __init__(self) -> None:
        self.frames = 0
        self.timed = 0  # frames whose delay was measured
        self.hist: list[int] = [0] * BUCKETS
        self.worst = 0
        self.acks = 0
        self.other = 0
        self.closed = 0

    def report(self) -> dict[str, object]:
        """Counts since the last report (then reset), with the process's CPU time so far."""
        hist = {index: count for index, count in enumerate(self.hist) if count}
        report = {"frames": self.frames, "timed": self.timed, "hist": hist, "worst": self.worst,
                  "acks": self.acks, "other": self.other, "closed": self.closed, "cpu": time.process_time()}
        self.frames = self.timed = self.worst = self.other = 0
        for index in hist:
            self.hist[index] = 0
        return report


class Subscriber:
    """One client socket: handshake, SUBSCRIBE, then parse every frame, count it and measure its delay."""

    __slots__ = ("buffer", "open", "sock", "subscribe")

    def __init__(self, sock: socket.socket, subscribe: bytes) -> None:
        self.sock = sock
        self.subscribe = subscribe
        self.buffer = b""
        self.open = False

    def feed(self, data: bytes, now: int, stats: Stats) -> None:
        """Take what one read returned at ``now`` (ns)."""
        buffer = self.buffer + data if self.buffer else data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(buffer[:80].decode(errors="replace"))
            self.open = True
            self.sock.sendall(masked_frame(0x1, self.subscribe))
            buffer = buffer[end + 4:]
        hist = stats.hist
        size = len(buffer)
        pos = 0
        prefix_end = len(PREFIX)
        while size - pos >= 2:
            length = buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buffer[pos + 2:pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2:pos + 10], "big")
                head = 10
            start = pos + head
            end = start + length
            if end > size:
                break
            opcode = buffer[pos] & 0x0F
            if opcode == 0x1 and buffer.startswith(PREFIX, start):
                delay = now - int(buffer[start + prefix_end:start + prefix_end + TIME_DIGITS])
                hist[min(max(delay, 0) // BUCKET_NS, BUCKETS - 1)] += 1
                stats.frames += 1
                stats.timed += 1
                if delay > stats.worst:
                    stats.worst = delay
            elif opcode == 0x1 and buffer.startswith(b'{"stream":', start):
                stats.frames += 1
                if buffer.startswith(TRADE_PREFIX, start):
                    at = buffer.find(TIME_FIELD, start, end) + len(TIME_FIELD)
                    stop = buffer.find(b",", at, end)
                    delay = now - int(buffer[at:stop if stop > 0 else end - 2]) * 1_000_000
                    hist[min(max(delay, 0) // BUCKET_NS, BUCKETS - 1)] += 1
                    stats.timed += 1
                    if delay > stats.worst:
                        stats.worst = delay
            elif opcode == 0x1 and buffer[start:end] == ACK:
                stats.acks += 1
            elif opcode == 0x9:
                self.sock.sendall(masked_frame(0xA, buffer[start:end]))
            elif opcode == 0x8:
                stats.closed += 1
                self.open = False
            else:
                stats.other += 1
            pos = end
        self.buffer = buffer[pos:]


def subscribe_message(streams: str) -> bytes:
    names = [f"{stream}@{MARKET}" for stream in streams.split(",")]
    return b'{"method":"SUBSCRIBE","params":%s,"id":1}' % json.dumps(names).encode()


def worker(port: int, count: int, streams: str) -> None:
    """Connect ``count`` subscribers, say ``ready``, then answer each ``report`` line of stdin.

    A plain epoll loop (no asyncio: less CPU per frame, so the measuring side stays light). The clock
    is read after every socket read, so a frame's delay includes the time its socket waited its turn.
    """
    stats = Stats()
    poller = select.epoll()
    subscribers: dict[int, Subscriber] = {}
    message = subscribe_message(streams)
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        sock.setblocking(False)
        subscribers[sock.fileno()] = Subscriber(sock, message)
        poller.register(sock.fileno(), select.EPOLLIN)
    stdin = sys.stdin.fileno()
    poller.register(stdin, select.EPOLLIN)
    gc.freeze()  # everything above lives as long as the run: keep the cyclic GC from re-scanning it
    gc.set_threshold(100_000, 50, 100)
    commands = b""
    ready = False
    time_ns = time.time_ns
    while True:
        for fd, _ in poller.poll():
            if fd == stdin:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                commands += chunk
                while b"\n" in commands:
                    line, commands = commands.split(b"\n", 1)
                    if line.strip() == b"report":
                        print(json.dumps(stats.report()), flush=True)
                continue
            subscriber = subscribers[fd]
            try:
                data = subscriber.sock.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                poller.unregister(fd)
                if subscriber.open:
                    stats.closed += 1
                subscriber.sock.close()
                continue
            subscriber.feed(data, time_ns(), stats)
        if not ready and stats.acks >= count:
            ready = True
            print("ready", flush=True)


# --- measuring side ----------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (the server's workers when WS_WORKERS > 1)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


def box_busy_seconds() -> float:
    """CPU seconds the whole box spent busy (all cores, /proc/stat: everything but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


async def redis_cpu(redis: aioredis.Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def percentile(hist: dict[int, int], total: int, fraction: float) -> float:
    """Upper bound (ms) of the bucket holding the ``fraction`` quantile."""
    rank = max(1, int(total * fraction + 0.999999))
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return (index + 1) * BUCKET_NS / 1e6
    return float("nan")


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
                           per_message: int, first: int) -> int:
    """Publish ``rate`` frames/s for ``seconds`` (catching up in 1 ms ticks); the number published."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while (elapsed := loop.time() - start) < seconds:
        due = int(elapsed * rate) - sent
        while due > 0:
            count = min(due, per_message)
            await redis.publish(channel, b"\n".join(make_frame(first + sent + i, size) for i in range(count)))
            sent += count
            due -= count
        await asyncio.sleep(0.001)
    return sent


class Workers:
    """The client processes and their line protocol (``ready``, then one JSON report per request)."""

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self.processes = processes

    @classmethod
    async def start(cls, port: int, subscribers: int, count: int, streams: str) -> Workers:
        shares = [subscribers // count + (1 if i < subscribers % count else 0) for i in range(count)]
        processes = [await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--worker-port", str(port), "--worker-clients", str(share),
            "--streams", streams,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=REPORT_LIMIT)
            for share in shares if share]
        workers = cls(processes)
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"client worker failed to start: {line!r}")
        return workers

    async def report(self) -> list[dict[str, object]]:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(b"report\n")
        reports = []
        for process in self.processes:
            assert process.stdout is not None
            reports.append(json.loads(await process.stdout.readline()))
        return reports

    def cpu(self) -> float:
        return sum(cpu_seconds(process.pid) for process in self.processes)

    async def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


class EngineSource:
    """``python -m engine`` in the benchmark's namespace, fed pairs of orders that make one trade each.

    A subscriber of the market channel counts the frames the engine publishes on the subscribed streams.
    """

    MAKER, TAKER, PRICE = "wsbench-maker", "wsbench-taker", 100_000

    def __init__(self, process: asyncio.subprocess.Process, redis: aioredis.Redis, keys: Keys,
                 kinds: set[str]) -> None:
        self.process = process
        self.redis = redis
        self.keys = keys
        self.kinds = kinds
        self.reply = keys.replies("wsbench")
        self.published = 0
        self._pairs = 0
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, namespace: str, redis: aioredis.Redis, streams: str) -> EngineSource:
        keys = Keys(namespace)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine", cwd=ROOT, env={**os.environ, "MUDRA_NAMESPACE": namespace},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        source = cls(process, redis, keys, set(streams.split(",")))
        reply = source.reply
        await redis.rpush(keys.engine_in("all"),
                          encode_request("d1", reply, "deposit", user=cls.MAKER, asset="TATA", amount=10**9),
                          encode_request("d2", reply, "deposit", user=cls.TAKER, asset="INR", amount=10**11))
        async with asyncio.timeout(60):
            while await redis.llen(reply) < 2:
                await asyncio.sleep(0.05)
        for answer in await redis.lrange(reply, 0, -1):
            if answer.split(b"\t")[1] != b"200":
                raise RuntimeError(f"deposit refused: {answer!r}")
        await redis.delete(reply)
        pubsub = redis.pubsub()
        await pubsub.subscribe(keys.market_channel(MARKET))
        source._listener = asyncio.create_task(source._count(pubsub))
        return source

    async def _count(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            for frame in message["data"].split(b"\n"):
                stream = frame[len(b'{"stream":"'):frame.find(b"@")].decode()
                if stream in self.kinds:
                    self.published += 1

    def pair(self) -> tuple[bytes, bytes]:
        self._pairs += 1
        n = self._pairs
        return (encode_request(f"s{n}", self.reply, "place", user=self.MAKER, market=MARKET, side="sell",
                               type="limit", price=self.PRICE, quantity=1, tif="GTC", postOnly=False,
                               clientOrderId=None),
                encode_request(f"b{n}", self.reply, "place", user=self.TAKER, market=MARKET, side="buy",
                               type="market", price=None, quantity=1, tif="GTC", postOnly=False,
                               clientOrderId=None))

    async def flow(self, rate: int, seconds: float) -> int:
        """Push ``rate`` trading pairs/s for ``seconds`` (one RPUSH per pair); the number pushed."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        in_key = self.keys.engine_in("all")
        while (elapsed := loop.time() - start) < seconds:
            for _ in range(int(elapsed * rate) - sent):
                await self.redis.rpush(in_key, *self.pair())
                sent += 1
            await asyncio.sleep(0.001)
        await self.redis.delete(self.reply)
        return sent

    def take_published(self) -> int:
        published, self.published = self.published, 0
        return published

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        self.process.send_signal(signal.SIGTERM)
        await self.process.wait()



def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(args: argparse.Namespace) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server_root = Path(args.server_root).resolve() if args.server_root else ROOT
    env = {**os.environ, "MUDRA_NAMESPACE": namespace, "WS_PORT": str(port),
           "WS_CLIENT_QUEUE": str(args.queue), "WS_PING_INTERVAL": "3600",
           "WS_WORKERS": str(args.server_workers),
           "PYTHONPATH": str(server_root)}
    redis = aioredis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    engine = await EngineSource.start(namespace, redis, args.streams) if args.source == "engine" else None
    server = await asyncio.create_subprocess_exec(sys.executable, "-m", "ws", cwd=server_root, env=env,
                                                  stderr=asyncio.subprocess.DEVNULL)
    workers: Workers | None = None
    try:
        await wait_healthy(port)
        workers = await Workers.start(port, args.subscribers, args.workers, args.streams)
        await asyncio.sleep(0.5)
        if engine is None:
            what = (f"{len(make_frame(0, args.frame_bytes))}-byte frames injected, "
                    f"{args.frames_per_message} per PUBLISH, rates in frames/s")
        else:
            what = "frames from the engine, rates in trades/s, delay on trade frames"
        print(f"ws fan-out: {args.subscribers} subscribers of {args.streams} @{MARKET} in "
              f"{len(workers.processes)} client processes, {args.server_workers} server process(es), "
              f"{what}, queue {args.queue}, {args.seconds:g} s "
              f"per rate; server from {server_root}; Python {platform.python_version()}, "
              f"{os.cpu_count()} cores, load average {load_average()}")
        print(f"{'rate/s':>7} {'published':>9} {'delivered/s':>11} {'expected/s':>10} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'max ms':>7} {'server':>7} {'us/fr':>6} {'clients':>7} {'us/fr':>6} "
              f"{'source':>6} {'redis':>6} {'others':>6} {'drop':>4}")
        channel = Keys(namespace).market_channel(MARKET)
        published_total = 0
        await workers.report()  # the acks and snapshots
        own = os.getpid()
        sources = [own] if engine is None else [own, engine.process.pid]
        for _ in range(args.repeat):
            for rate in args.rates:
                server_before, clients_before = tree_cpu_seconds(server.pid), workers.cpu()
                source_before = sum(cpu_seconds(pid) for pid in sources)
                redis_before, box_before = await redis_cpu(redis), box_busy_seconds()
                if engine is not None:
                    engine.take_published()
                started = time.monotonic()
                if engine is None:
                    sent = await publish_steadily(redis, channel, rate, args.seconds, args.frame_bytes,
                                                  args.frames_per_message, published_total)
                else:
                    sent = await engine.flow(rate, args.seconds)
                await asyncio.sleep(TAIL_SECONDS)  # let the tail arrive
                reports = await workers.report()
                elapsed = time.monotonic() - started
                server_cpu = tree_cpu_seconds(server.pid) - server_before
                clients_cpu = workers.cpu() - clients_before
                source_cpu = sum(cpu_seconds(pid) for pid in sources) - source_before
                redis_used = await redis_cpu(redis) - redis_before
                ours = server_cpu + clients_cpu + source_cpu + redis_used
                others = (box_busy_seconds() - box_before - ours) / elapsed
                published_total += sent
                frames_out = sent if engine is None else engine.take_published()
                delivered = sum(int(r["frames"]) for r in reports)  # type: ignore[call-overload]
                timed = sum(int(r["timed"]) for r in reports)  # type: ignore[call-overload]
                hist: dict[int, int] = {}
                for report in reports:
                    for index, count in report["hist"].items():  # type: ignore[attr-defined]
                        hist[int(index)] = hist.get(int(index), 0) + count
                worst = max(int(r["worst"]) for r in reports) / 1e6  # type: ignore[call-overload]
                dropped = sum(int(r["closed"]) for r in reports)  # type: ignore[call-overload]
                per_frame = 1e6 / delivered if delivered else float("nan")
                p50, p99 = percentile(hist, timed, 0.5), percentile(hist, timed, 0.99)
                expected = frames_out * args.subscribers / args.seconds
                print(f"{rate:>7} {frames_out:>9} {delivered / args.seconds:>11.0f} "
                      f"{expected:>10.0f} {p50:>7.1f} {p99:>7.1f} {worst:>7.1f} "
                      f"{server_cpu / elapsed:>7.0%} {server_cpu * per_frame:>6.2f} "
                      f"{clients_cpu / elapsed:>7.0%} {clients_cpu * per_frame:>6.2f} "
                      f"{source_cpu / elapsed:>6.0%} {redis_used / elapsed:>6.0%} {others:>6.2f} "
                      f"{dropped:>4}",
                      flush=True)
        print("server/clients: CPU share of one core and CPU us per delivered frame; source: the publisher "
              "(and the engine); others: cores busy outside this benchmark. Load average at the end "
              f"{load_average()}.")
    finally:
        if workers is not None:
            await workers.stop()
        server.send_signal(signal.SIGTERM)
        await server.wait()
        if engine is not None:
            await engine.stop()
        async for key in redis.scan_iter(match=f"{namespace}:*", count=1000):
            await redis.delete(key)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=1, help="run the list of rates this many times")
    parser.add_argument("--frame-bytes", type=int, default=200)
    parser.add_argument("--frames-per-message", type=int, default=1)
    parser.add_argument("--queue", type=int, default=1000, help="WS_CLIENT_QUEUE of the server")
    parser.add_argument("--server-root", help="run python -m ws from this checkout")
    parser.add_argument("--server-workers", type=int, default=1, help="WS_WORKERS of the server")
    parser.add_argument("--source", choices=("inject", "engine"), default="inject")
    parser.add_argument("--streams", help="kinds subscribed, comma-separated (default: trade for "
                        f"inject, {ENGINE_STREAMS} for engine)")
    parser.add_argument("--worker-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-clients", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        uvloop = None
    if args.streams is None:
        args.streams = ENGINE_STREAMS if args.source == "engine" else "trade"
    if args.worker_port is not None:
        worker(args.worker_port, args.worker_clients, args.streams)
        return
    if args.workers < 1 or args.subscribers < 1:
        parser.error("--workers and --subscribers must be at least 1")
    if uvloop is None:  # pragma: no cover
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
