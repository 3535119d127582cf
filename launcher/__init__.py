"""``python -m launcher``: the whole exchange with one command (docs/operations.md).

Pure parts, each testable without a process: ``config`` (flags and environment), ``infra`` (which Redis and
PostgreSQL to use, given what the probes found), ``services`` (what to start, in which stage), ``policy``
(restart backoff, exit codes) and ``logs`` (line splitting and the ``name | `` prefix). The I/O lives in
``probes`` (is something listening, private instances) and ``supervisor`` (asyncio child processes).
"""
