"""Standard input for a process whose caller closed it (CI runners, daemons): see ensure_stdin_open."""

from __future__ import annotations

import os
import sys


def ensure_stdin_open() -> None:
    """Give a closed standard input /dev/null (CI runners and daemons may close it).

    Otherwise the next file or socket opened gets descriptor 0, and every child that
    inherits it (ovs-vsctl, Mininet's helpers) reads from, or writes to, the wrong thing.
    """
    try:
        os.fstat(0)
    except OSError:
        descriptor = os.open(os.devnull, os.O_RDONLY)
        if descriptor != 0:
            os.dup2(descriptor, 0)
            os.close(descriptor)
        os.set_inheritable(0, True)          # Python opens files close-on-exec; children must get it
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 (lives as long as the process)
