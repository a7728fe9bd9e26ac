"""One emulated network at a time on a machine: node names would collide otherwise.

An flock on a file in /run/cloud-emulator; the kernel releases it when the
holder dies, so a killed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulator.errors import EnvironmentProblem

STATE_DIR = Path(os.environ.get("CLOUD_EMULATOR_STATE_DIR", "/run/cloud-emulator"))
LOCK_FILE = STATE_DIR / "lock"


@contextmanager
def exclusive(purpose: str) -> Iterator[None]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(LOCK_FILE, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise EnvironmentProblem(f"cannot {purpose}: an emulated network is in use by {holder}",
                                     fix="wait for it to finish, or stop it with Ctrl-C") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
