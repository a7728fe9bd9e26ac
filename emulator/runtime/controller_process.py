"""The os-ken controller as a supervised child process: started, watched, restarted and stopped by the runtime.

os-ken's run_apps blocks, so it runs as its own process (python -m controllers),
with its log kept beside the run's other artefacts. Open vSwitch keeps every
flow when the controller goes (the bridges are fail_mode=secure), so transit
traffic does not notice a dead controller; what stops is the slow path (ARP
and ICMP for router addresses, time exceeded). A watcher thread notices a dead
controller within WATCH_INTERVAL_S and hands over to a standby process that
has already imported os-ken and waits on a port of its own: once it listens,
one ovs-vsctl transaction points every bridge at that port, and Open vSwitch
connects to a new target at once (waiting for the old one would cost its
reconnection backoff, 1 to 2 s). The new process rewrites the current
generation's flows without deleting any. If no controller can be brought back,
the main thread gets SIGUSR1 (the runner turns it into ControllerLost, exit 3,
and tears everything down).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from emulator.errors import RunEnding, RuntimeFailure
from emulator.runtime.commands import exit_status, run
from emulator.runtime.network import controller_target, retarget_command
from emulator.session import ControllerRestart

START_TIMEOUT_S = 30.0
WATCH_INTERVAL_S = 0.05
RECONNECT_TIMEOUT_S = 10.0      # Open vSwitch retries every second; several misses mean something is wrong
RECONNECT_PER_BRIDGE_S = 0.2    # plus the time to rewrite each bridge's flows (251 bridges at 250 VPCs)
FRESH_STARTS = 2                # after the standby, how many new processes are tried before giving up
LOST_SIGNAL = signal.SIGUSR1


class ControllerLost(RunEnding):
    """The controller died and no new one could take over: the run stops (exit 3)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ControllerProcess:
    def __init__(self, plan_path: Path, log_path: Path, port: int) -> None:
        self.plan_path = plan_path
        self.log_path = log_path
        self.status_path = log_path.with_name("controller.status.json")
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.standby: subprocess.Popen[bytes] | None = None
        self.standby_port = 0
        self.restarts: list[ControllerRestart] = []
        self.failure: str | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    # ----- processes --------------------------------------------------------------------------

    def _spawn(self, standby: bool, port: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "controllers", "--plan", str(self.plan_path), "--port", str(port),
                "--status", str(self.status_path)]
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(argv + (["--standby"] if standby else []), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.PIPE if standby else subprocess.DEVNULL,
                                    start_new_session=True)

    def _wait_listening(self, process: subprocess.Popen[bytes], port: int, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            if process.poll() is not None:
                raise RuntimeFailure(f"the controller exited at start ({exit_status(process.returncode)}):\n"
                                     f"{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeFailure(f"the controller did not listen on port {port} within {timeout:.0f} s:\n"
                             f"{self.log_tail()}")

    def start(self, on_event: Callable[[str], None] = lambda _line: None,
              bridges: Mapping[str, int] | None = None) -> None:
        """Start the controller, wait until it listens, then watch it.

        `bridges` maps each bridge's name to its datapath ID: the names are retargeted after a restart, the
        IDs' reconnection marks the slow path as back.
        """
        self.process = self._spawn(standby=False, port=self.port)
        self._wait_listening(self.process, self.port)
        self._watcher = threading.Thread(target=self._watch, args=(on_event, dict(bridges or {})),
                                         name="controller-watch", daemon=True)
        self._watcher.start()

    def arm_standby(self) -> None:
        """Start the standby (it imports os-ken, then waits): after the build, so it does not compete with it."""
        if self.standby is None and not self._stopping.is_set():
            self.standby_port = free_port()
            self.standby = self._spawn(standby=True, port=self.standby_port)

    def _watch(self, on_event: Callable[[str], None], bridges: dict[str, int]) -> None:
        while not self._stopping.wait(WATCH_INTERVAL_S):
            if self.process is None or self.process.poll() is None:
                continue
            if self._stopping.is_set():
                return
            noticed = time.monotonic()
            died_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            status = exit_status(self.process.returncode)
            on_event(f"the controller died ({status}); restarting it")
            try:
                self.process, self.port = self._take_over()
                run(retarget_command(sorted(bridges), controller_target(self.port)))
                self._wait_reconnected(self.process.pid, frozenset(bridges.values()))
            except RuntimeFailure as problem:
                if self._stopping.is_set():
                    return
                self.failure = (f"the controller died at {died_at} ({status}) and could not be restarted: "
                                f"{problem.message}")
                on_event(self.failure)
                signal.pthread_kill(threading.main_thread().ident, LOST_SIGNAL)
                return
            restart = ControllerRestart(died_at, status, time.monotonic() - noticed, self.process.pid)
            self.restarts.append(restart)
            on_event(restart.note())
            self.arm_standby()

    def _take_over(self) -> tuple[subprocess.Popen[bytes], int]:
        """The standby listens at once on its own port; failing that, fresh processes are tried."""
        standby, self.standby = self.standby, None
        problems = []
        if standby is not None and standby.poll() is None:
            try:
                standby.stdin.write(b"go\n")
                standby.stdin.close()
                self._wait_listening(standby, self.standby_port)
                return standby, self.standby_port
            except (OSError, RuntimeFailure) as problem:
                problems.append(str(problem))
                _end(standby)
        for _attempt in range(FRESH_STARTS):
            port = free_port()
            fresh = self._spawn(standby=False, port=port)
            try:
                self._wait_listening(fresh, port)
                return fresh, port
            except RuntimeFailure as problem:
                problems.append(problem.message)
                _end(fresh)
        raise RuntimeFailure("; ".join(problems[-1:]) or "no controller process could be started")

    def _wait_reconnected(self, pid: int, bridges: frozenset[int]) -> None:
        """Until the new process has confirmed every bridge's flows (its status file says so)."""
        timeout = RECONNECT_TIMEOUT_S + RECONNECT_PER_BRIDGE_S * len(bridges)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeFailure(f"the new controller exited too ({exit_status(self.process.returncode)}):\n"
                                     f"{self.log_tail()}")
            if bridges <= self.ready_bridges(pid):
                return
            time.sleep(0.02)
        if not self._stopping.is_set():
            raise RuntimeFailure(f"the bridges did not reconnect to the new controller within {timeout:.0f} s")

    def ready_bridges(self, pid: int | None = None) -> frozenset[int]:
        """Datapath IDs whose flows the controller (process `pid`, or the current one) has confirmed."""
        try:
            status = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return frozenset()
        wanted = pid if pid is not None else (self.process.pid if self.process else None)
        return frozenset(status["ready"]) if status.get("pid") == wanted else frozenset()

    @property
    def watching(self) -> bool:
        """False from the start of teardown on: a death is then expected."""
        return not self._stopping.is_set()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no controller log)"

    def stop_watching(self) -> None:
        """From here on a death is expected (teardown): no restart, no signal to the main thread."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=START_TIMEOUT_S)

    def stop(self) -> None:
        self.stop_watching()
        for process in (self.standby, self.process):
            if process is not None:
                _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
