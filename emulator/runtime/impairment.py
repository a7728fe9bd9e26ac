"""Delay, jitter and loss on a link: netem where the kernel has it, the userspace delay line where it does not.

With sch_netem (a stock Ubuntu kernel) each end's egress gets a netem qdisc,
below the HTB class when the link is shaped, so each direction is delayed by
the one-way latency and loses its own packets. Without it (these CI machines,
WSL2's default kernel) the link is built with a delay line spliced into its
middle (runtime/delay_line.py, in a namespace of its own), and shaping stays
HTB on the link's ends. The commands are built here as argument lists so that
unit tests hold them, whatever the kernel of the machine running the tests.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from emulator.errors import RuntimeFailure
from emulator.impairment import Impairment
from emulator.plan import DELAY_LINE_SHORT, NAME_PREFIX
from emulator.runtime import shaping
from emulator.runtime.commands import exit_status, finish, in_namespace, python_module, spawn

NETEM_HANDLE = "10:"
NETEM_MIN_LIMIT = 1000          # netem's own default, in packets
UNSHAPED_RATE_MBPS = 10_000     # what an unshaped link is assumed to carry when sizing the netem queue
FRAME_BITS = 1514 * 8
READY_TIMEOUT_S = 10.0


class Mechanism(str, Enum):
    NONE = "none"                       # an ideal link
    NETEM = "netem"                     # the kernel's sch_netem
    DELAY_LINE = "delay line"           # the userspace fallback


def netem_limit(impairment: Impairment, rate_mbps: float | None) -> int:
    """Packets netem must hold: everything in flight during the longest delay at the link's rate, twice over."""
    pps = (rate_mbps or UNSHAPED_RATE_MBPS) * 1_000_000 / FRAME_BITS
    in_flight = pps * (impairment.latency_ms + impairment.jitter_ms) / 1000
    return max(NETEM_MIN_LIMIT, math.ceil(2 * in_flight))


def netem_arguments(impairment: Impairment, rate_mbps: float | None) -> list[str]:
    args = ["netem", "limit", str(netem_limit(impairment, rate_mbps))]
    if impairment.latency_ms or impairment.jitter_ms:
        args += ["delay", f"{impairment.latency_ms:g}ms"]
        if impairment.jitter_ms:
            args += [f"{impairment.jitter_ms:g}ms"]     # uniform within +-jitter, as the delay line does
    if impairment.loss_percent:
        args += ["loss", "random", f"{impairment.loss_percent:g}%"]
    return args


def egress_commands(interface: str, rate_mbps: float | None, impairment: Impairment,
                    netem: bool) -> list[list[str]]:
    """Everything one end's egress needs, from a clean slate: HTB for the rate, netem below it for the rest."""
    commands = []
    if rate_mbps:
        commands += shaping.htb_commands(interface, rate_mbps)
    if netem and not impairment.ideal:
        parent = ["parent", f"{shaping.HTB_HANDLE}1"] if rate_mbps else ["root"]
        commands.append(["tc", "qdisc", "add", "dev", interface, *parent, "handle", NETEM_HANDLE,
                         *netem_arguments(impairment, rate_mbps)])
    return commands


def delay_line_name(index: int) -> str:
    return f"{NAME_PREFIX}{DELAY_LINE_SHORT}{index}"


@dataclass
class DelayLineProcess:
    """One running delay line: its node, process and parameters file (rewritten, then SIGHUP, to change it).

    The parameters file always holds the line's current values, so a line that died (it runs in a session of its
    own, out of Ctrl-C's reach, but can still be killed) is started again from it: by the run's watch
    (runtime/supervision.py) or by the next change. A change that cannot reach a running line is an error, never a
    silent success: the link carries nothing without its delay line.
    """

    node: str
    facing_a: str        # its interface towards the link's a end
    facing_b: str
    params_path: Path
    link: str = ""       # the link's console name (pc-AAA), for messages
    process: subprocess.Popen | None = None
    counters: dict | None = None
    pid: int = 0         # of the node whose namespace it runs in
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"the delay line of {self.link or self.node}"

    def write(self, impairment: Impairment) -> None:
        temporary = self.params_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(impairment.to_json()))
        temporary.replace(self.params_path)

    def start(self, pid: int, impairment: Impairment) -> None:
        self.pid = pid
        self.write(impairment)
        with self.lock:
            self._spawn()

    def _spawn(self) -> None:
        """Start the process on the parameters file as it is; wait for its "ready"."""
        self.process = spawn(
            in_namespace(self.pid, python_module("emulator.runtime.delay_line", "--a", self.facing_a, "--b",
                                                 self.facing_b, "--params", str(self.params_path))),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = _read_line(self.process, READY_TIMEOUT_S)
        if line != "ready":
            _out, err = finish(self.process, 2)
            raise RuntimeFailure(f"the delay line {self.node} did not start: {(err or line or 'no output').strip()[-300:]}")

    def restart(self) -> None:
        """Start the line again if it died, on its parameters file (its current values); nothing while it runs or
        once teardown has stopped it."""
        with self.lock:
            if self.process is not None and self.process.poll() is not None:
                finish(self.process, 1)
                self._spawn()

    def _require(self) -> None:
        """A change relies on the line forwarding (the lock held): started again if it died, or an error saying
        so, never a silent success."""
        process = self.process
        if process is None:
            raise RuntimeFailure(f"{self.name} ({self.node}) is not running: it was stopped")
        if process.poll() is None:
            return
        status = exit_status(process.returncode)
        finish(process, 1)
        try:
            self._spawn()
        except RuntimeFailure as problem:
            raise RuntimeFailure(f"{self.name} ({self.node}) is not running ({status}) and could not be restarted: "
                                 f"{problem.message}",
                                 fix="the link carries nothing without it: leave the lab (exit) and start it "
                                     "again") from None

    def ensure_running(self) -> None:
        """Before a change that relies on the line forwarding (its carrier brought up): see _require."""
        with self.lock:
            self._require()

    def change(self, impairment: Impairment) -> None:
        """New values, live: the file rewritten, then SIGHUP (the line reads it again); a line that died is
        started on the new values instead."""
        with self.lock:
            self.write(impairment)
            self._require()
            self.process.send_signal(signal.SIGHUP)

    def snapshot(self, timeout: float = 3.0) -> dict | None:
        """The running line's counters now (it writes them on SIGUSR1), or None if it does not answer in time."""
        from emulator.runtime.delay_line import snapshot_path

        path = snapshot_path(self.params_path)
        path.unlink(missing_ok=True)
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return json.loads(path.read_text())
            except (OSError, ValueError):
                time.sleep(0.02)
        return None

    def stop(self) -> None:
        with self.lock:
            if self.process is None:
                return
            process, self.process = self.process, None
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            out, _err = finish(process, 5)
        try:
            self.counters = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.counters = None


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The first line the process writes, or '' if none within `timeout` (it is killed then)."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            return ""
    return process.stdout.readline().strip()
