"""The ping matrix: every ordered pair of hosts, real ICMP echo, compared with the expected matrix.

One fping process per source host pings all of its destinations at once (fping
is made for this: many targets, one raw socket, per-target counts), and at most
PARALLEL_SOURCES such processes run together, so a 64-VPC matrix (4,032 pairs)
takes seconds instead of a minute of one `ping` per pair. A pair without a reply
in the first pass is tried again, slower, before it counts as unreachable: a
reply lost on a busy machine must not become a false "unreachable".

Round trips come from a pass of their own, after those: the reachability
echoes have resolved every neighbour on the way (the first echo across a line
with 20 ms one way waits 40 ms more for ARP), so the figures are what the wire
gives, as in a cloud whose neighbour entries are warm.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from emulator.checks.results import CheckResult, Explanation, PingDetail
from emulator.perf_model import RttSeries
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
RTT_MOST_ECHOES = 10          # per pair: enough for a min, an average and a spread that mean something
RTT_LEAST_ECHOES = 3
RTT_BUDGET = 20_000           # echoes in the whole round-trip pass: a 64-VPC matrix (4,032 pairs) gets 4 each
RTT_PERIOD_MS = 50
# Only pairs that answered within RETRY_PASS's timeout come here; waiting longer for an echo lost on a lossy line
# would hold each fping process (8 at a time) that much longer.
RTT_TIMEOUT_MS = RETRY_PASS.timeout_ms


def rtt_pass(pairs: int) -> Pass:
    """The round-trip pass for `pairs` answered pairs: fewer echoes each in a large matrix, never below 3."""
    count = max(RTT_LEAST_ECHOES, min(RTT_MOST_ECHOES, RTT_BUDGET // max(1, pairs)))
    return Pass(count=count, period_ms=RTT_PERIOD_MS, timeout_ms=RTT_TIMEOUT_MS)


@dataclass(frozen=True)
class Echoes:
    """What one pair sent and got back over both passes."""

    sent: int
    received: int
    retried: bool = False
    rtt: RttSeries | None = None      # the round-trip pass, neighbours warm (None: no reply, or not in a huge matrix's sample)


_SUMMARY = re.compile(r"^(\S+)\s*:\s*xmt/rcv/%loss = (\d+)/(\d+)/", re.MULTILINE)


_PER_ECHO = re.compile(r"^(\S+)\s*:((?:\s+(?:[0-9.]+|-))+)\s*$", re.MULTILINE)


def fping_argv(targets: Iterable[str], round_: Pass, per_echo: bool = False) -> list[str]:
    """fping in count mode, quiet (one summary line per target on stderr), 1 ms between any two packets;
    `per_echo`: -C, each echo's round trip on that line ("-" for one lost)."""
    return ["fping", "-4", "-q", "-C" if per_echo else "-c", str(round_.count), "-p", str(round_.period_ms),
            "-i", "1", "-t", str(round_.timeout_ms), *targets]


def parse_fping_per_echo(output: str, sent: int) -> dict[str, RttSeries]:
    """fping -C's lines ("10.0.0.1 : 0.04 - 0.05") -> {target: the round trips of the echoes answered}."""
    return {match.group(1): RttSeries(tuple(float(word) for word in match.group(2).split() if word != "-"), sent)
            for match in _PER_ECHO.finditer(output)}


def parse_fping(output: str) -> dict[str, tuple[int, int]]:
    """fping's summary lines -> {target: (sent, received)}."""
    return {match.group(1): (int(match.group(2)), int(match.group(3))) for match in _SUMMARY.finditer(output)}


Spawn = Callable[[str, list[str]], subprocess.Popen]


def _fan_out(targets: dict[str, list[str]], argv: Callable[[list[str]], list[str]],
             spawn: Spawn) -> dict[str, str]:
    """fping from each source to its targets, PARALLEL_SOURCES processes at a time -> {source: its output}."""
    outputs: dict[str, str] = {}
    queue = [(src, ips) for src, ips in targets.items() if ips]
    running: list[tuple[str, subprocess.Popen]] = []
    while queue or running:
        while queue and len(running) < PARALLEL_SOURCES:
            src, ips = queue.pop(0)
            running.append((src, spawn(src, argv(ips))))
        src, process = running.pop(0)
        out, err = finish(process, PROCESS_TIMEOUT_S)
        outputs[src] = (out or "") + (err or "")
    return outputs


