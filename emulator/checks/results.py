"""A check's outcome as typed, plain data: what the terminal and JSON reports render.

Each kind of check has its own detail dataclass, so a report reads fields, not
dictionary keys, and a misspelt field is an error at once rather than an empty
cell. JSON keeps the flat shape of docs/report-format.md: kind, src, dst,
passed, the detail's fields, and the explanation of an unreachable pair.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any, ClassVar

from emulator.routing.reachability import Verdict


class CheckKind(str, Enum):
    PING = "ping"
    TRACEROUTE = "traceroute"
    THROUGHPUT = "throughput"
    PERFORMANCE = "performance"
    BGP = "bgp"
    FAILOVER = "failover"


@dataclass(frozen=True)
class Explanation:
    """Why a pair is unreachable: the reason code, the hop where it breaks, and the fix."""

    code: str
    hop: str
    message: str
    fix: str

    @classmethod
    def of(cls, verdict: Verdict | None) -> Explanation | None:
        return None if verdict is None else cls(verdict.code, verdict.hop, verdict.message, verdict.fix)


# How the ping checks' round trips are measured, said where they are shown (terminal, HTML).
RTT_NOTE = ("the average of {most} echoes per pair, sent once the reachability echoes had resolved every neighbour "
            "on the way (a first echo across a delayed line also waits for ARP); min, avg, max and mdev are in "
            "the JSON report")


@dataclass(frozen=True)
class PingDetail:
    KIND: ClassVar[CheckKind] = CheckKind.PING
    expected: bool
    reachable: bool
    replies: int
    sent: int
    retried: bool = False                 # no reply in the first pass: tried again before counting as lost
    stated_expectation: bool | None = None
    answered_by: str | None = None        # replies come from this other host with the same address
    rtt_ms: dict | None = None            # min, avg, max, mdev of the warm echoes' round trips (None: no reply)


@dataclass(frozen=True)
class TracerouteDetail:
    KIND: ClassVar[CheckKind] = CheckKind.TRACEROUTE
    hops: tuple[str | None, ...]
    expected_hops: tuple[str, ...]
    hop_nodes: tuple[str, ...]
    reached: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class ThroughputDetail:
    KIND: ClassVar[CheckKind] = CheckKind.THROUGHPUT
    protocol: str
    configured_mbps: int | None
    measured_mbps: float | None
    ratio: float | None
    duration_s: int
    accepted_range: tuple[float, float]
    error: str | None = None
    # When the shaped figure falls short, is the machine the limit (a small VM, an emulated CPU, a loaded host)?
    # Yes if the same test with every shaper removed carries less than perf_model.HOST_HEADROOM (2) x the
    # configured rate, or if the CPUs had almost no idle time while the test ran: then the check
    # is host-limited, says so, and does not fail the run.
    unshaped_mbps: float | None = None
    host_limited: bool = False
    cpu_idle_percent: float | None = None     # the whole machine's idle CPU time during the test


@dataclass(frozen=True)
class PerformanceDetail:
    """The leased-line performance test as a check: every test's figures, as `perf --json` writes them."""

    KIND: ClassVar[CheckKind] = CheckKind.PERFORMANCE
    configured_mbps: int | None
    duration_s: int
    tests: tuple[dict, ...]
    rtt_ms: dict
    error: str | None = None


@dataclass(frozen=True)
class BgpDetail:
    """One BGP session (src: the customer device, dst: the VBR or border gateway), from both ends, against the
    prediction.

    Prefix lists are as each side reports them: the customer device's FRR (`show bgp neighbors ... json`) and the
    cloud side's os-ken speaker (its adj-RIB-in). Times run from the moment the network's flows were ready.
    """

    KIND: ClassVar[CheckKind] = CheckKind.BGP
    peer: str                              # the VBR's BgpPeer ID, or the private virtual interface's
    session_state: dict                    # {"customer": FRR's state, "cloud": os-ken's}
    expected_state: str                    # Established, or "not established"
    received_prefixes: dict                # {"customer": [...], "cloud": [...]} as received
    advertised_prefixes: dict              # {"customer": [...], "cloud": [...]}
    installed_prefixes: tuple[str, ...]    # what the cloud router's table holds from this peer (VBR: at most 110)
    discarded_prefixes: int                # received beyond that limit (a border gateway: 300 dynamic routes)
    established_s: float | None
    converged_s: float | None
    reason: str = ""                       # why it is not established (expected or observed)
    last_notification: str = ""            # FRR's last reset reason, when the session went down or never came up
    error: str | None = None


@dataclass(frozen=True)
class FailoverDetail:
    """One event of the timeline, for one pair: what the probe measured against what the settings predict.

    Times in seconds; the outage runs from the first lost probe to the first answered one after it; paths are the
    leased lines whose customer ports carried the pair's traffic in the second before the event (path_before) and
    in the last second before the next event or the end (path_after), each way."""

    KIND: ClassVar[CheckKind] = CheckKind.FAILOVER
    event: str
    lost_packets: int | None
    sent_packets: int | None
    outage_s: float | None
    expected_outage_s: float | None
    accepted_s: tuple[float, float] | None
    prediction: str
    path_before: dict
    path_after: dict
    tcp_survived: bool | None              # None: no TCP transfer in this probe
    health_checks: tuple[str, ...]         # the verdicts that changed in this event's window
    directions: dict | None = None         # cloud_to_idc / idc_to_cloud: each one-way stream's outage_s,
                                           # expected_outage_s, accepted_s, prediction, passed
    plot: str | None = None
    error: str | None = None


Detail = PingDetail | TracerouteDetail | ThroughputDetail | PerformanceDetail | BgpDetail | FailoverDetail
OPTIONAL_FIELDS = ("error", "answered_by", "plot")      # left out of JSON when empty


@dataclass(frozen=True)
class CheckResult:
    src: str
    dst: str
    passed: bool
    detail: Detail
    explanation: Explanation | None = None

    @property
    def kind(self) -> CheckKind:
        return self.detail.KIND

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "src": self.src, "dst": self.dst, "passed": self.passed}
        for item in fields(self.detail):
            value = getattr(self.detail, item.name)
            if item.name in OPTIONAL_FIELDS and value is None:
                continue
            data[item.name] = list(value) if isinstance(value, tuple) else value
        if self.explanation is not None:
            data["explanation"] = asdict(self.explanation)
        return data
