"""The provider's health check of one leased line: a process in its prober node (python -m ... CONFIG STATE).

Every `rate_ms` it sends one ICMP echo request from the check's source to its
target (the customer side of the VBR's line), as a raw Ethernet frame to the
VBR's port (no ARP: the VBR routes it like any packet); a reply that arrives
before the next probe answers it. `threshold` unanswered probes in a row make
the line faulty, and `threshold` answered in a row make it healthy again
(Alibaba documents the first rule; the second is the emulator's, symmetric).
A reply that comes back over the other line never reaches this node, so it
counts as lost, as Alibaba says it does. After every probe the state file is
rewritten (atomically): counters, the verdict and when it last changed, in
wall-clock seconds so that a failover probe can line the two up.

Frames are built and parsed here by hand (struct): 60 lines, no dependency.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

from emulator.atomic_file import write_json_atomically

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
PAYLOAD = b"emulator health check".ljust(48, b".")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(src_mac: str, dst_mac: str, source: IPv4Address, target: IPv4Address, ident: int,
                 seq: int) -> bytes:
    """An Ethernet frame carrying an ICMP echo request."""
    icmp = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, seq) + PAYLOAD
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq & 0xFFFF, 0x4000, 64, 1, 0,
                         source.packed, target.packed)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) \
        + struct.pack("!H", ETH_P_IP) + header + icmp


def echo_reply(frame: bytes, source: IPv4Address, target: IPv4Address, ident: int) -> int | None:
    """The sequence number `frame` answers, if it is an echo reply from `target` to `source` for `ident`."""
    if len(frame) < 14 + 20 + 8 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    length = (ip[0] & 0x0F) * 4
    if ip[9] != 1 or ip[12:16] != target.packed or ip[16:20] != source.packed:
        return None
    kind, _code, _sum, reply_ident, seq = struct.unpack("!BBHHH", ip[length:length + 8])
    return seq if kind == ICMP_ECHO_REPLY and reply_ident == ident else None


class Verdict:
    """Counts in a row and the verdict they give: pure, so that the rule is tested without a network."""

    def __init__(self, threshold: int, healthy: bool = True) -> None:
        self.threshold = threshold
        self.healthy = healthy      # False: a prober restarted while its line was faulty (runtime/supervision.py)
        self.lost_in_row = 0
        self.answered_in_row = 0
        self.sent = 0
        self.answered = 0

    def probe(self, answered: bool) -> bool:
        """Count one probe's outcome; True if the verdict changed."""
        self.sent += 1
        if answered:
            self.answered += 1
            self.answered_in_row += 1
            self.lost_in_row = 0
        else:
            self.lost_in_row += 1
            self.answered_in_row = 0
        if self.healthy and self.lost_in_row >= self.threshold:
            self.healthy = False
            return True
        if not self.healthy and self.answered_in_row >= self.threshold:
            self.healthy = True
            return True
        return False


def run(config: dict, state_path: Path) -> None:
    source, target = IPv4Address(config["source"]), IPv4Address(config["target"])
    interval = config["rate_ms"] / 1000
    ident = os.getpid() & 0xFFFF
    verdict = Verdict(config["threshold"], config.get("healthy", True))
    changed_at = time.time()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((config["interface"], 0))
    seq = 0
    next_send = time.monotonic()
    while True:
        seq = (seq + 1) & 0xFFFF
        sock.send(echo_request(config["src_mac"], config["dst_mac"], source, target, ident, seq))
        next_send += interval
        answered = False
        while (left := next_send - time.monotonic()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            frame, address = sock.recvfrom(2048)
            if address[2] != PACKET_OUTGOING and echo_reply(frame, source, target, ident) == seq:
                answered = True
        if verdict.probe(answered):
            changed_at = time.time()
        write_json_atomically(state_path, {"sent": verdict.sent, "answered": verdict.answered,
                                 "lost_in_row": verdict.lost_in_row, "answered_in_row": verdict.answered_in_row,
                                 "healthy": verdict.healthy, "changed_at": changed_at, "at": time.time()})


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run(json.loads(Path(argv[0]).read_text()), Path(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
