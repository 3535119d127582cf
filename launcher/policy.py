"""When to restart a service that exited, and how to describe an exit."""

from __future__ import annotations

import signal
from dataclasses import dataclass

# Every service exits 2 on a bad configuration or markets file (docs/api.md, Operations): restarting
# cannot fix that, so the launcher stops the exchange instead of looping.
CONFIG_ERROR_EXIT = 2


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Exponential backoff between restarts: ``initial`` doubling up to ``maximum`` seconds.

    A run that lasted ``stable_after`` seconds or more counts as healthy, so the next crash starts again
    from ``initial``: one crash a day restarts at once, a crash loop slows down to one try per ``maximum``.
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    stable_after: float = 30.0

    def delay(self, consecutive_failures: int) -> float:
        """Seconds to wait before restart number ``consecutive_failures`` (1 for the first) in a row."""
        if consecutive_failures < 1:
            raise ValueError("consecutive_failures starts at 1")
        return min(self.maximum, self.initial * self.factor ** (consecutive_failures - 1))


class RestartTracker:
    """Count a service's consecutive short-lived runs and give the delay before its next start."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.failures = 0
        self.restarts = 0

    def after_exit(self, ran_for: float) -> float:
        self.failures = 1 if ran_for >= self.policy.stable_after else self.failures + 1
        self.restarts += 1
        return self.policy.delay(self.failures)


def is_fatal(returncode: int) -> bool:
    """A configuration error: restarting the service would fail the same way."""
    return returncode == CONFIG_ERROR_EXIT


def describe_exit(returncode: int) -> str:
    """``exited with code 1``, ``was killed by SIGKILL``, ..."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    if returncode == CONFIG_ERROR_EXIT:
        return f"exited with code {returncode} (configuration error)"
    return f"exited with code {returncode}"
