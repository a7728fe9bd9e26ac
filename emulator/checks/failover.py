"""Faults on a timeline, measured: a UDP echo stream (and a TCP transfer) per pair while the events happen.

The pure half (outages, lines_carrying, expected_outage, accepted_range) turns the
probe's record and the lines' counters into each event's figures; run_timeline
spawns the probes, applies the events at their times through the same
operations as the lab, reads the access points' port counters in the second
before each event and at the end, and returns one `failover` check per event
and pair. What the provider's settings predict comes from the routing model:
the pair reachable right after the event (expected outage: the flows' update,
0), reachable once the health checks on the cut line declare it faulty (their
detection time, rate x threshold), or not until the line is back.
"""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.checks.results import CheckResult, FailoverDetail
from emulator.checks.throughput import run_iperf
from emulator.cloud.control_plane import ControlPlane
from emulator.plan import Plan
from emulator.routing.model import NodeKind
from emulator.routing.reachability import evaluate, trace
from emulator.routing.topology import build_network
from emulator.errors import EmulatorError
from emulator.runtime.commands import finish, python_module
from emulator.schema import Event, Failover

PROBE_PORT = 7100
TCP_PORT = 5301
SWITCH_TOLERANCE_S = 1.0    # the flows' update and the probe's own scheduling on a loaded 2-core machine
EARLY_TOLERANCE_S = 0.5
MIN_PROBES = 5              # a line carried the probe in a second: at least this many of its datagrams


@dataclass(frozen=True)
class Outage:
    start_s: float           # the first lost probe's send time (seconds after the probe started)
    end_s: float             # the first answered probe's after it (or the last probe's, if none came back)
    lost: int


def outages(sent_at: list[float], rtt_ms: list[float | None]) -> list[Outage]:
    """Runs of lost probes: from the first lost to the next answered one."""
    found, start, lost = [], None, 0
    for sent, rtt in zip(sent_at, rtt_ms, strict=False):
        if rtt is None:
            if start is None:
                start, lost = sent, 0
            lost += 1
        elif start is not None:
            found.append(Outage(start, sent, lost))
            start = None
    if start is not None:
        found.append(Outage(start, sent_at[-1], lost))
    return found


def lines_carrying(seen: dict[str, list[tuple[float, bool]]], start: float, end: float,
                   src_in_idc: bool) -> dict[str, list[str]]:
    """Which lines carried the probe's datagrams between two wall-clock times, each way. `seen` lists, per line,
    each datagram's time and whether it was a request (from the pair's source) or an echo."""
    into, out = set(), set()
    for line, packets in seen.items():
        requests = sum(1 for t, request in packets if start <= t < end and request)
        echoes = sum(1 for t, request in packets if start <= t < end and not request)
        for count, towards_idc in ((requests, not src_in_idc), (echoes, src_in_idc)):
            if count >= MIN_PROBES:
                (out if towards_idc else into).add(line)
    return {"cloud_to_idc": sorted(out), "idc_to_cloud": sorted(into)}


