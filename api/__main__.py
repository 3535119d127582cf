"""``python -m api``: check the configuration, then serve with uvicorn (uvloop, httptools, no access log,
no proxy-headers middleware)."""

from __future__ import annotations

import sys

import uvicorn

from api.config import load_config
from api.main import create_app
from shared.config import ConfigError
from shared.runtime import tune_gc


def main() -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"api: refusing to start: {exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    tune_gc()
    # No proxy-headers middleware: nothing here reads the client address (limits are per API key), and
    # it cost ~1-2% of the API's CPU per order (bench/e2e_bench.py --profile).
    uvicorn.run(app, host=config.host, port=config.port, loop="uvloop", http="httptools",
                access_log=False, lifespan="on", log_level="info", proxy_headers=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
