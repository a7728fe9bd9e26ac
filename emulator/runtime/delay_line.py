"""A userspace delay line for kernels without sch_netem: delays and drops frames between two interfaces.

Run inside its own network namespace, spliced into a link (A <-> delay line <->
B). Each frame read on one side is sent out of the other after latency_ms (+-
jitter_ms, uniform), or dropped with probability loss_percent / 100. Frames
keep their order: a frame never leaves before the one that arrived before it
(netem's pfifo child gives the same). The loop sleeps with `select` until the
next frame is due (microsecond timeouts) and sends every frame that is due in
one pass, so a 1 ms delay costs no throughput: the trap of userspace delay
lines that sleep per packet (gns3-gui issue 2321).

New values arrive through the parameters file, re-read on SIGHUP (the lab's
`line set`). On SIGTERM or SIGINT it prints its counters as JSON and exits.

`python -m emulator.runtime.delay_line --a IF --b IF --params FILE`
"""

from __future__ import annotations

import argparse
import collections
import errno
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23     # Linux 4.20+: do not read back what this socket (or the stack) sends
SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33     # <asm-generic/socket.h>; Python's socket module lacks them
SOCKET_BUFFER = 8 * 1024 * 1024
READ_BATCH = 256
MAX_FRAME = 65_535
# The wire runs at the datapath's priority (ovs-ctl starts ovs-vswitchd at nice -10): on a loaded machine a
# starved delay line delays too much and bursts. Measured with two CPU hogs beside a run: TCP through the
# shipped scenario's two delay lines fell to 68.8 Mbit/s at nice 0 and stayed at 85-90 at nice -10.
NICENESS = -10
PR_SET_PDEATHSIG = 1


@dataclass
class Direction:
    """One way through the line: frames waiting (due time, frame) and what happened to them."""

    name: str
    queue: collections.deque = field(default_factory=collections.deque)
    last_due: float = 0.0
    received: int = 0
    dropped_loss: int = 0
    sent: int = 0
    send_failed: int = 0

    def counters(self) -> dict:
        return {"received": self.received, "dropped_by_loss": self.dropped_loss, "sent": self.sent,
                "send_failed": self.send_failed, "queued": len(self.queue)}


@dataclass
class Params:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_percent: float = 0.0

    @classmethod
    def read(cls, path: Path) -> "Params":
        raw = json.loads(path.read_text())
        return cls(float(raw.get("latency_ms", 0)), float(raw.get("jitter_ms", 0)),
                   float(raw.get("loss_percent", 0)))


def open_port(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    for option in (SO_RCVBUFFORCE, SO_SNDBUFFORCE):
        sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
    sock.bind((interface, ETH_P_ALL))
    sock.setblocking(False)
    return sock


def kernel_drops(sock: socket.socket) -> int:
    """Frames the kernel dropped because this process did not read them in time (its ceiling reached)."""
    _packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    return drops


class DelayLine:
    def __init__(self, a: str, b: str, params_path: Path) -> None:
        self.params_path = params_path
        self.params = Params.read(params_path)
        self.ports = {"a": open_port(a), "b": open_port(b)}
        self.ways = {"a": Direction(f"{a}->{b}"), "b": Direction(f"{b}->{a}")}   # keyed by the side frames enter
        self.kernel_drops = {"a": 0, "b": 0}
        self.random = random.Random()
        self.stopping = False
        self.reload_wanted = False
        self.snapshot_wanted = False      # SIGUSR1: write the counters beside the parameters file, keep running

    def delay_s(self) -> float:
        params = self.params
        delay = params.latency_ms
        if params.jitter_ms:
            delay += self.random.uniform(-params.jitter_ms, params.jitter_ms)
        return max(delay, 0.0) / 1000.0

    def read(self, side: str, now: float) -> None:
        sock, way = self.ports[side], self.ways[side]
        loss = self.params.loss_percent / 100.0
        for _ in range(READ_BATCH):
            try:
                frame = sock.recv(MAX_FRAME)
            except BlockingIOError:
                return
            except OSError as exc:     # the interface went down (a cut line): reported once, then it reads again
                if exc.errno not in (errno.ENETDOWN, errno.ENXIO):
                    raise
                return
            way.received += 1
            if loss and self.random.random() < loss:
                way.dropped_loss += 1
                continue
            due = max(now + self.delay_s(), way.last_due)
            way.last_due = due
            way.queue.append((due, frame))

    def send_due(self, now: float) -> float | None:
        """Send every frame whose time has come; return the seconds until the next one (None: nothing waits)."""
        wait = None
        for side, way in self.ways.items():
            out = self.ports["b" if side == "a" else "a"]
            queue = way.queue
            while queue and queue[0][0] <= now:
                _due, frame = queue.popleft()
                try:
                    out.send(frame)
                    way.sent += 1
                except OSError as exc:        # a full transmit queue: the frame is lost, as on a real port
                    if exc.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN, errno.ENXIO):
                        raise
                    way.send_failed += 1
            if queue:
                left = queue[0][0] - now
                wait = left if wait is None else min(wait, left)
        return wait

    def run(self) -> None:
        """Forward until a signal stops it; signals wake `select` through a socket, so no sleep outlives them."""
        sockets = {sock.fileno(): side for side, sock in self.ports.items()}
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        wake_write.setblocking(False)
        signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
        readable_set = [*self.ports.values(), wake_read]
        while not self.stopping:
            if self.reload_wanted:
                self.reload_wanted = False
                try:
                    self.params = Params.read(self.params_path)
                except (OSError, ValueError) as exc:
                    print(f"delay line: could not read {self.params_path}: {exc}", file=sys.stderr, flush=True)
            if self.snapshot_wanted:
                self.snapshot_wanted = False
                temporary = self.params_path.with_suffix(".counters.tmp")
                temporary.write_text(json.dumps(self.counters()))
                temporary.replace(snapshot_path(self.params_path))
            wait = self.send_due(time.monotonic())
            try:
                readable, _, _ = select.select(readable_set, [], [], wait)
            except InterruptedError:
                continue
            now = time.monotonic()
            for sock in readable:
                if sock is wake_read:
                    while True:
                        try:
                            wake_read.recv(256)
                        except BlockingIOError:
                            break
                    continue
                self.read(sockets[sock.fileno()], now)

    def counters(self) -> dict:
        return {"params": self.params.__dict__,
                "directions": {way.name: way.counters() for way in self.ways.values()},
                "kernel_drops": sum(kernel_drops(sock) for sock in self.ports.values())}


def snapshot_path(params_path: Path) -> Path:
    """Where a running line writes its counters on SIGUSR1."""
    return params_path.with_suffix(".counters.json")


def die_with_parent() -> None:
    """A run killed with SIGKILL cannot stop its delay lines: the kernel sends them SIGTERM when it dies."""
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:      # it died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delay_line")
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--params", required=True, type=Path)
    args = parser.parse_args(argv)
    line = DelayLine(args.a, args.b, args.params)

    def stop(_signum, _frame) -> None:
        line.stopping = True

    def reload(_signum, _frame) -> None:
        line.reload_wanted = True

    def snapshot(_signum, _frame) -> None:
        line.snapshot_wanted = True

    try:
        os.nice(NICENESS)
    except PermissionError:
        pass      # not root: runs, at the priority of what competes with it
    signal.signal(signal.SIGTERM, stop)
    die_with_parent()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGUSR1, snapshot)
    print("ready", flush=True)
    line.run()
    print(json.dumps(line.counters()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