def parse_sniffed(text: str, source_ip: str) -> list[tuple[float, bool]]:
    """tcpdump -tt -n lines -> (time, sent by `source_ip`)."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == "IP":
            try:
                found.append((float(parts[0]), parts[2].rsplit(".", 1)[0] == source_ip))
            except ValueError:
                continue
    return found


@dataclass(frozen=True)
class Prediction:
    """What the provider's settings predict for a pair after an event: the outage in seconds (None: cut until a
    later event repairs it), why, and how much later it may end (a health check's detection varies by up to one
    probe interval: where in the interval the fault falls)."""

    seconds: float | None
    why: str
    slack_s: float = 0.0


def expected_outage(cloud: ControlPlane, src: str, dst: str, event: Event,
                    before: dict[str, list[str]] | None = None, src_in_idc: bool = False) -> Prediction:
    """The prediction for the pair once `event` has been applied to `cloud`.

    A cut line is judged by the way the probe's datagrams actually went (`before`, measured: an ECMP route's
    flow hash picks the line, which the model cannot know): towards the IDC, the VPC keeps sending into the
    line until its health check declares it faulty (when another next hop can take over); from the IDC, the
    customer device's routes decide at once (the model's path of that direction). Other events: the routes
    switch at once if the model reaches the pair after them."""
    if event.action != "line_down" or before is None:
        if evaluate(build_network(cloud), src, dst).reachable:
            return Prediction(0.0, "the routes switch at once")
        return Prediction(None, "nothing takes over: cut until repaired")
    line = event.id
    towards_idc = line in before["cloud_to_idc"]
    from_idc = line in before["idc_to_cloud"]
    if not towards_idc and not from_idc:
        return Prediction(0.0, f"the probe did not cross {line}")
    network = build_network(cloud)
    idc_host, cloud_host = (src, dst) if src_in_idc else (dst, src)
    if from_idc and not trace(network, idc_host, network.address_of(cloud_host)).reached:
        return Prediction(None, f"the customer device has no other route than over {line}: cut until repaired")
    if not towards_idc:
        return Prediction(0.0, "the customer device's floating route takes over at once")
    checks = {ri: check for ri, check in cloud.health_checks().items()
              if cloud.vbrs[cloud.router_interfaces[ri].router_id].physical_connection_id == line}
    if checks:
        assumed = copy.deepcopy(cloud)
        for ri in checks:
            assumed.set_health_verdict(ri_id=ri, healthy=False)
        if evaluate(build_network(assumed), src, dst).reachable:
            slowest = max(checks.values(), key=lambda c: c.detection_s)
            return Prediction(slowest.detection_s, f"the health check declares {line} faulty after "
                              f"{slowest.threshold} unanswered probes every {slowest.rate_ms} ms",
                              slowest.rate_ms / 1000)
    return Prediction(None, f"no health check moves the VPC's route off {line}: cut until repaired")


def accepted_range(expected_s: float, slack_s: float) -> tuple[float, float]:
    """A switch ends within SWITCH_TOLERANCE_S of its prediction (plus a health check's one probe interval)."""
    return max(0.0, expected_s - EARLY_TOLERANCE_S), expected_s + slack_s + SWITCH_TOLERANCE_S


def line_ports(plan: Plan) -> dict[str, str]:
    """Each leased line's customer-facing access point port (an interface of the host's namespace)."""
    return {node.id.removesuffix("@ap"): intf.name for node in plan.nodes if node.kind is NodeKind.ACCESS_POINT
            for intf in node.interfaces if intf.logical.startswith("cust.")}


class Sniffers:
    """tcpdump on every line's customer port, keeping the probes' datagrams (time and addresses) as text."""

    def __init__(self, plan: Plan, ports: list[int], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        expression = " or ".join(f"udp port {port}" for port in ports)
        self.files = {line: folder / f"{line}.txt" for line in line_ports(plan)}
        self.processes = []
        for line, interface in line_ports(plan).items():
            with open(self.files[line], "w") as out:
                self.processes.append(subprocess.Popen(
                    ["tcpdump", "-i", interface, "-n", "-tt", "-l", "--immediate-mode", *expression.split()],
                    stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))

    def stop(self) -> None:
        """SIGINT (tcpdump flushes what it printed); safe to call again."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            finish(process, 5)

    def seen(self, source_ip: str) -> dict[str, list[tuple[float, bool]]]:
        self.stop()
        return {line: parse_sniffed(path.read_text(), source_ip) for line, path in self.files.items()}


@dataclass
class Mark:
    """One event as it happened: its wall-clock time and, per pair, the prediction (or why it was refused)."""

    event: Event
    at: float = 0.0
    cloud: ControlPlane | None = None                # the control plane right after the event
    error: str | None = None


def run_timeline(events: list[Event], pairs: list[Failover], settle_s: float, *,
                 apply_event: Callable[[Event], ControlPlane], plan: Plan,
                 spawn: Callable[[str, list[str]], object], address: Callable[[str], str],
                 in_idc: Callable[[str], bool], expected_pair: Callable[[str, str], object],
                 health_changes: Callable[[], list], progress: Callable[[str], None],
                 folder: Path) -> list[CheckResult]:
    """Probes across the events; `apply_event` performs one (the lab's operation) and returns the control plane
    after it. Plots and the sniffed datagrams go to `folder`."""
    duration = (events[-1].at_s if events else 0) + settle_s
    sniffers: list[Sniffers] = []
    try:
        sniffers += [Sniffers(plan, [PROBE_PORT + i], folder / f"sniffed-{i}") for i in range(len(pairs))]
        return _timeline(events, pairs, duration, sniffers, apply_event=apply_event, spawn=spawn, address=address,
                         in_idc=in_idc, expected_pair=expected_pair, health_changes=health_changes,
                         progress=progress, folder=folder)
    finally:
        for sniffer in sniffers:     # the tcpdumps run in the host's namespace: no sweep would find them
            sniffer.stop()


def _timeline(events: list[Event], pairs: list[Failover], duration: float, sniffers: list[Sniffers], *,
              apply_event: Callable[[Event], ControlPlane], spawn: Callable[[str, list[str]], object],
              address: Callable[[str], str], in_idc: Callable[[str], bool], expected_pair: Callable[[str, str], object],
              health_changes: Callable[[], list], progress: Callable[[str], None], folder: Path) -> list[CheckResult]:
    servers = [spawn(p.dst, python_module("emulator.checks.failover_probe", "server", str(PROBE_PORT + i),
                                          str(duration + 5))) for i, p in enumerate(pairs)]
    tcp: dict[int, dict] = {}
    threads = []
    for i, pair in enumerate(pairs):
        if pair.tcp_mbps:
            def transfer(i: int = i, pair: Failover = pair) -> None:
                tcp[i] = run_iperf(expected_pair(pair.src, pair.dst), int(duration), spawn,
                                   bandwidth_bps=pair.tcp_mbps * 1_000_000, port=TCP_PORT + i)
            threads.append(threading.Thread(target=transfer, daemon=True))
    time.sleep(0.5)     # the echo servers bind, tcpdump listens
    clients = [spawn(p.src, python_module("emulator.checks.failover_probe", "client", address(p.dst),
                                          str(PROBE_PORT + i), str(p.interval_ms), str(duration)))
               for i, p in enumerate(pairs)]
    for thread in threads:
        thread.start()
    t0 = time.time()
    marks = [Mark(event) for event in events]
    for mark in marks:
        time.sleep(max(0.0, t0 + mark.event.at_s - time.time()))
        mark.at = time.time()
        progress(f"event at {mark.event.at_s:g} s: {mark.event.action} {mark.event.id}")
        try:
            mark.cloud = copy.deepcopy(apply_event(mark.event))    # the state right after it, for the prediction
        except EmulatorError as problem:   # a refused operation is the event's result, not a crash
            mark.error = problem.message
    records = []
    for client in clients:
        out, err = finish(client, duration + 30)
        try:
            records.append(json.loads(out))
        except (json.JSONDecodeError, TypeError):
            records.append({"error": (err or "no output from the probe").strip()[-300:]})
    for server in servers:
        finish(server, 10)
    for thread in threads:
        thread.join(timeout=60)
    changes = health_changes()
    results = []
    for i, pair in enumerate(pairs):
        record, seen = records[i], sniffers[i].seen(address(pair.src))
        survived = _tcp_survived(tcp.get(i)) if pair.tcp_mbps else None
        png = None
        if "error" not in record:
            png = folder / f"failover-{pair.src}-{pair.dst}.png"
            plot(record, marks, png, f"{pair.src} -> {pair.dst}")
        for index, mark in enumerate(marks):
            until = marks[index + 1].at if index + 1 < len(marks) else None
            window = Window(mark, until, record, seen, in_idc(pair.src))
            results.append(_event_check(pair, window, survived, changes, png))
    return results


def _tcp_survived(result: dict | None) -> bool:
    """The TCP transfer ended without error and was still moving data in its last second."""
    if not result or result.get("error"):
        return False
    intervals = result.get("intervals_mbps") or []
    return bool(intervals) and intervals[-1] > 0


@dataclass(frozen=True)
class Window:
    """One event's stretch of the timeline for one pair: from the event to the next one (or the probe's end)."""

    mark: Mark
    until: float | None
    record: dict
    seen: dict
    src_in_idc: bool

    def path(self, start: float, end: float) -> dict[str, list[str]]:
        return lines_carrying(self.seen, start, end, self.src_in_idc)

    @property
    def end(self) -> float:
        return self.until if self.until is not None else self.record["started"] + self.record["sent_at"][-1] + 0.01


def _event_check(pair: Failover, window: Window, survived: bool | None, changes: list,
                 png: Path | None) -> CheckResult:
    mark, record, event = window.mark, window.record, window.mark.event
    name = f"{event.action} {event.id} at {event.at_s:g} s"
    if "error" in record or mark.error or mark.cloud is None:
        prediction = Prediction(None, "")
        detail = FailoverDetail(event=name, lost_packets=None, sent_packets=None, outage_s=None,
                                expected_outage_s=prediction.seconds, accepted_s=None, prediction=prediction.why,
                                path_before={}, path_after={}, tcp_survived=survived, health_checks=(),
                                plot=str(png) if png else None, error=mark.error or record["error"])
        return CheckResult(pair.src, pair.dst, False, detail)
    before = window.path(mark.at - 1.0, mark.at)
    after = window.path(window.end - 1.0, window.end)
    prediction = expected_outage(mark.cloud, pair.src, pair.dst, event, before, window.src_in_idc)
    start, end = mark.at - record["started"], window.end - record["started"]
    sent_at, rtt = record["sent_at"], record["rtt_ms"]
    in_window = [r for t, r in zip(sent_at, rtt, strict=False) if start <= t < end]
    runs = [o for o in outages(sent_at, rtt) if start - 0.5 <= o.start_s < end]
    outage = round(max((o.end_s - o.start_s for o in runs), default=0.0), 3)
    # Cut until a later event repairs it (or the probe ends): the whole window.
    expected_s = round(end - start, 3) if prediction.seconds is None else prediction.seconds
    accepted = accepted_range(expected_s, prediction.slack_s)
    detail = FailoverDetail(
        event=name, lost_packets=sum(r is None for r in in_window), sent_packets=len(in_window), outage_s=outage,
        expected_outage_s=expected_s, accepted_s=(round(accepted[0], 3), round(accepted[1], 3)),
        prediction=prediction.why, path_before=before, path_after=after, tcp_survived=survived,
        health_checks=tuple(f"{c.ri_id} {'healthy' if c.healthy else 'faulty'} {c.decided_at - mark.at:+.2f} s, "
                            f"flows {c.installed_at - mark.at:+.2f} s" for c in changes
                            if mark.at <= c.decided_at < window.end),
        plot=str(png) if png else None)
    return CheckResult(pair.src, pair.dst, accepted[0] <= outage <= accepted[1], detail)


def plot(record: dict, marks: list[Mark], path: Path, title: str) -> None:
    """The probe's round trips over time, lost probes as red ticks, each event a vertical line (PNG)."""
    import matplotlib

    matplotlib.use("Agg")     # no display: files only
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 4))
    answered = [(t, r) for t, r in zip(record["sent_at"], record["rtt_ms"], strict=False) if r is not None]
    lost = [t for t, r in zip(record["sent_at"], record["rtt_ms"], strict=False) if r is None]
    if answered:
        axes.plot([t for t, _ in answered], [r for _, r in answered], ".", markersize=2, label="round trip (ms)")
    top = max((r for _, r in answered), default=1.0)
    if lost:
        axes.plot(lost, [top * 1.05] * len(lost), "|", color="red", markersize=8, label=f"lost ({len(lost)})")
    for mark in marks:
        at = mark.at - record["started"]
        axes.axvline(at, color="grey", linestyle="--")
        axes.annotate(f"{mark.event.action} {mark.event.id}", (at, top * 1.12), fontsize=8, rotation=0)
    axes.set_xlabel("seconds after the probe started")
    axes.set_ylabel("round trip (ms)")
    axes.set_ylim(0, top * 1.25)
    axes.set_title(f"failover probe {title}: one datagram every {record['interval_ms']:g} ms")
    axes.legend(loc="lower right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)

