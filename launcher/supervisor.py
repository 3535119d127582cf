"""Run the services as asyncio child processes: start them stage by stage, stream their output with a
prefix, restart one that exits, and stop them all (in reverse order) on SIGINT/SIGTERM.

Each child leads its own process group, so a Ctrl-C in the terminal reaches the launcher only and the
launcher decides the order of shutdown; the stop signal goes to the whole group, and whatever is left of
the group after the grace period gets SIGKILL. Each child also asks the kernel for its stop signal should
the launcher die without cleaning up (PR_SET_PDEATHSIG), so a killed launcher leaves no orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from launcher import probes
from launcher.logs import LineSplitter, LogSink
from launcher.policy import RestartPolicy, RestartTracker, describe_exit, is_fatal
from launcher.services import Ready, ServiceSpec, stages

EXIT_OK = 0
EXIT_FAILED = 1  # a service could not be started or the exchange did not become healthy in time
EXIT_CONFIG = 2  # a service refused its configuration
WAIT_NOTE_EVERY_S = 15.0
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform == "linux" else None


def _die_with_parent(signum: int) -> Callable[[], None] | None:
    if _LIBC is None:
        return None
    prctl = _LIBC.prctl  # looked up here, so the child only makes the system call

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)

    return setup


@dataclass(eq=False)
class Child:
    spec: ServiceSpec
    tracker: RestartTracker
    proc: asyncio.subprocess.Process | None = None
    task: asyncio.Task[None] | None = None
    started_at: float = 0.0
    spawned: asyncio.Event = field(default_factory=asyncio.Event)  # set once the first start was tried
    pumps: list[asyncio.Task[None]] = field(default_factory=list)


class Supervisor:
    def __init__(self, sink: LogSink, policy: RestartPolicy, stop_timeout: float, start_timeout: float,
                 health_host: str = "127.0.0.1") -> None:
        self._sink = sink
        self._policy = policy
        self._stop_timeout = stop_timeout
        self._start_timeout = start_timeout
        self._health_host = health_host
        self._children: list[Child] = []
        self._stop = asyncio.Event()
        self._stopping = False
        self._exit = EXIT_OK

    # ------------------------------------------------------------------ the whole run

    async def run(self, specs: Sequence[ServiceSpec], on_ready: Callable[[], None],
                  before_stage: Mapping[int, Callable[[], Awaitable[None]]] | None = None) -> int:
        """Start ``specs`` stage by stage, call ``on_ready`` once all are ready, run until told to stop.

        ``before_stage[n]`` runs once the stages before ``n`` are ready, just before ``n`` starts.
        """
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            deadline = time.monotonic() + self._start_timeout
            for group in stages(specs):
                if self._stop.is_set():  # a signal or a failure during the previous stage or hook
                    break
                hook = (before_stage or {}).get(group[0].stage)
                if hook is not None:
                    await hook()
                launched = [self._launch(spec) for spec in group]
                if not await self._wait_ready(launched, deadline):
                    break
            else:
                on_ready()
            await self._stop.wait()
        finally:
            await self._shutdown()
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)
        return self._exit

    def request_stop(self, exit_code: int = EXIT_OK) -> None:
        if not self._stop.is_set():
            self._exit = exit_code
            self._stop.set()

    def _on_signal(self, signum: int) -> None:
        if self._stopping:
            self._sink.say(f"{signal.Signals(signum).name} again: killing what is left")
            for child in self._children:
                self._signal(child, signal.SIGKILL)
            return
        self._sink.say(f"{signal.Signals(signum).name}: stopping the exchange")
        self.request_stop(EXIT_OK)

    # ------------------------------------------------------------------ one service

    def _launch(self, spec: ServiceSpec) -> Child:
        child = Child(spec, RestartTracker(self._policy))
        self._sink.add(spec.name)
        self._children.append(child)
        child.task = asyncio.create_task(self._keep_running(child), name=f"keep-{spec.name}")
        return child

    async def _keep_running(self, child: Child) -> None:
        spec = child.spec
        while not self._stopping:
            try:
                await self._spawn(child)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:  # e.g. no such user
                self._sink.say(f"cannot start {spec.name} ({' '.join(spec.argv)}): {exc}")
                self.request_stop(EXIT_FAILED)
                return
            finally:
                child.spawned.set()
            assert child.proc is not None
            if self._stopping:  # the stop came while the process was being created
                await self._stop_child(child)
                return
            returncode = await child.proc.wait()
            await self._drain(child)
            if self._stopping:
                return
            ran_for = time.monotonic() - child.started_at
            if is_fatal(returncode):
                self._sink.say(f"{spec.name} {describe_exit(returncode)}: not restarting it; stopping the "
                               "exchange (see its message above)")
                self.request_stop(EXIT_CONFIG)
                return
            delay = child.tracker.after_exit(ran_for)
            self._sink.say(f"{spec.name} {describe_exit(returncode)} after {ran_for:.1f} s; restarting in "
                           f"{delay:g} s (restart {child.tracker.restarts})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _spawn(self, child: Child) -> None:
        spec = child.spec
        child.proc = await asyncio.create_subprocess_exec(
            *spec.argv, env=dict(spec.env) if spec.env else None, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, process_group=0,
            user=spec.user, preexec_fn=_die_with_parent(spec.stop_signal))
        child.started_at = time.monotonic()
        assert child.proc.stdout is not None
        child.pumps = [p for p in child.pumps if not p.done()]
        child.pumps.append(asyncio.create_task(self._pump(spec.name, child.proc.stdout)))
        self._sink.say(f"{spec.name} started (pid {child.proc.pid})")

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        splitter = LineSplitter()
        while chunk := await stream.read(65536):
            for line in splitter.feed(chunk):
                self._sink.line(name, line)
        for line in splitter.flush():
            self._sink.line(name, line)

    async def _drain(self, child: Child) -> None:
        """Let the output pump finish; a grandchild may hold the pipe open, so only wait a moment."""
        if child.pumps:
            await asyncio.wait(child.pumps, timeout=1.0)

    # ------------------------------------------------------------------ readiness

    async def _wait_ready(self, group: Sequence[Child], deadline: float) -> bool:
        """Wait until every child of ``group`` runs and passes its readiness check (False: stopping)."""
        checks = [asyncio.create_task(self._until_ready(child)) for child in group]
        stop = asyncio.create_task(self._stop.wait())
        try:
            pending: set[asyncio.Task[Any]] = set(checks)
            while pending:
                remaining = deadline - time.monotonic()
                done, pending = await asyncio.wait(pending | {stop}, timeout=max(0.0, remaining),
                                                   return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stop)
                if stop in done:
                    return False
                if not done:
                    names = ", ".join(c.spec.name for c in group if c.spec.ready is not Ready.STARTED)
                    self._sink.say(f"not ready after {self._start_timeout:g} s ({names}): stopping; "
                                   "see the logs above")
                    self.request_stop(EXIT_FAILED)
                    return False
            return not self._stop.is_set()
        finally:
            for task in (*checks, stop):
                task.cancel()

    async def _until_ready(self, child: Child) -> None:
        await child.spawned.wait()
        spec = child.spec
        if spec.ready is Ready.STARTED:
            return
        started = last_note = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                status = await self._check(spec, client)
                if status is None:
                    self._sink.say(f"{spec.name} is ready ({time.monotonic() - started:.1f} s)")
                    return
                if time.monotonic() - last_note >= WAIT_NOTE_EVERY_S:
                    last_note = time.monotonic()
                    self._sink.say(f"still waiting for {spec.name}: {status}")
                await asyncio.sleep(0.2)

    async def _check(self, spec: ServiceSpec, client: httpx.AsyncClient) -> str | None:
        """None when ``spec`` is ready, else what is missing."""
        assert spec.port is not None
        host = self._health_host
        if spec.ready is Ready.REDIS:
            probe = await probes.probe_redis("127.0.0.1", spec.port)
            return None if probe.state.value == "up" else probe.detail
        if spec.ready is Ready.POSTGRES:
            probe = await probes.probe_postgres("127.0.0.1", spec.port)
            return None if probe.state.value == "up" else probe.detail
        if spec.ready is Ready.TCP:
            return None if await probes.tcp_open(host, spec.port) else f"port {spec.port} not open"
        try:
            response = await client.get(f"http://{host}:{spec.port}/api/v1/health")
        except httpx.HTTPError as exc:
            return f"GET /api/v1/health: {exc!r}"
        return None if response.status_code == 200 else f"GET /api/v1/health: {response.status_code}"

    # ------------------------------------------------------------------ shutdown

    async def _shutdown(self) -> None:
        self._stopping = True
        self._stop.set()
        for group in reversed(stages([c.spec for c in self._children])):
            names = {spec.name for spec in group}
            await asyncio.gather(*(self._stop_child(c) for c in self._children if c.spec.name in names))
        tasks = [c.task for c in self._children if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self._stop_timeout)
        for child in self._children:
            if child.task is not None and not child.task.done():
                child.task.cancel()
            for pump in child.pumps:
                pump.cancel()
        self._sink.say("all services stopped")

    async def _stop_child(self, child: Child) -> None:
        proc = child.proc
        if proc is None:
            return
        if proc.returncode is None:
            self._signal(child, child.spec.stop_signal)
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout)
                code = proc.returncode or 0
                clean = code in (0, -child.spec.stop_signal)  # uvicorn re-raises the signal once done
                self._sink.say(f"{child.spec.name} stopped" + ("" if clean else f" ({describe_exit(code)})"))
            except TimeoutError:
                self._sink.say(f"{child.spec.name} did not stop within {self._stop_timeout:g} s: SIGKILL")
                self._signal(child, signal.SIGKILL)
                await proc.wait()
        # Anything the service left behind in its process group (a forked helper) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await self._drain(child)

    def _signal(self, child: Child, signum: int) -> None:
        proc = child.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if child.spec.signal_group or signum == signal.SIGKILL:
                os.killpg(proc.pid, signum)
            else:
                proc.send_signal(signum)
