"""Load the pure-Python source of the mypyc-compiled modules instead of their extension modules.

``MUDRA_TEST_PURE=1 pytest`` runs the suite against the same code as plain Python, so the fallback build
(``MUDRA_PURE_PYTHON=1``) is held to the same tests as the compiled one (docs/engine.md).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
COMPILED = ("engine.balances", "engine.book", "engine.core", "engine.marketdata", "engine.order",
            "engine.requests", "shared.commands", "shared.events", "shared.markets", "shared.messages",
            "shared.money", "shared.views", "shared.wire")


class _SourceFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: ModuleType | None = None
                  ) -> ModuleSpec | None:
        if fullname not in COMPILED:
            return None
        source = ROOT.joinpath(*fullname.split(".")).with_suffix(".py")
        return importlib.util.spec_from_file_location(fullname, source)


def use_pure_sources() -> None:
    """Make every later import of a compiled module load its .py source (call before any import)."""
    already = [name for name in COMPILED if name in sys.modules]
    if already:
        raise RuntimeError(f"already imported before the pure-source finder: {already}")
    sys.meta_path.insert(0, _SourceFinder())
