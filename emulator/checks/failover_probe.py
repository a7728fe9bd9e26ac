"""Run inside a host's namespace: a UDP echo stream that measures delivery while faults happen.

`python -m emulator.checks.failover_probe server PORT SECONDS [INTERVAL_MS]` echoes every datagram back for
SECONDS and, given INTERVAL_MS, sends a numbered stream of its own to the first client; then prints JSON: the
client's sequence numbers that arrived, and its own stream's send times (each direction measured on its own).
`python -m emulator.checks.failover_probe client IP PORT INTERVAL_MS SECONDS [SOURCE_PORT]` sends a numbered
datagram every INTERVAL_MS for SECONDS (from SOURCE_PORT: a fixed 5-tuple, so an ECMP route's hash puts it on the
same line every run) and prints JSON: when it started (wall clock), each probe's send time (seconds after the
start), its round-trip time in ms (null: no echo came back), and the server stream's sequence numbers that
arrived.
`python -m emulator.checks.failover_probe live IP PORT INTERVAL_MS` does the same until SIGTERM, printing a JSON
line every second (probes sent and answered that second, their mean round trip) and one when an outage ends
(its start, duration and lost probes): the lab's live probe.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import struct
import sys
import time

FORMAT = "!BId"          # kind, sequence number, send time (monotonic)
ECHO, STREAM = 0, 1      # the client's datagram (echoed back as it is), the server's own one-way stream
LATE_S = 1.0             # how long the client waits for the last echoes


def _pack(kind: int, seq: int, now: float) -> bytes:
    return struct.pack(FORMAT, kind, seq, now)


def _unpack(data: bytes) -> tuple[int, int, float] | None:
    return struct.unpack(FORMAT, data[:struct.calcsize(FORMAT)]) if len(data) >= struct.calcsize(FORMAT) else None


def serve(port: int, seconds: float, interval_ms: float = 0) -> dict:
    """Echo for `seconds`, and (interval_ms > 0) send a numbered stream of our own back to the first client, so
    that each direction is measured on its own: the client's datagrams that arrived, and the stream's send times."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    deadline = time.monotonic() + seconds
    arrived: list[int] = []
    peer = None
    started_wall = started = next_send = 0.0
    sent_at: list[float] = []
    while (now := time.monotonic()) < deadline:
        if peer is not None and interval_ms and now >= next_send:
            try:
                sock.sendto(_pack(STREAM, len(sent_at), now), peer)
            except OSError:
                pass
            sent_at.append(round(now - started, 4))
            next_send += interval_ms / 1000
            continue
        wait = deadline - now if peer is None or not interval_ms else min(deadline, next_send) - now
        ready, _, _ = select.select([sock], [], [], max(0.0, wait))
        if not ready:
            continue
        data, source = sock.recvfrom(2048)
        sock.sendto(data, source)
        fields = _unpack(data)
        if fields is not None and fields[0] == ECHO:
            arrived.append(fields[1])
            if peer is None:
                peer, started_wall, started = source, time.time(), time.monotonic()
                next_send = started
    return {"arrived": arrived, "stream_started": started_wall, "stream_sent_at": sent_at}


def probe(ip: str, port: int, interval_ms: float, seconds: float, source_port: int = 0) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", source_port))
    sock.connect((ip, port))
    interval = interval_ms / 1000
    count = int(seconds / interval)
    started_wall, started = time.time(), time.monotonic()
    sent_at: list[float] = []
    rtt_ms: list[float | None] = [None] * count
    stream: list[int] = []
    next_send = started
    while len(sent_at) < count or time.monotonic() < started + count * interval + LATE_S:
        now = time.monotonic()
        if len(sent_at) < count and now >= next_send:
            try:
                sock.send(_pack(ECHO, len(sent_at), now))
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
            fields = _unpack(sock.recv(2048))
        except OSError:
            continue
        if fields is None:
            continue
        kind, seq, sent = fields
        if kind == STREAM:
            stream.append(seq)
        elif seq < count:
            rtt_ms[seq] = round((time.monotonic() - sent) * 1000, 3)
    return {"started": started_wall, "interval_ms": interval_ms, "sent_at": [round(t, 4) for t in sent_at],
            "rtt_ms": rtt_ms, "stream_arrived": stream}


