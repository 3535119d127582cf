"""Shared pytest configuration."""

import os

from hypothesis import settings

if os.environ.get("MUDRA_TEST_PURE") == "1":
    from tests.support.pure_build import use_pure_sources

    use_pure_sources()

# `HYPOTHESIS_PROFILE=ci pytest`: reproducible runs (same examples every time), no example database, and a
# reproduction blob printed for any failure. "ci" is also the default when the CI variable is set.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
