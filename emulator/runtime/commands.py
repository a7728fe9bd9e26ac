"""Run a command as an argument list, on the host or inside a node's network namespace."""

from __future__ import annotations

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
                                capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise RuntimeFailure(f"command not found: {argv[0]}", fix="run `make install` to install what is missing") \
            from None
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"{' '.join(argv)} did not finish within {timeout:.0f} s") from None
    if check and result.returncode != 0:
        raise RuntimeFailure(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()[:500]}")
    return result


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
