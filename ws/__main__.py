"""``python -m ws``: run the WebSocket server until SIGINT/SIGTERM.

Exit status: 0 after a signal, 2 on a bad configuration or markets file (the message names it), 1 when
the database cannot be reached or the port cannot be bound.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable

from shared.config import ConfigError
from shared.runtime import tune_gc
from ws.auth import AuthStartError
from ws.config import WsConfig, load_config
from ws.server import WsServer

log = logging.getLogger("ws")


async def serve_until_signalled(config: WsConfig) -> None:
    server = WsServer(config)
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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one INFO line per connection otherwise
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"ws: configuration error: {exc}", file=sys.stderr)
        return 2
    tune_gc()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve_until_signalled(config))
    except AuthStartError as exc:
        print(f"ws: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ws: cannot listen on WS_HOST={config.host} WS_PORT={config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
