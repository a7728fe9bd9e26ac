"""The provider's leased-line performance test as plain values: which tests, what each may reach, how to judge.

Alibaba Cloud's method ("test the network performance of a leased line"):
iperf3 UDP with 1400-byte datagrams for bandwidth, UDP with 16-byte datagrams
for packets per second, TCP with one and several streams, both directions,
and the receiver's interface counters as the ground truth. Pure: the runtime
(checks/performance.py) measures, this module plans and judges, reports render.

Offered UDP loads are what the line can carry as payload: a shaper counts
whole frames (Ethernet 14 + IP 20 + UDP 8 bytes around the payload), so a
1400-byte test offers 97.1% of the rate and a 16-byte test 27.6% (the rest is
headers), and a line that works loses nothing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

UDP_OVERHEAD_BYTES = 14 + 20 + 8
TCP_GOODPUT_RATIO = 0.956            # 1448-byte segments in 1514-byte frames
UNSHAPED_RATE_MBPS = 1000            # offered where nothing on the path is shaped
HOST_LIMIT_RATIO = 0.95              # unshaped, the path carries less than this x the target: the host is the limit
SATURATED_IDLE_PERCENT = 10.0        # less idle CPU time than this during a test: the machine was saturated
# run's TCP check: a figure below its range is the machine's when the bare path lacks this margin over the rate.
# Measured in the VM lane (QEMU TCG, 2 vCPUs): the default scenario's TCP check read 57.3 Mbit/s of 100 while the
# same path unshaped carried 108.8 (40 % idle in all: most likely one saturated vCPU); two
# namespaces with HTB and netem alone carry 94 % of the rate in the same guest (bench/bench_netem_order.py).
HOST_HEADROOM = 2.0
PASS_RATIO = 0.70                    # as the throughput check: a shared, noisy machine loses some
BANDWIDTH_PAYLOAD = 1400
PPS_PAYLOAD = 16


@dataclass(frozen=True)
class PerfTest:
    protocol: str          # "tcp" or "udp"
    direction: str         # "forward" (from --from to --to) or "reverse"
    payload_bytes: int     # datagram payload (UDP) or write size (TCP: 128 KiB, iperf3's default)
    streams: int
    configured_mbps: int | None

    @property
    def name(self) -> str:
        kind = f"TCP x{self.streams}" if self.protocol == "tcp" else f"UDP {self.payload_bytes} B"
        return f"{kind} {self.direction}"

    @property
    def rate_mbps(self) -> float:
        return float(self.configured_mbps or UNSHAPED_RATE_MBPS)

    @property
    def offered_mbps(self) -> float | None:
        """UDP payload offered: what the rate carries once headers are counted. None for TCP (it finds its own)."""
        if self.protocol == "tcp":
            return None
        return self.rate_mbps * self.payload_bytes / (self.payload_bytes + UDP_OVERHEAD_BYTES)

    @property
    def target_mbps(self) -> float:
        """The payload rate a working line delivers for this test."""
        return self.offered_mbps if self.offered_mbps is not None else self.rate_mbps * TCP_GOODPUT_RATIO

    @property
    def target_pps(self) -> float:
        size = self.payload_bytes if self.protocol == "udp" else 1448
        return self.target_mbps * 1e6 / 8 / size


def method_tests(configured_mbps: int | None, streams: int) -> list[PerfTest]:
    """Each test of the method, forward then reverse."""
    tests = []
    for direction in ("forward", "reverse"):
        tests.append(PerfTest("tcp", direction, 128 * 1024, 1, configured_mbps))
        if streams > 1:
            tests.append(PerfTest("tcp", direction, 128 * 1024, streams, configured_mbps))
        tests.append(PerfTest("udp", direction, BANDWIDTH_PAYLOAD, 1, configured_mbps))
        tests.append(PerfTest("udp", direction, PPS_PAYLOAD, 1, configured_mbps))
    return tests


@dataclass(frozen=True)
class Counters:
    """The receiver's interface counters over the test: the method's ground truth."""

    rx_bytes: int
    rx_packets: int
    seconds: float

    @property
    def mbps(self) -> float:
        return self.rx_bytes * 8 / self.seconds / 1e6 if self.seconds else 0.0

    @property
    def pps(self) -> float:
        return self.rx_packets / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {"rx_bytes": self.rx_bytes, "rx_packets": self.rx_packets, "seconds": round(self.seconds, 3),
                "mbps": round(self.mbps, 2), "pps": round(self.pps)}


def rx_counters(net_dev: str, interface: str) -> tuple[int, int] | None:
    """Received bytes and packets of `interface` in a /proc/net/dev text; None if it is not listed."""
    for line in net_dev.splitlines():
        name, found, figures = line.partition(":")
        if found and name.strip() == interface:
            fields = figures.split()
            return int(fields[0]), int(fields[1])
    return None


ACTIVE_SHARE = 0.1     # a sample interval carrying less than this share of the mean: the transfer has ended


def counters_over_last(samples: list[tuple[float, int, int]], seconds: float) -> Counters:
    """The counters over the last `seconds` of the transfer, from (time, bytes, packets) samples: what iperf3's
    figure covers (its first second omitted, set-up and teardown not counted). The transfer ends at the last
    sample interval that still carried traffic (ACTIVE_SHARE of the mean); the start is interpolated."""
    if len(samples) < 2:
        return Counters(0, 0, seconds)
    steps = list(zip(samples, samples[1:], strict=False))
    mean = (samples[-1][1] - samples[0][1]) / len(steps)
    active = [i for i, (a, b) in enumerate(steps) if b[1] - a[1] > ACTIVE_SHARE * mean]
    end = samples[active[-1] + 1] if active else samples[-1]
    start_t = max(samples[0][0], end[0] - seconds)

    def at(t: float) -> tuple[float, float]:
        for (t0, b0, p0), (t1, b1, p1) in steps:
            if t0 <= t <= t1:
                share = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
                return b0 + share * (b1 - b0), p0 + share * (p1 - p0)
        return float(samples[0][1]), float(samples[0][2])

    start_bytes, start_packets = at(start_t)
    return Counters(round(end[1] - start_bytes), round(end[2] - start_packets), end[0] - start_t)


@dataclass(frozen=True)
class PerfResult:
    test: PerfTest
    measured_mbps: float | None          # iperf3's receiver figure (payload)
    pps: float | None                    # payload packets (UDP datagrams, TCP segments) per second received
    jitter_ms: float | None = None
    loss_percent: float | None = None
    retransmits: int | None = None
    receiver_counters: Counters | None = None
    unshaped_mbps: float | None = None   # the same test with every shaper on the path removed
    intervals_mbps: tuple[float, ...] = ()
    error: str | None = None

    @property
    def host_limited(self) -> bool:
        """Unshaped, the path itself carried less than the target: the machine, not the line, sets the figure."""
        return self.unshaped_mbps is not None and self.unshaped_mbps < HOST_LIMIT_RATIO * self.test.target_mbps

    @property
    def passed(self) -> bool:
        if self.error or self.measured_mbps is None:
            return False
        return self.host_limited or self.measured_mbps >= PASS_RATIO * self.test.target_mbps

    def verdict(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if self.host_limited:
            return (f"host-limited: unshaped, this machine carries {self.unshaped_mbps:.1f} Mbit/s of this test, "
                    f"below the {self.test.target_mbps:.1f} Mbit/s the line would deliver")
        return "pass" if self.passed else f"below {PASS_RATIO:.0%} of {self.test.target_mbps:.1f} Mbit/s"

    def to_json(self) -> dict:
        test = self.test
        return {"name": test.name, "protocol": test.protocol, "direction": test.direction,
                "payload_bytes": test.payload_bytes, "streams": test.streams,
                "configured_mbps": test.configured_mbps, "offered_mbps": _round(test.offered_mbps),
                "target_mbps": _round(test.target_mbps), "measured_mbps": _round(self.measured_mbps),
                "pps": _round(self.pps, 0), "jitter_ms": _round(self.jitter_ms, 3),
                "loss_percent": _round(self.loss_percent, 3), "retransmits": self.retransmits,
                "receiver_counters": self.receiver_counters.to_json() if self.receiver_counters else None,
                "unshaped_mbps": _round(self.unshaped_mbps), "host_limited": self.host_limited,
                "passed": self.passed, "verdict": self.verdict(),
                "intervals_mbps": [round(value, 2) for value in self.intervals_mbps], "error": self.error}


@dataclass(frozen=True)
class RttSeries:
    samples_ms: tuple[float, ...]
    sent: int

    def summary(self) -> dict:
        samples = self.samples_ms
        if not samples:
            return {"min": None, "avg": None, "max": None, "mdev": None, "sent": self.sent, "received": 0}
        return {"min": round(min(samples), 3), "avg": round(statistics.mean(samples), 3),
                "max": round(max(samples), 3), "mdev": round(statistics.pstdev(samples), 3),
                "sent": self.sent, "received": len(samples)}


@dataclass
class PerfReport:
    scenario: str
    src: str
    dst: str
    configured_mbps: int | None
    duration_s: int
    results: list[PerfResult] = field(default_factory=list)
    rtt: RttSeries | None = None
    environment: dict = field(default_factory=dict)
    path_links: list[dict] = field(default_factory=list)     # the links crossed: name, rate, delay, loss

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "from": self.src, "to": self.dst, "configured_mbps": self.configured_mbps,
                "duration_s": self.duration_s, "passed": self.passed, "environment": self.environment,
                "path_links": self.path_links, "tests": [result.to_json() for result in self.results],
                "rtt_ms": {**(self.rtt.summary() if self.rtt else {}),
                           "series": list(self.rtt.samples_ms) if self.rtt else []}}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def host_limit_reason(configured_mbps: float, unshaped_mbps: float | None, cpu_idle_percent: float | None,
                      headroom: float = HOST_LIMIT_RATIO) -> str | None:
    """Why a TCP figure short of the rate is the machine's, not the network's; None if nothing says so.

    Either the same test with every shaper removed carries less than `headroom` x the rate (shaping and delay
    cost CPU time of their own: a path without that margin cannot be judged), or the CPUs had almost no idle
    time while it ran (a CPU-bound process beside the run): a figure then says nothing about the shaping.
    """
    why = []
    if cpu_idle_percent is not None and cpu_idle_percent < SATURATED_IDLE_PERCENT:
        why.append(f"the CPUs were {100 - cpu_idle_percent:.0f}% busy during the test")
    if unshaped_mbps is not None and unshaped_mbps < headroom * configured_mbps:
        margin = "less than the" if headroom <= 1 else f"less than {headroom:g} x the"
        why.append(f"with every shaper removed this machine carries {unshaped_mbps:.1f} Mbit/s, {margin} "
                   f"{configured_mbps:g} Mbit/s configured")
    return "; ".join(why) + ": the machine, not the network, is the limit" if why else None
