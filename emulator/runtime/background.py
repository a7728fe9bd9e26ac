"""A helper thread's failure that the run cannot go on without: it ends the run, with exit 3 and its reason.

Only the main thread can stop a run (it may be in a check, or at the lab's prompt), so a thread records its
problem here and signals the main thread, whose handler (runner.signals_as_exceptions) raises it there, and
teardown follows. Before, the follower caught only EmulatorError and ended alone on anything else (a
"dictionary changed size during iteration" from a lab change beside it): the run went on without health
checks or BGP following, and said nothing.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Callable

from emulator.errors import EmulatorError, RunEnding
from emulator.runtime.controller_process import LOST_SIGNAL


class BackgroundFailure(RunEnding):
    """A thread that keeps the running network in step with the model failed: the run stops (exit 3)."""


def _signal_main_thread() -> None:
    signal.pthread_kill(threading.main_thread().ident, LOST_SIGNAL)


class Failures:
    """The first failure reported by any helper thread; `notify` tells the main thread (a unit test passes its
    own)."""

    def __init__(self, notify: Callable[[], None] = _signal_main_thread) -> None:
        self.first: BackgroundFailure | None = None
        self._undelivered = False
        self._notify = notify
        self._lock = threading.Lock()

    def report(self, what: str, problem: BaseException) -> None:
        """`what` failed on `problem`: an EmulatorError keeps its message and fix; anything else is a defect of
        the emulator, said with where it happened."""
        if isinstance(problem, EmulatorError):
            failure = BackgroundFailure(f"{what}: {problem.message}", fix=problem.fix)
        else:
            frame = traceback.extract_tb(problem.__traceback__)[-1] if problem.__traceback__ else None
            where = f" at {frame.filename}:{frame.lineno}" if frame else ""
            failure = BackgroundFailure(f"{what}: {type(problem).__name__}: {problem}{where}",
                                        fix="a defect of the emulator: please report it with this message and "
                                            "the run's --artifacts DIR")
        with self._lock:
            if self.first is not None:
                return
            self.first = failure
            self._undelivered = True
        self._notify()

    def take(self) -> BackgroundFailure | None:
        """The reported failure, once: a later signal (the controller lost) is then about something else."""
        with self._lock:
            if not self._undelivered:
                return None
            self._undelivered = False
            return self.first
