"""The compiled (mypyc) engine modules must be built from the sources in the tree, never stale ones."""

import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mudra_setup", ROOT / "setup.py")
assert _spec is not None and _spec.loader is not None
build_setup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_setup)


def test_compiled_modules_match_their_sources() -> None:
    loaded = {name: importlib.import_module(name.removesuffix(".py").replace("/", "."))
              for name in build_setup.COMPILED_MODULES}
    compiled = [name for name, module in loaded.items() if not str(module.__file__).endswith(".py")]
    if not compiled:
        pytest.skip("pure-Python modules loaded (MUDRA_PURE_PYTHON or MUDRA_TEST_PURE): nothing to go stale")
    assert len(compiled) == len(loaded), f"only some modules are compiled: {compiled}"
    recorded = (ROOT / "shared" / "compiled_sources.sha256").read_text().strip()
    assert recorded == build_setup.sources_digest(ROOT), (
        "the compiled engine modules are stale (sources changed since the build): run `make setup`")
