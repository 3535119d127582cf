"""``python -m ws``: run the WebSocket server until SIGINT/SIGTERM.

With ``WS_WORKERS=N`` above 1 this process supervises N worker processes (the same command, marked by
``WS_WORKER_PROCESS=1`` in their environment) that all listen on the port with ``SO_REUSEPORT``: the
kernel spreads new connections over them, and each serves its connections entirely (its own Redis
subscription, book replicas and hub), so everything the contract orders per connection stays as with
one process. SIGINT/SIGTERM are passed on to the workers; when a worker exits on its own, the others are
stopped and the supervisor exits with that worker's status (so a supervisor outside restarts the lot).

Exit status: 0 after a signal, 2 on a bad configuration or markets file (the message names it), 1 when
the database cannot be reached or the port cannot be bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable

from shared.config import ConfigError
from shared.runtime import tune_gc
from ws.auth import AuthStartError
from ws.config import WsConfig, load_config
from ws.server import WsServer

log = logging.getLogger("ws")

WORKER_MARK = "WS_WORKER_PROCESS"


async def serve_until_signalled(config: WsConfig, reuse_port: bool = False) -> None:
    server = WsServer(config, reuse_port=reuse_port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        await server.stop()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but the server runs without it
        return None
    return uvloop.new_event_loop


def supervise(count: int) -> int:
    """Run ``count`` workers; pass signals on; return 0 after a signal, else the first failure's status."""
    command = [sys.executable, *sys.orig_argv[1:]]  # how this process was started (-m ws, or -c ...)
    env = {**os.environ, WORKER_MARK: "1"}
    workers = [subprocess.Popen(command, env=env) for _ in range(count)]
    stopping = False

    def stop_all(signum: int = signal.SIGTERM, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.returncode is None:
                # os.kill, not send_signal(): that polls, reaping a worker behind the os.wait() below
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_all)
    log.info("ws supervising %d workers", count)
    status = 0
    running = {worker.pid: worker for worker in workers}
    while running:
        try:
            pid, raw = os.wait()  # interrupted by a signal: the handler runs, then the wait goes on
        except ChildProcessError:  # pragma: no cover - every worker is gone already
            break
        worker = running.pop(pid, None)
        if worker is None:
            continue
        worker.returncode = os.waitstatus_to_exitcode(raw)
        if not stopping:
            log.error("ws worker %d exited with status %d; stopping the others", pid, worker.returncode)
            status = worker.returncode if worker.returncode > 0 else 1
            stop_all()
    return status


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one INFO line per connection otherwise
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"ws: configuration error: {exc}", file=sys.stderr)
        return 2
    is_worker = os.environ.get(WORKER_MARK) == "1"
    if config.workers > 1 and not is_worker:
        return supervise(config.workers)
    tune_gc()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve_until_signalled(config, reuse_port=is_worker))
    except AuthStartError as exc:
        print(f"ws: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ws: cannot listen on WS_HOST={config.host} WS_PORT={config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
