"""The supervisor against tiny ``python -c`` children (no exchange services): order, restarts, stops."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Sequence

from launcher.logs import LogSink
from launcher.policy import RestartPolicy
from launcher.services import Ready, ServiceSpec
from launcher.supervisor import Supervisor
from tests.support.services import free_port

SLEEP = "import time; print('up', flush=True); time.sleep(60)"
FAST = RestartPolicy(initial=0.05, factor=2, maximum=0.2, stable_after=30)


def spec(name: str, code: str, stage: int = 0, **kwargs: object) -> ServiceSpec:
    return ServiceSpec(name, (sys.executable, "-c", code), stage, **kwargs)  # type: ignore[arg-type]


def run(specs: Sequence[ServiceSpec], stop_after: float | None = 0.5, stop_timeout: float = 5,
        start_timeout: float = 10) -> tuple[int, list[str]]:
    out = io.StringIO()
    sink = LogSink(out, [s.name for s in specs], colour=False)

    async def main() -> int:
        supervisor = Supervisor(sink, FAST, stop_timeout, start_timeout)

        def ready() -> None:
            sink.say("READY")
            if stop_after is not None:
                asyncio.get_running_loop().call_later(stop_after, supervisor.request_stop)

        return await supervisor.run(specs, ready)

    code = asyncio.run(main())
    return code, out.getvalue().splitlines()


def index(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line)


def test_stages_start_in_order_and_stop_in_reverse():
    code, lines = run([spec("first", SLEEP, 0), spec("second", SLEEP, 1)])
    assert code == 0
    assert index(lines, "first started") < index(lines, "second started") < index(lines, "READY")
    assert index(lines, "second stopped") < index(lines, "first stopped") < index(lines, "all services")


def test_output_carries_the_service_prefix():
    code, lines = run([spec("svc", "print('hello'); import sys; sys.stdout.write('no newline')"
                             "; sys.stdout.flush(); import time; time.sleep(60)")])
    assert code == 0
    assert "svc      | hello" in lines and "svc      | no newline" in lines


def test_a_crashing_service_is_restarted_with_a_log_line():
    code, lines = run([spec("flaky", "import sys; sys.exit(1)")], stop_after=1.0)
    assert code == 0
    restarts = [line for line in lines if "flaky exited with code 1 after" in line]
    assert len(restarts) >= 3 and "restarting in 0.05 s (restart 1)" in restarts[0]
    assert "restarting in 0.1 s (restart 2)" in restarts[1]
    assert sum("flaky started" in line for line in lines) in (len(restarts), len(restarts) + 1)


def test_a_configuration_error_stops_the_exchange_with_exit_2():
    broken = spec("broken", "import sys; sys.exit(2)", 1)
    code, lines = run([spec("steady", SLEEP, 0), broken], stop_after=None)
    assert code == 2
    assert any("broken exited with code 2 (configuration error): not restarting" in line for line in lines)
    assert any("steady stopped" in line for line in lines)


def test_a_service_that_ignores_sigterm_gets_sigkill():
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True);"
                " time.sleep(60)")
    code, lines = run([spec("stubborn", stubborn)], stop_timeout=0.5)
    assert code == 0
    assert any("stubborn did not stop within 0.5 s: SIGKILL" in line for line in lines)


def test_a_service_that_never_gets_ready_fails_the_start():
    never = spec("never", SLEEP, ready=Ready.TCP, port=free_port())
    code, lines = run([never, spec("later", SLEEP, 1)], stop_after=None, start_timeout=1)
    assert code == 1
    assert any("not ready after 1 s (never)" in line for line in lines)
    assert not any("later started" in line for line in lines)


def test_a_program_that_cannot_be_started_fails_the_start():
    missing = ServiceSpec("ghost", ("/nonexistent/binary",), 0)
    code, lines = run([missing], stop_after=None)
    assert code == 1 and any("cannot start ghost" in line for line in lines)
