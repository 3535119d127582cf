"""``python -m engine``: run one engine shard until SIGTERM/SIGINT (docs/internals.md)."""

from __future__ import annotations

import logging
import signal
import sys

import redis

from engine.config import load_config
from engine.runner import EngineService, ShardConflict
from shared.config import ConfigError
from shared.runtime import tune_gc


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s engine %(levelname)s %(message)s")
    log = logging.getLogger("engine")
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"engine: configuration error: {exc}", file=sys.stderr)
        return 2
    client = redis.Redis.from_url(config.common.redis_url, socket_timeout=None)
    service = EngineService(config, client)
    try:
        service.register()
    except ShardConflict as exc:
        print(f"engine: refusing to start: {exc}", file=sys.stderr)
        return 3
    except redis.RedisError as exc:
        print(f"engine: cannot reach Redis at {config.common.redis_url}: {exc}", file=sys.stderr)
        return 4
    replayed = service.recover()
    log.info("shard %s owns %s; restored seq %d (%d commands replayed from the journal)",
             config.shard, ",".join(sorted(config.markets.markets)), service.engine.seq, replayed)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tune_gc()
    try:
        service.run(lambda: stopping)
    except redis.RedisError as exc:
        # No retry in place: a commit whose reply was lost may have run, and running it again would apply
        # the batch twice. Exiting lets the supervisor (launcher, compose) start a fresh process, which
        # recovers from the snapshot, the journal and the in-flight list exactly as after a crash.
        log.error("lost Redis (%s): exiting; a restart recovers from the journal and in-flight list", exc)
        return 5
    log.info("stopped at seq %d (snapshot taken)", service.engine.seq)
    return 0


if __name__ == "__main__":
    sys.exit(main())
