import signal

import pytest

from launcher.policy import RestartPolicy, RestartTracker, describe_exit, is_fatal


def test_delay_doubles_up_to_the_maximum():
    policy = RestartPolicy(initial=0.5, factor=2, maximum=30)
    assert [policy.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_delay_counts_from_one():
    with pytest.raises(ValueError):
        RestartPolicy().delay(0)


def test_crash_loop_backs_off_and_a_stable_run_resets_it():
    tracker = RestartTracker(RestartPolicy(initial=1, maximum=60, stable_after=30))
    assert [tracker.after_exit(0.2) for _ in range(4)] == [1, 2, 4, 8]
    assert tracker.after_exit(31) == 1  # it ran long enough to count as healthy
    assert tracker.after_exit(1) == 2
    assert tracker.restarts == 6


def test_only_the_configuration_exit_code_is_fatal():
    assert is_fatal(2)
    assert not any(is_fatal(code) for code in (0, 1, 3, 4, -9, -15))


@pytest.mark.parametrize(("code", "text"), [
    (1, "exited with code 1"),
    (0, "exited with code 0"),
    (2, "exited with code 2 (configuration error)"),
    (-signal.SIGKILL, "was killed by SIGKILL"),
    (-200, "was killed by signal 200"),
])
def test_describe_exit_names_codes_and_signals(code, text):
    assert describe_exit(code) == text
