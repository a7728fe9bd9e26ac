"""Ctrl-C held back while a change is made: the lab changes the model first, then the network; an interrupt
between the two would leave `explain` answering for a network that does not exist (issue 25)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def finished_before_interrupt() -> Iterator[list[int]]:
    """The block runs to its end whatever Ctrl-C does; the list it yields holds SIGINT if one came meanwhile.
    Outside the main thread (where Python delivers signals) there is nothing to hold back."""
    pressed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)
