"""The ping matrix: every ordered pair of hosts, real ICMP echo, compared with the expected matrix.

One fping process per source host pings all of its destinations at once (fping
is made for this: many targets, one raw socket, per-target counts), and at most
PARALLEL_SOURCES such processes run together, so a 64-VPC matrix (4,032 pairs)
takes seconds instead of a minute of one `ping` per pair. A pair without a reply
in the first pass is tried again, slower, before it counts as unreachable: a
reply lost on a busy machine must not become a false "unreachable".
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from emulator.checks.results import CheckResult, Explanation, PingDetail
from emulator.routing.reachability import PairResult
from emulator.runtime.commands import finish

PARALLEL_SOURCES = 8
PROCESS_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Pass:
    """One round of echo requests to each target: how many, how far apart, how long a reply may take."""

    count: int
    period_ms: int
    timeout_ms: int


FIRST_PASS = Pass(count=2, period_ms=100, timeout_ms=500)
RETRY_PASS = Pass(count=3, period_ms=300, timeout_ms=1000)


@dataclass(frozen=True)
class Echoes:
    """What one pair sent and got back over both passes."""

    sent: int
    received: int
    retried: bool = False
    rtt_ms: tuple[float, float, float] | None = None     # min, avg, max over the replies


_SUMMARY = re.compile(r"^(\S+)\s*:\s*xmt/rcv/%loss = (\d+)/(\d+)/", re.MULTILINE)
_RTT = re.compile(r"^(\S+)\s*:\s*xmt/rcv/%loss = \d+/(\d+)/.*min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+)",
                  re.MULTILINE)


def fping_argv(targets: Iterable[str], round_: Pass) -> list[str]:
    """fping in count mode, quiet (one summary line per target on stderr), 1 ms between any two packets."""
    return ["fping", "-4", "-q", "-c", str(round_.count), "-p", str(round_.period_ms), "-i", "1",
            "-t", str(round_.timeout_ms), *targets]


def parse_fping(output: str) -> dict[str, tuple[int, int]]:
    """fping's summary lines -> {target: (sent, received)}."""
    return {match.group(1): (int(match.group(2)), int(match.group(3))) for match in _SUMMARY.finditer(output)}


def parse_fping_rtt(output: str) -> dict[str, tuple[int, float, float, float]]:
    """fping's summary lines -> {target: (replies, min, avg, max)} for targets that answered."""
    return {match.group(1): (int(match.group(2)), float(match.group(3)), float(match.group(4)),
                             float(match.group(5))) for match in _RTT.finditer(output)}


def combine_rtt(*passes: tuple[int, float, float, float] | None) -> tuple[float, float, float] | None:
    """min, avg (weighted by replies) and max over the passes that got replies."""
    answered = [one for one in passes if one is not None and one[0]]
    if not answered:
        return None
    replies = sum(one[0] for one in answered)
    return (min(one[1] for one in answered), sum(one[0] * one[2] for one in answered) / replies,
            max(one[3] for one in answered))


Spawn = Callable[[str, list[str]], subprocess.Popen]


def _one_pass(targets: dict[str, list[str]], round_: Pass, spawn: Spawn,
              rtts: dict[tuple[str, str], tuple[int, float, float, float]]) -> dict[tuple[str, str], tuple[int, int]]:
    """fping from each source to its targets, PARALLEL_SOURCES processes at a time; round trips into `rtts`."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    queue = [(src, ips) for src, ips in targets.items() if ips]
    running: list[tuple[str, subprocess.Popen]] = []

    def collect(src: str, process: subprocess.Popen) -> None:
        out, err = finish(process, PROCESS_TIMEOUT_S)
        found = parse_fping((out or "") + (err or ""))
        times = parse_fping_rtt((out or "") + (err or ""))
        for ip in targets[src]:
            counts[(src, ip)] = found.get(ip, (round_.count, 0))
            if ip in times:
                rtts[(src, ip)] = times[ip]

    while queue or running:
        while queue and len(running) < PARALLEL_SOURCES:
            src, ips = queue.pop(0)
            running.append((src, spawn(src, fping_argv(ips, round_))))
        collect(*running.pop(0))
    return counts


def ping_matrix(pairs: list[tuple[str, str, str]], spawn: Spawn) -> dict[tuple[str, str], Echoes]:
    """Ping `dst_ip` from each `src` (a node name) for every (src, dst, dst_ip); return what each pair got back."""
    by_source: dict[str, list[str]] = {}
    for src, _dst, dst_ip in pairs:
        by_source.setdefault(src, []).append(dst_ip)
    first_rtt: dict[tuple[str, str], tuple[int, float, float, float]] = {}
    second_rtt: dict[tuple[str, str], tuple[int, float, float, float]] = {}
    first = _one_pass(by_source, FIRST_PASS, spawn, first_rtt)
    silent: dict[str, list[str]] = {}
    for (src, ip), (_sent, received) in first.items():
        if received == 0:
            silent.setdefault(src, []).append(ip)
    second = _one_pass(silent, RETRY_PASS, spawn, second_rtt) if silent else {}
    echoes = {}
    for src, dst, dst_ip in pairs:
        sent, received = first[(src, dst_ip)]
        rtt = combine_rtt(first_rtt.get((src, dst_ip)), second_rtt.get((src, dst_ip)))
        if (src, dst_ip) in second:
            more_sent, more_received = second[(src, dst_ip)]
            echoes[(src, dst)] = Echoes(sent + more_sent, received + more_received, retried=True, rtt_ms=rtt)
        else:
            echoes[(src, dst)] = Echoes(sent, received, rtt_ms=rtt)
    return echoes


def ping_result(echoes: Echoes, expected: PairResult, stated: bool | None) -> CheckResult:
    """Compare what came back with the expected matrix (and the scenario's own `expect:` entry, if any).

    Where the tables deliver the request to another host with the same address, that host's replies are
    expected and the pair still counts as unreachable (`answered_by`).
    """
    answered = echoes.received > 0
    reachable = answered and expected.answered_by is None
    passed = answered == (expected.reachable or expected.answered_by is not None) \
        and (stated is None or stated == reachable)
    detail = PingDetail(expected=expected.reachable, reachable=reachable, replies=echoes.received, sent=echoes.sent,
                        retried=echoes.retried, stated_expectation=stated, answered_by=expected.answered_by,
                        rtt_ms=None if echoes.rtt_ms is None else
                        {"min": echoes.rtt_ms[0], "avg": round(echoes.rtt_ms[1], 3), "max": echoes.rtt_ms[2]})
    explanation = None
    if not reachable:
        explanation = Explanation.of(expected.explanation) or Explanation(
            code="UNEXPECTED_LOSS", hop="",
            message="the forwarding tables say this pair is reachable, but no reply came back",
            fix="look at the controller log and the installed flows (ovs-ofctl dump-flows)")
    return CheckResult(expected.src, expected.dst, passed, detail, explanation)
