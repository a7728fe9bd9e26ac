"""Run the provider's leased-line performance test on a live network (the plan and judging: perf_model.py).

Every test runs twice in one session: with the scenario's shaping, then with
every shaper removed (delay and loss stay), so that a figure the machine
cannot reach is marked host-limited instead of being reported as the line's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from emulator.checks.results import CheckResult, PerformanceDetail
from emulator.checks.throughput import run_iperf
from emulator.errors import ScenarioError
from emulator.perf_model import (Counters, PerfReport, PerfResult, PerfTest, RttSeries, counters_over_last,
                                 method_tests, rx_counters)
from emulator.routing.reachability import PairResult, bottleneck_mbps
from emulator.session import Prepared

SAMPLE_S = 0.1         # the receiver's counters, this often during a test
RTT_ECHOES = 50
RTT_INTERVAL_S = "0.02"

Progress = Callable[[str], None]


class RxSampler:
    """The receiver's interface counters every SAMPLE_S while a test runs, so that they are counted over the
    same seconds as iperf3's figure beside them (not the whole run: the omitted first second, the set-up and
    the teardown; divided by the nominal duration those read 130-151 Mbit/s on a 100 Mbit/s line). Read from
    /proc/PID/net/dev of a process in the node's namespace: a file read per sample, no process."""

    def __init__(self, pid: int, interface: str) -> None:
        self.path, self.interface = f"/proc/{pid}/net/dev", interface
        self.samples: list[tuple[float, int, int]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True, name="rx-sampler")

    def _read(self) -> tuple[int, int] | None:
        try:
            with open(self.path) as stream:
                return rx_counters(stream.read(), self.interface)
        except OSError:
            return None

    def _sample(self) -> None:
        while True:
            reading = self._read()
            if reading is not None:
                self.samples.append((time.monotonic(), *reading))
            if self.stopping.wait(SAMPLE_S):
                return

    def __enter__(self) -> "RxSampler":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def counters(self, seconds: float) -> Counters:
        return counters_over_last(self.samples, seconds)


def _one(pair: PairResult, test: PerfTest, duration: int, spawn) -> dict:
    """One iperf3 test; the client always runs on --from (reverse: the server sends, as iperf3 -R)."""
    options = {"streams": test.streams, "reverse": test.direction == "reverse"}
    if test.protocol == "udp":
        options.update(udp=True, bandwidth_bps=int(test.offered_mbps * 1e6), length=test.payload_bytes)
    return run_iperf(pair, duration, spawn, **options)


def require_reachable(prepared: Prepared, src: str, dst: str) -> PairResult:
    """Known before anything is built: a pair the route tables do not join has nothing to measure."""
    pair = prepared.expected[(src, dst)]
    if not pair.reachable:
        why = pair.explanation
        raise ScenarioError(f"{src} does not reach {dst}, so there is nothing to measure"
                            + (f": {why.code} at {why.hop}: {why.message}" if why else ""),
                            fix=why.fix if why else f"explain it: python -m emulator explain SCENARIO {src} {dst}")
    return pair


def run_performance(prepared: Prepared, network, processes, src: str, dst: str, duration: int, streams: int,
                    progress: Progress = lambda _line: None, environment: dict | None = None) -> PerfReport:
    """Every test of the method on the live `network` (runtime.network.EmulatedNetwork); `processes` spawns and
    reaps the iperf3 processes (runner.Processes)."""
    pair = require_reachable(prepared, src, dst)
    plan = prepared.plan
    node_name = {node.id: node.name for node in plan.nodes}

    def spawn(node_id: str, argv: list[str]):
        return processes.spawn(node_name[node_id], argv)

    interface = {node_id: plan.node(node_id).interfaces[0].name for node_id in (src, dst)}
    configured = bottleneck_mbps(pair.forward)
    report = PerfReport(prepared.scenario.name, src, dst, configured, duration,
                        environment=environment or {},
                        path_links=[{"link": link.cloud_id, "kind": link.kind.value, "bandwidth_mbps": link.bandwidth_mbps,
                                     **link.impairment.to_json()} for link in pair.forward.links if link.cloud_id])
    tests = method_tests(configured, streams)
    measured = []
    for index, test in enumerate(tests, start=1):
        progress(f"[{index}/{len(tests)}] {test.name}, {duration} s")
        receiver = dst if test.direction == "forward" else src
        with RxSampler(network.node_pid(node_name[receiver]), interface[receiver]) as sampler:
            raw = _one(pair, test, duration, spawn)
        measured.append((test, raw, sampler.counters(float(duration))))
    shaped = [link for link in plan.links if link.bandwidth_mbps]
    unshaped: list[dict] = []
    progress(f"the same {len(tests)} tests with every shaper removed (how much this machine carries)")
    for link in shaped:
        network.shape_link(link, None)
    try:
        unshaped = [_one(pair, test, duration, spawn) for test in tests]
    finally:
        for link in shaped:
            network.shape_link(link, link.bandwidth_mbps)
    for (test, raw, counters), base in zip(measured, unshaped, strict=True):
        report.results.append(_result(test, raw, counters, base, duration))
    progress(f"ping RTT series: {RTT_ECHOES} echoes at {RTT_INTERVAL_S} s")
    report.rtt = _rtt_series(network, node_name[src], str(pair.forward.dst))
    return report


def _result(test: PerfTest, raw: dict, counters: Counters, base: dict, duration: int) -> PerfResult:
    error = raw.get("error")
    received = raw.get("received_mbps")
    if test.protocol == "udp" and not error:
        pps = (raw.get("packets", 0) - raw.get("lost_packets", 0)) / duration
    else:
        pps = received * 1e6 / 8 / 1448 if received is not None else None
    return PerfResult(test, received, pps, jitter_ms=raw.get("jitter_ms"), loss_percent=raw.get("lost_percent"),
                      retransmits=raw.get("retransmits"), receiver_counters=counters,
                      unshaped_mbps=base.get("received_mbps"), intervals_mbps=tuple(raw.get("intervals_mbps", ())),
                      error=error)


def _rtt_series(network, node_name: str, address: str) -> RttSeries:
    out = network.run_in(node_name, ["ping", "-n", "-c", str(RTT_ECHOES), "-i", RTT_INTERVAL_S, "-W", "1",
                                          address], check=False, timeout=RTT_ECHOES * 2 + 10).stdout
    return RttSeries(tuple(float(value) for value in re.findall(r"time=([0-9.]+) ms", out)), RTT_ECHOES)


def as_check(report: PerfReport) -> CheckResult:
    """The performance test as one of `run`'s checks: it passes when every test that is not host-limited does."""
    data = report.to_json()
    tests = tuple({key: value for key, value in test.items() if key != "intervals_mbps"} for test in data["tests"])
    detail = PerformanceDetail(configured_mbps=report.configured_mbps, duration_s=report.duration_s, tests=tests,
                               rtt_ms={key: value for key, value in data["rtt_ms"].items() if key != "series"})
    return CheckResult(report.src, report.dst, report.passed, detail)
