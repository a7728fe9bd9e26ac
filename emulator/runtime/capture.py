"""Packet capture on the link ends emulator/captures.py chose: one pcap per end, bounded, always flushed.

tcpdump runs on each end in that end's namespace (the bridges' ends are in the
host's), writes each packet as it comes, and stops after CAPTURE_PACKETS
packets; teardown stops it with SIGINT first, so the file is complete whatever
ended the run.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from emulator.captures import CAPTURE_PACKETS, CaptureFile, LinkEnd
from emulator.errors import RuntimeFailure
from emulator.runtime.commands import finish, spawn

START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0


def tcpdump_argv(interface: str, path: Path) -> list[str]:
    """Every packet handed over and written as it arrives (--immediate-mode, -U: a capture stopped a moment after
    a ping still holds it), as root (-Z root: the artefacts directory is root's)."""
    return ["tcpdump", "-i", interface, "-n", "--immediate-mode", "-U", "-Z", "root", "-c", str(CAPTURE_PACKETS),
            "-w", str(path)]


Spawn = Callable[[str, list[str]], subprocess.Popen]


class Captures:
    """The running tcpdumps of one run."""

    def __init__(self) -> None:
        self.running: list[tuple[CaptureFile, subprocess.Popen]] = []

    def start(self, ends: list[LinkEnd], folder: Path, spawn_in_node: Spawn) -> list[CaptureFile]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RuntimeFailure(f"cannot create the capture folder {folder}: {exc.strerror}",
                                 fix="choose a writable --artifacts DIR") from None
        started = []
        for end in ends:
            target = CaptureFile(end, folder / end.file_name())
            argv = tcpdump_argv(end.interface, target.path)
            process = spawn_in_node(end.node_name, argv) if end.in_namespace else spawn(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
            self.running.append((target, process))
            started.append((target, process))
        for target, process in started:
            _wait_listening(target, process)
        return [target for target, _ in started]

    def stop(self) -> list[CaptureFile]:
        """SIGINT, so that tcpdump closes its file and counts; then the file holds every packet it saw."""
        stopped = [target for target, _ in self.running]
        for _target, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for target, process in self.running:
            _out, err = finish(process, STOP_TIMEOUT_S)
            target.packets = _packets_captured(err or "")
        self.running = []
        return stopped


def _wait_listening(target: CaptureFile, process: subprocess.Popen) -> None:
    """tcpdump says "listening on IF" once it captures: the checks must not start before that."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stderr.readline() if process.stderr is not None else ""
        if "listening on" in line:
            return
        if not line and process.poll() is not None:
            break
    raise RuntimeFailure(f"tcpdump could not capture on {target.end.interface} ({target.end.node_id})",
                         fix="check that tcpdump is installed (make install)")


def _packets_captured(stderr: str) -> int | None:
    for line in stderr.splitlines():
        if line.endswith("packets captured"):
            return int(line.split()[0])
    return None
