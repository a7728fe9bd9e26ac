"""Run inside a host's namespace: a UDP echo stream that measures delivery while faults happen.

`python -m emulator.checks.failover_probe server PORT SECONDS` echoes every datagram back for SECONDS.
`python -m emulator.checks.failover_probe client IP PORT INTERVAL_MS SECONDS` sends a numbered datagram every
INTERVAL_MS for SECONDS and prints JSON: when it started (wall clock), each probe's send time (seconds after the
start) and its round-trip time in ms (null: no echo came back). A probe lost either way counts, so both
directions of the pair's path are measured at once.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import sys
import time

FORMAT = "!Id"           # sequence number, send time (monotonic)
LATE_S = 1.0             # how long the client waits for the last echoes


def serve(port: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if ready:
            data, peer = sock.recvfrom(2048)
            sock.sendto(data, peer)


def probe(ip: str, port: int, interval_ms: float, seconds: float) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((ip, port))
    interval = interval_ms / 1000
    count = int(seconds / interval)
    started_wall, started = time.time(), time.monotonic()
    sent_at: list[float] = []
    rtt_ms: list[float | None] = [None] * count
    next_send = started
    while len(sent_at) < count or time.monotonic() < started + count * interval + LATE_S:
        now = time.monotonic()
        if len(sent_at) < count and now >= next_send:
            try:
                sock.send(struct.pack(FORMAT, len(sent_at), now))
            except OSError:       # no route or unreachable for now (an ICMP error): the probe is lost
                pass
            sent_at.append(now - started)
            next_send += interval
            continue
        wait = max(0.0, (next_send if len(sent_at) < count else started + count * interval + LATE_S)
                   - time.monotonic())
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            continue
        try:
            data = sock.recv(2048)
        except OSError:
            continue
        seq, sent = struct.unpack(FORMAT, data[:struct.calcsize(FORMAT)])
        if seq < count:
            rtt_ms[seq] = round((time.monotonic() - sent) * 1000, 3)
    return {"started": started_wall, "interval_ms": interval_ms, "sent_at": [round(t, 4) for t in sent_at],
            "rtt_ms": rtt_ms}


def main(argv: list[str]) -> int:
    if argv[0] == "server":
        serve(int(argv[1]), float(argv[2]))
        return 0
    json.dump(probe(argv[1], int(argv[2]), float(argv[3]), float(argv[4])), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
