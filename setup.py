"""Build hook: compile the engine's hot modules with mypyc (set MUDRA_PURE_PYTHON=1 to skip).

The compiled modules are the same source as the pure-Python ones; mypyc turns their typed classes into
C extension types, which makes the engine several times faster (docs/benchmarks.md). The digest of the
sources it compiled goes to ``shared/compiled_sources.sha256`` so that a test can tell a stale build
(sources edited since) from a current one. Everything else is configured in pyproject.toml.
"""

import hashlib
import os
from pathlib import Path

from setuptools import setup

COMPILED_MODULES = [
    "engine/balances.py",
    "engine/book.py",
    "engine/core.py",
    "engine/marketdata.py",
    "engine/order.py",
    "engine/requests.py",
    "shared/commands.py",
    "shared/events.py",
    "shared/markets.py",
    "shared/messages.py",
    "shared/money.py",
    "shared/views.py",
    "shared/wire.py",
]


def sources_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for module in COMPILED_MODULES:
        digest.update(module.encode() + b"\0" + (root / module).read_bytes() + b"\0")
    return digest.hexdigest()


def main() -> None:
    ext_modules = []
    if os.environ.get("MUDRA_PURE_PYTHON", "") not in ("1", "true", "yes"):
        from mypyc.build import mypycify

        here = Path(__file__).parent
        (here / "shared" / "compiled_sources.sha256").write_text(sources_digest(here) + "\n")
        ext_modules = mypycify(COMPILED_MODULES, opt_level="3")
    setup(ext_modules=ext_modules)


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import it for the digest
    main()
