"""BFD for a cloud router's BGP session (RFC 5880 asynchronous mode, RFC 5881 single hop), as plain values.

os-ken has no BFD for BGP, so the VBR's side is this: the control packet's
encoding, and one session's state machine (Down -> Init -> Up, a detection
timeout or the peer's Down back to Down) with its timers. The speaker
(controllers/bgp_speaker.py) owns the socket and the clock and calls in; when
the session leaves Up it drops the BGP neighbor, as a router does when BFD
tells BGP its peer is gone. No authentication, no echo, no demand mode: what
FRR's bfdd uses with a single-hop peer and no profile options beyond timers.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

VERSION = 1
PORT = 3784                           # RFC 5881: single-hop control packets (sent from 49152-65535, TTL 255)
ADMIN_DOWN, DOWN, INIT, UP = 0, 1, 2, 3
STATE_NAMES = {ADMIN_DOWN: "AdminDown", DOWN: "Down", INIT: "Init", UP: "Up"}
DIAG_NONE, DIAG_DETECTION_EXPIRED, DIAG_NEIGHBOR_DOWN = 0, 1, 3
POLL, FINAL = 0x20, 0x10
FORMAT = "!BBBBIIIII"
LENGTH = struct.calcsize(FORMAT)      # 24


@dataclass(frozen=True)
class Packet:
    state: int
    diag: int
    multiplier: int
    my_discriminator: int
    your_discriminator: int
    desired_min_tx_us: int
    required_min_rx_us: int
    poll: bool = False
    final: bool = False

    def encode(self) -> bytes:
        flags = (self.state << 6) | (POLL if self.poll else 0) | (FINAL if self.final else 0)
        return struct.pack(FORMAT, (VERSION << 5) | self.diag, flags, self.multiplier, LENGTH,
                           self.my_discriminator, self.your_discriminator, self.desired_min_tx_us,
                           self.required_min_rx_us, 0)

    @classmethod
    def decode(cls, data: bytes) -> Packet | None:
        """A valid control packet (RFC 5880 6.8.6's first checks), or None."""
        if len(data) < LENGTH:
            return None
        first, flags, multiplier, length, mine, yours, tx, rx, _echo = struct.unpack(FORMAT, data[:LENGTH])
        if first >> 5 != VERSION or length < LENGTH or multiplier == 0 or mine == 0:
            return None
        state = flags >> 6
        if yours == 0 and state not in (DOWN, ADMIN_DOWN):
            return None
        return cls(state, first & 0x1F, multiplier, mine, yours, tx, rx, bool(flags & POLL), bool(flags & FINAL))


class Session:
    """One BFD session's state and timers; times in seconds on the caller's monotonic clock."""

    def __init__(self, discriminator: int, min_tx_ms: int, min_rx_ms: int, multiplier: int, now: float) -> None:
        self.discriminator = discriminator
        self.min_tx_us = min_tx_ms * 1000
        self.min_rx_us = min_rx_ms * 1000
        self.multiplier = multiplier
        self.state = DOWN
        self.diag = DIAG_NONE
        self.remote_discriminator = 0
        self.remote_min_rx_us = 1
        self.remote_min_tx_us = 0
        self.remote_multiplier = 0
        self.detect_at: float | None = None
        self.next_tx = now
        self.final_due = False
        self.changes: list[tuple[float, str]] = []     # (when, new state) for the state file

    def _tx_interval_s(self) -> float:
        """The configured rate in every state (RFC 5880 would have 1 s while not Up and a Poll to speed up; FRR
        accepts either, and one rate keeps the peer's detection time true from the first packet)."""
        return max(self.min_tx_us, self.remote_min_rx_us) / 1e6

    def detection_s(self) -> float:
        """RFC 5880 6.8.4: the remote's multiplier times the agreed interval of its packets."""
        return self.remote_multiplier * max(self.min_rx_us, self.remote_min_tx_us) / 1e6

    def _set(self, state: int, diag: int, now: float) -> None:
        if state != self.state:
            self.state, self.diag = state, diag
            self.changes.append((now, STATE_NAMES[state]))

    def receive(self, packet: Packet, now: float) -> None:
        """RFC 5880 6.8.6, for a packet addressed to this session."""
        interval_before = self._tx_interval_s()
        self.remote_discriminator = packet.my_discriminator
        self.remote_min_rx_us = max(packet.required_min_rx_us, 1)
        if self._tx_interval_s() < interval_before:
            # The peer wants packets faster (FRR's bfdd asks for 1 s while Down, the agreed 300 ms once Up, and
            # applies its new detection time as soon as our Final answers its Poll): the next packet cannot wait
            # for the slow interval drawn before, or it comes after the peer's detection time and ends the
            # session (seen on a loaded machine: Up, then Down 0.9 s later, again and again).
            self.next_tx = min(self.next_tx, now + self._tx_interval_s() * random.uniform(0.75, 1.0))
        self.remote_min_tx_us = packet.desired_min_tx_us
        self.remote_multiplier = packet.multiplier
        if packet.poll:
            self.final_due = True
        if packet.state == ADMIN_DOWN:
            if self.state != DOWN:
                self._set(DOWN, DIAG_NEIGHBOR_DOWN, now)
        elif self.state == DOWN:
            if packet.state == DOWN:
                self._set(INIT, DIAG_NONE, now)
            elif packet.state == INIT:
                self._set(UP, DIAG_NONE, now)
        elif self.state == INIT:
            if packet.state in (INIT, UP):
                self._set(UP, DIAG_NONE, now)
        elif packet.state == DOWN:
            self._set(DOWN, DIAG_NEIGHBOR_DOWN, now)
        self.detect_at = now + self.detection_s() if self.state in (INIT, UP) else None

    def tick(self, now: float) -> Packet | None:
        """Expire the detection timer; the packet to send now, if one is due (a Final answers a Poll at once)."""
        if self.detect_at is not None and now >= self.detect_at:
            self._set(DOWN, DIAG_DETECTION_EXPIRED, now)
            self.detect_at = None
            self.remote_discriminator = 0
        if not self.final_due and now < self.next_tx:
            return None
        final, self.final_due = self.final_due, False
        if now >= self.next_tx:
            # RFC 5880 6.8.7: jitter the interval to 75-100% of itself
            self.next_tx = now + self._tx_interval_s() * random.uniform(0.75, 1.0)
        return Packet(self.state, self.diag, self.multiplier, self.discriminator, self.remote_discriminator,
                      self.min_tx_us, self.min_rx_us, final=final)

    def wait_s(self, now: float) -> float:
        """How long until the next thing to do."""
        due = [self.next_tx] + ([self.detect_at] if self.detect_at is not None else [])
        return max(0.0, min(due) - now)
