"""The run's helper processes, watched as the controller is: a death is noticed, repaired where it can be, and said.

Delay lines, health check probers, the VBRs' BGP speakers and FRR's daemons run in sessions of their own
(runtime/commands.py), out of the reach of the terminal's Ctrl-C; something can still end one (a person's `kill`,
the OOM killer). Nothing else would say so: a dead delay line cuts its link while `explain` says REACHABLE, a dead
prober freezes its health check's verdict, a dead speaker drops its BGP session. The watch looks every
WATCH_INTERVAL_S, starts a dead helper again from its own files (a delay line's parameters file holds its
current values, a prober's and a speaker's configuration file theirs) at most MAX_RESTARTS times, and tells the
run's progress (the lab prints it on its screen, `run` keeps it in its notes). FRR's daemons are only reported:
the lab's `bgp` commands change their running configuration, which a start from their files would lose.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

from emulator.errors import EmulatorError
from emulator.runtime.commands import exit_status

WATCH_INTERVAL_S = 0.2
MAX_RESTARTS = 3        # a helper that keeps dying is not started for ever
GIVE_UP = "start the lab (or the run) again"


@dataclass
class Helper:
    """One watched process: its name as the user knows it, how it ended (None while it runs), how to start it
    again (None: it cannot be, and why not)."""

    name: str
    ended: Callable[[], str | None]
    restart: Callable[[], None] | None = None
    why_not: str = ""


def popen_ended(process: Callable[[], subprocess.Popen | None]) -> Callable[[], str | None]:
    """`ended` for a helper held as a Popen (looked up on each call: a restart replaces it); not started counts
    as running, so that a helper stopped by teardown is not taken for a dead one."""

    def ended() -> str | None:
        current = process()
        code = current.poll() if current is not None else None
        return None if code is None else exit_status(code)

    return ended


class Watch:
    """Looks at every helper in turn; `look` is one pass (what the thread does, and what unit tests call)."""

    def __init__(self, helpers: list[Helper], say: Callable[[str], None]) -> None:
        self.helpers = helpers
        self.say = say
        self.restarts: dict[int, int] = {}       # by the helper's position in `helpers`
        self.given_up: set[int] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def look(self) -> None:
        for index, helper in enumerate(self.helpers):     # by position: two helpers may share a name
            if index in self.given_up:
                continue
            ended = helper.ended()
            if ended is None:
                continue
            if helper.restart is None:
                self._give_up(index, f"{helper.name} died ({ended}) and is not restarted ({helper.why_not}); "
                                     f"{GIVE_UP}")
                continue
            count = self.restarts.get(index, 0)
            if count >= MAX_RESTARTS:
                self._give_up(index, f"{helper.name} died again ({ended}) after {count} restarts; not started "
                                     f"again: {GIVE_UP}")
                continue
            self.restarts[index] = count + 1
            try:
                helper.restart()
            except (EmulatorError, OSError) as problem:
                reason = problem.message if isinstance(problem, EmulatorError) else str(problem)
                self._give_up(index, f"{helper.name} died ({ended}) and could not be restarted: {reason}; "
                                     f"{GIVE_UP}")
                continue
            self.say(f"{helper.name} died ({ended}); restarted with its current settings")

    def _give_up(self, index: int, message: str) -> None:
        self.given_up.add(index)
        self.say(message)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="helper-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL_S):
            self.look()

    def stop(self) -> None:
        """Before teardown stops the helpers: their ends are expected from here on."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
