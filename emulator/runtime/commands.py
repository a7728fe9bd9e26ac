"""Run a command as an argument list, on the host or inside a node's network namespace.

Every process the emulator starts gets a session of its own (`run` and `spawn` both): the terminal's Ctrl-C
goes to its foreground process group, and in the lab it must interrupt only the command in progress, never a
delay line, prober or speaker that the network needs (issue 25). The emulator stops what it started itself: an
interrupted command its workers, teardown everything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence

from emulator.errors import RuntimeFailure

DEFAULT_TIMEOUT_S = 30.0


def run(argv: Sequence[str], *, check: bool = True, timeout: float = DEFAULT_TIMEOUT_S,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `argv` (no shell); raise RuntimeFailure with its stderr when `check` and it fails."""
    try:
        result = subprocess.run(list(argv), input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout, check=False,
                                start_new_session=True)    # interrupted, subprocess.run kills it itself
    except FileNotFoundError:
        raise RuntimeFailure(f"command not found: {argv[0]}", fix="run `make install` to install what is missing") \
            from None
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"{' '.join(argv)} did not finish within {timeout:.0f} s") from None
    if check and result.returncode != 0:
        raise RuntimeFailure(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()[:500]}")
    return result


def spawn(argv: Sequence[str], **options) -> subprocess.Popen:
    """Start `argv` (no shell) in a session of its own, out of the terminal's reach; `options` go to Popen."""
    return subprocess.Popen(list(argv), start_new_session=True, **options)


def exit_status(returncode: int) -> str:
    """How a process ended, in words: `exit 1`, `killed by SIGINT`."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


def finish(process: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """Wait for `process` and read its output; past `timeout` it is killed, and what it wrote is still read."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def terminate(process: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """SIGTERM a process that is still running, SIGKILL it if it has not gone within `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def in_namespace(pid: int, argv: Sequence[str]) -> list[str]:
    """The argument list that runs `argv` in the network namespace of process `pid` (a Mininet node)."""
    return ["mnexec", "-a", str(pid), *argv]


def python_module(module: str, *args: str) -> list[str]:
    """The argument list that runs one of the project's modules with this interpreter (the virtualenv's)."""
    return [sys.executable, "-m", module, *args]
