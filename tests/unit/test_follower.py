"""The follower thread never ends alone: whatever it catches is reported once, and the main thread is told."""

import threading

from emulator.errors import RuntimeFailure
from emulator.runner import Follower
from emulator.runtime.background import BackgroundFailure, Failures


class _Live:
    """Stands in for runner.Live: its follow_health fails the way a race with a lab change did."""

    def __init__(self, problem: BaseException) -> None:
        self.problem = problem
        self.calls = 0

    def follow_health(self, _prepared):
        self.calls += 1
        raise self.problem

    def follow_bgp(self, _prepared):
        return False


def _follow(problem: BaseException) -> tuple[Failures, _Live, list[str]]:
    told = threading.Event()
    failures = Failures(notify=told.set)
    live = _Live(problem)
    said: list[str] = []
    follower = Follower(None, live, said.append, failures)
    assert told.wait(5), "the main thread was never told"
    follower.stop()
    return failures, live, said


def test_an_unexpected_error_is_reported_with_where_it_happened_and_the_thread_stops():
    failures, live, _ = _follow(RuntimeError("dictionary changed size during iteration"))
    assert isinstance(failures.first, BackgroundFailure)
    message = failures.first.message
    assert message.startswith(Follower.WHAT) and "RuntimeError: dictionary changed size during iteration" in message
    assert "test_follower.py:" in message and "report it" in failures.first.fix
    assert live.calls == 1


def test_an_emulator_error_keeps_its_message_and_fix():
    failures, _, _ = _follow(RuntimeFailure("the controller did not install all flows within 31 s", fix="read the log"))
    assert failures.first.message == f"{Follower.WHAT}: the controller did not install all flows within 31 s"
    assert failures.first.fix == "read the log"


def test_only_the_first_failure_is_kept_and_told():
    told: list[int] = []
    failures = Failures(notify=lambda: told.append(1))
    failures.report("one", RuntimeError("first"))
    failures.report("two", RuntimeError("second"))
    assert "first" in failures.first.message and told == [1]


def test_the_main_thread_raises_the_reported_failure_once_and_a_later_signal_is_the_controllers():
    """The real path: a thread reports, SIGUSR1 reaches the main thread, runner's handler raises it there; a later
    signal (the controller lost for good) is not taken for the same failure again."""
    import time

    import pytest

    from emulator.runner import signals_as_exceptions
    from emulator.runtime.controller_process import ControllerLost

    controller = type("Controller", (), {"watching": True, "failure": "the controller died", "log_tail": str})()
    failures = Failures()
    with pytest.raises(BackgroundFailure) as caught, signals_as_exceptions(controller, failures):
        threading.Thread(target=failures.report, args=("the follower", RuntimeError("boom"))).start()
        time.sleep(10)
    assert "RuntimeError: boom" in caught.value.message
    with pytest.raises(ControllerLost), signals_as_exceptions(controller, failures):
        threading.Thread(target=failures._notify).start()
        time.sleep(10)