class _Stop:
    """SIGTERM asks the live probe to finish: say the outage it is in, or one whose end it has not walked to yet."""

    requested = False


def live(ip: str, port: int, interval_ms: float) -> None:
    """Probe until SIGTERM; one JSON line per second and per ended outage on stdout (flushed). Stopped, it says
    the outage still going on (`ongoing`), or one that had ended but was not yet LATE_S old: `probe stop` right
    after a recovery read "outages: none" with 1,767 probes unanswered."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((ip, port))
    interval = interval_ms / 1000
    started = time.monotonic()
    answered: set[int] = set()
    sent = 0
    second_sent, second_rtts = 0, []
    next_send, next_report = started, started + 1
    outage_start, outage_lost, checked = None, 0, 0
    while True:
        now = time.monotonic()
        if _Stop.requested:
            # Walk on as far as can be judged: an answered probe ends an outage; an unanswered one is lost when it
            # is older than LATE_S or a later one came back; a younger one before any answer is not judged yet.
            last_answered = max(answered, default=-1)
            while checked < sent:
                if checked in answered:
                    if outage_start is not None:
                        _say({"outage": {"start_s": round(outage_start, 3), "lost": outage_lost,
                                         "duration_s": round(checked * interval - outage_start, 3)}})
                        outage_start = None
                elif started + checked * interval + LATE_S < now or checked < last_answered:
                    if outage_start is None:
                        outage_start, outage_lost = checked * interval, 0
                    outage_lost += 1
                else:
                    break
                checked += 1
            if outage_start is not None:
                _say({"outage": {"start_s": round(outage_start, 3), "lost": outage_lost, "ongoing": True,
                                 "duration_s": round(checked * interval - outage_start, 3)}})
            return
        if now >= next_send:
            try:
                sock.send(_pack(ECHO, sent, now))
            except OSError:
                pass
            sent += 1
            second_sent += 1
            next_send += interval
        # A probe unanswered after LATE_S is lost; walk the ones old enough, in order.
        while checked < sent and started + checked * interval + LATE_S < now:
            if checked in answered:
                answered.discard(checked)
                if outage_start is not None:
                    _say({"outage": {"start_s": round(outage_start, 3),
                                     "duration_s": round(checked * interval - outage_start, 3), "lost": outage_lost}})
                    outage_start = None
            else:
                if outage_start is None:
                    outage_start, outage_lost = checked * interval, 0
                outage_lost += 1
            checked += 1
        if now >= next_report:
            _say({"t": round(now - started), "sent": second_sent, "answered": len(second_rtts),
                  "rtt_ms": round(sum(second_rtts) / len(second_rtts), 2) if second_rtts else None})
            second_sent, second_rtts = 0, []
            next_report += 1
        ready, _, _ = select.select([sock], [], [], max(0.0, min(next_send, next_report) - time.monotonic()))
        if ready:
            try:
                data = sock.recv(2048)
            except OSError:
                continue
            fields = _unpack(data)
            if fields is None or fields[0] != ECHO:
                continue
            _kind, seq, sent_at = fields
            if seq >= checked:
                answered.add(seq)
                second_rtts.append((time.monotonic() - sent_at) * 1000)


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def main(argv: list[str]) -> int:
    if argv[0] == "server":
        json.dump(serve(int(argv[1]), float(argv[2]), float(argv[3]) if len(argv) > 3 else 0), sys.stdout)
        return 0
    if argv[0] == "live":
        signal.signal(signal.SIGTERM, lambda *_: setattr(_Stop, "requested", True))
        live(argv[1], int(argv[2]), float(argv[3]))
        return 0
    json.dump(probe(argv[1], int(argv[2]), float(argv[3]), float(argv[4]), int(argv[5]) if len(argv) > 5 else 0),
              sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
