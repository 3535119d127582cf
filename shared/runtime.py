"""Process settings the long-running services share."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Keep the cyclic GC from stalling a service: call once start-up has imported and built its objects.

    Reference counting frees almost all garbage here; the cyclic collector only re-scans long-lived
    objects. Under load its full collections took ~55 ms every ~1.5 s in the API (measured with
    bench/e2e_bench.py), stalling every request in flight. Freezing what exists at start-up and raising
    the thresholds makes those scans rare; cycles are still collected.
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
