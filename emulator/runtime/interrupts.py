"""Ctrl-C held back while a change is made: the lab changes the model first, then the network; an interrupt
between the two would leave `explain` answering for a network that does not exist (issue 25)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def finished_before_interrupt() -> Iterator[list[int]]:
    """The block runs to its end whatever one Ctrl-C does (said on stderr); the list it yields holds SIGINT if one
    came meanwhile. A second Ctrl-C stops the block after all. Outside the main thread (where Python delivers
    signals) there is nothing to hold back."""
    pressed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def held(signum: int, _frame) -> None:
        """The first Ctrl-C is said and waits; a second one stops waiting (a hung controller must not hold the
        terminal), as Ctrl-C does anywhere else."""
        pressed.append(signum)
        if len(pressed) == 1:
            sys.stderr.write("\nfinishing the change first (Ctrl-C again to stop waiting)\n")
            sys.stderr.flush()
        else:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, held)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)