def _one_pass(targets: dict[str, list[str]], round_: Pass, spawn: Spawn) -> dict[tuple[str, str], tuple[int, int]]:
    """One reachability pass -> {(source, target): (sent, received)}."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for src, output in _fan_out(targets, lambda ips: fping_argv(ips, round_), spawn).items():
        found = parse_fping(output)
        for ip in targets[src]:
            counts[(src, ip)] = found.get(ip, (round_.count, 0))
    return counts


def rtt_sample(targets: dict[str, list[str]]) -> dict[str, list[str]]:
    """The pairs the round-trip pass measures: all of them while RTT_LEAST_ECHOES each fit RTT_BUDGET; beyond
    that (more than 6,666 answering pairs, about 82 VPCs) an even spread of each source's targets, so that a
    250-VPC matrix does not spend 47 s more on round trips (measured: its checks took 70 s instead of 23)."""
    pairs = sum(len(ips) for ips in targets.values())
    if pairs * RTT_LEAST_ECHOES <= RTT_BUDGET:
        return targets
    each = max(1, RTT_BUDGET // (RTT_LEAST_ECHOES * len(targets)))
    return {src: ips[::-(-len(ips) // each)] for src, ips in targets.items()}


def _round_trips(targets: dict[str, list[str]], spawn: Spawn) -> dict[tuple[str, str], RttSeries]:
    """The round-trip pass over the pairs that answered -> {(source, target): its echoes' round trips}."""
    targets = rtt_sample(targets)
    round_ = rtt_pass(sum(len(ips) for ips in targets.values()))
    series: dict[tuple[str, str], RttSeries] = {}
    for src, output in _fan_out(targets, lambda ips: fping_argv(ips, round_, per_echo=True), spawn).items():
        found = parse_fping_per_echo(output, round_.count)
        for ip in targets[src]:
            series[(src, ip)] = found.get(ip, RttSeries((), round_.count))
    return series


def ping_matrix(pairs: list[tuple[str, str, str]], spawn: Spawn) -> dict[tuple[str, str], Echoes]:
    """Ping `dst_ip` from each `src` (a node name) for every (src, dst, dst_ip); return what each pair got back.

    Reachability first (a pair silent in the first pass is retried), then the round trips of the pairs that
    answered, measured once every neighbour on their paths is resolved.
    """
    by_source: dict[str, list[str]] = {}
    for src, _dst, dst_ip in pairs:
        by_source.setdefault(src, []).append(dst_ip)
    first = _one_pass(by_source, FIRST_PASS, spawn)
    silent: dict[str, list[str]] = {}
    for (src, ip), (_sent, received) in first.items():
        if received == 0:
            silent.setdefault(src, []).append(ip)
    second = _one_pass(silent, RETRY_PASS, spawn) if silent else {}
    answered: dict[str, list[str]] = {}
    for key in first:
        if first[key][1] or second.get(key, (0, 0))[1]:
            answered.setdefault(key[0], []).append(key[1])
    round_trips = _round_trips(answered, spawn) if answered else {}
    echoes = {}
    for src, dst, dst_ip in pairs:
        sent, received = first[(src, dst_ip)]
        more_sent, more_received = second.get((src, dst_ip), (0, 0))
        echoes[(src, dst)] = Echoes(sent + more_sent, received + more_received, retried=(src, dst_ip) in second,
                                    rtt=round_trips.get((src, dst_ip)))
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
                        rtt_ms=None if echoes.rtt is None or not echoes.rtt.samples_ms else echoes.rtt.summary())
    explanation = None
    if not reachable:
        explanation = Explanation.of(expected.explanation) or Explanation(
            code="UNEXPECTED_LOSS", hop="",
            message="the forwarding tables say this pair is reachable, but no reply came back",
            fix="look at the controller log and the installed flows (ovs-ofctl dump-flows)")
    return CheckResult(expected.src, expected.dst, passed, detail, explanation)
