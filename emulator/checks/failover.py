"""Faults on a timeline, measured: numbered UDP streams both ways (and a TCP transfer) per pair while events happen.

The pure half (outages, lines_carrying, parse_sniffed, expected_outage, accepted_range) turns what the probes
recorded into each event's figures; run_timeline spawns the probes and a tcpdump on each line's customer port,
applies the events at their times through the same operations as the lab, and returns one `failover` check per
event and pair. What the provider's settings predict, per direction, comes from the routing model and the path
the datagrams were seen to take: the routes switch at once (0), a health check must declare the line faulty
first (rate x threshold), BFD must end the BGP session (its detection time), or nothing takes over until the
line is repaired.
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
from emulator.routing import bgp as bgp_model
from emulator.routing.model import NodeKind, RouteKind
from emulator.routing.reachability import evaluate, trace
from emulator.routing.topology import build_network
from emulator.errors import EmulatorError, RunEnding
from emulator.runtime.commands import finish, python_module, spawn
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


def _json_of(process, timeout: float, missing: str = "") -> dict:
    """A probe worker's one JSON document; what it said instead, as the record's error (`missing` names it), or
    nothing at all where no record is expected without one."""
    out, err = finish(process, timeout)
    try:
        return json.loads(out)
    except (json.JSONDecodeError, TypeError):
        return {"error": (err or f"no output from {missing}").strip()[-300:]} if missing else {}


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


DIRECTIONS = ("cloud_to_idc", "idc_to_cloud")


def expected_outage(cloud: ControlPlane, src: str, dst: str, event: Event,
                    before: dict[str, list[str]] | None = None, src_in_idc: bool = False) -> dict[str, Prediction]:
    """The prediction for each direction of the pair once `event` has been applied to `cloud`.

    A failed line is judged by the way the probe's datagrams actually went (`before`, measured: an ECMP route's
    flow hash picks the line, which the model cannot know). Towards the IDC the VPC keeps sending into the line
    until its health check declares it faulty (when another next hop can take over). From the IDC, the customer
    device decides: a line that goes down takes its routes (and its BGP session) with its carrier at once; a line
    that fails silently is noticed only by BFD (a BGP route) or never (a static route). Other events: the routes
    switch at once if the model reaches the pair after them."""
    if event.action not in ("line_down", "line_fail") or before is None:
        reached = evaluate(build_network(cloud), src, dst).reachable
        same = Prediction(0.0, "the routes switch at once") if reached else \
            Prediction(None, "nothing takes over: cut until repaired")
        return dict.fromkeys(DIRECTIONS, same)
    idc_host, cloud_host = (src, dst) if src_in_idc else (dst, src)
    return {"cloud_to_idc": _towards_idc(cloud, idc_host, cloud_host, event.id, before["cloud_to_idc"]),
            "idc_to_cloud": _from_idc(cloud, idc_host, cloud_host, event, before["idc_to_cloud"])}


def _towards_idc(cloud: ControlPlane, idc_host: str, cloud_host: str, line: str, crossed: list[str]) -> Prediction:
    if line not in crossed:
        return Prediction(0.0, f"it did not cross {line}")
    checks = {ri: check for ri, check in cloud.health_checks().items()
              if cloud.vbrs[cloud.router_interfaces[ri].router_id].physical_connection_id == line}
    if checks:
        assumed = copy.deepcopy(cloud)
        for ri in checks:
            assumed.set_health_verdict(ri_id=ri, healthy=False)
        network = build_network(assumed)
        if trace(network, cloud_host, network.address_of(idc_host)).reached:
            slowest = max(checks.values(), key=lambda c: c.detection_s)
            return Prediction(slowest.detection_s, f"the health check declares {line} faulty after "
                              f"{slowest.threshold} unanswered probes every {slowest.rate_ms} ms",
                              slowest.rate_ms / 1000)
    return Prediction(None, f"no health check moves the VPC's route off {line}: cut until repaired")


def _from_idc(cloud: ControlPlane, idc_host: str, cloud_host: str, event: Event, crossed: list[str]) -> Prediction:
    line = event.id
    if line not in crossed:
        return Prediction(0.0, f"it did not cross {line}")
    network = build_network(cloud)
    verdict = trace(network, idc_host, network.address_of(cloud_host))
    if not verdict.reached:
        if event.action == "line_fail":
            return Prediction(None, f"the device's carrier stays up and its static route keeps using {line}: cut "
                                    "until repaired")
        return Prediction(None, f"the customer device has no other way than over {line}: cut until repaired")
    if event.action == "line_down":
        return Prediction(0.0, "the device loses the line's carrier: its next route (or BGP session) takes over")
    device = next(hop.node for hop in verdict.hops if network.nodes[hop.node].kind is NodeKind.LINUX_ROUTER)
    route = network.nodes[device].best_route(network.address_of(cloud_host))
    session = next((s for s in bgp_model.sessions(cloud) if s.pc_id == line), None)
    if route is None or route.kind is not RouteKind.BGP or session is None:
        return Prediction(None, f"the device's carrier stays up and its static route keeps using {line}")
    timers = session.bfd_detection_s()
    if timers is None:
        return Prediction(None, f"no BFD on the BGP session over {line}: the hold timer ends it (minutes)")
    return Prediction(timers[1], f"BFD ends the BGP session over {line} after {session.customer_bfd.multiplier} "
                      f"missed packets ({timers[1]:g} s)", max(session.customer_bfd.min_rx_ms,
                                                             session.cloud_bfd.min_tx_ms) / 1000)


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
                self.processes.append(spawn(
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
                                          str(duration + 3), str(p.interval_ms))) for i, p in enumerate(pairs)]
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
                                          str(PROBE_PORT + i), str(p.interval_ms), str(duration), str(PROBE_PORT + i)))
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
        except RunEnding:
            raise                          # the run cannot go on (exit 3), never an event's result
        except EmulatorError as problem:   # a refused operation is the event's result, not a crash
            mark.error = problem.message
    records = [_json_of(client, duration + 30, missing="the probe") for client in clients]
    streams = [_json_of(server, duration + 30) for server in servers]
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
            window = Window(mark, until, record, streams[i], seen, in_idc(pair.src))
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
    record: dict               # the client's: its probes' send times and round trips, the server stream it got
    server: dict               # the server's: the client's probes that arrived, its own stream's send times
    seen: dict
    src_in_idc: bool

    def path(self, start: float, end: float) -> dict[str, list[str]]:
        return lines_carrying(self.seen, start, end, self.src_in_idc)

    def one_way(self) -> dict[str, tuple[list[float], list[float | None]]]:
        """Each direction's datagrams: send times (seconds after the client started) and None where lost."""
        arrived = set(self.server.get("arrived", []))
        forward = (self.record["sent_at"], [None if seq not in arrived else 1.0
                                            for seq in range(len(self.record["sent_at"]))])
        offset = self.server.get("stream_started", self.record["started"]) - self.record["started"]
        got = set(self.record.get("stream_arrived", []))
        sent = self.server.get("stream_sent_at", [])
        backward = ([t + offset for t in sent], [None if seq not in got else 1.0 for seq in range(len(sent))])
        return dict(zip(DIRECTIONS if not self.src_in_idc else DIRECTIONS[::-1], (forward, backward), strict=True))

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
    predictions = expected_outage(mark.cloud, pair.src, pair.dst, event, before, window.src_in_idc)
    start, end = mark.at - record["started"], window.end - record["started"]
    sent_at, rtt = record["sent_at"], record["rtt_ms"]
    in_window = [r for t, r in zip(sent_at, rtt, strict=False) if start <= t < end]
    directions, passed = {}, True
    for direction, (times, delivered) in window.one_way().items():
        prediction = predictions[direction]
        measured = _longest_outage(times, delivered, start, end)
        # Cut until a later event repairs it (or the probe ends): the whole window.
        expected_s = round(end - start, 3) if prediction.seconds is None else prediction.seconds
        accepted = accepted_range(expected_s, prediction.slack_s)
        ok = bool(times) and accepted[0] <= measured <= accepted[1]
        passed = passed and ok
        directions[direction] = {"outage_s": measured, "expected_outage_s": expected_s,
                                 "accepted_s": [round(accepted[0], 3), round(accepted[1], 3)],
                                 "prediction": prediction.why, "passed": ok}
    expected = max(d["expected_outage_s"] for d in directions.values())
    detail = FailoverDetail(
        event=name, lost_packets=sum(r is None for r in in_window), sent_packets=len(in_window),
        outage_s=_longest_outage(sent_at, rtt, start, end), expected_outage_s=expected,
        accepted_s=None, prediction="; ".join(f"{d.replace('_', ' ')}: {v['prediction']}"
                                              for d, v in directions.items()),
        path_before=before, path_after=after, tcp_survived=survived, directions=directions,
        health_checks=tuple(f"{c.ri_id} {'healthy' if c.healthy else 'faulty'} {c.decided_at - mark.at:+.2f} s, "
                            f"flows {c.installed_at - mark.at:+.2f} s" for c in changes
                            if mark.at <= c.decided_at < window.end),
        plot=str(png) if png else None)
    return CheckResult(pair.src, pair.dst, passed, detail)


def _longest_outage(times: list[float], delivered: list, start: float, end: float) -> float:
    """The longest run of lost datagrams that starts in [start - 0.5 s, end): first lost to next delivered."""
    runs = [o for o in outages(times, delivered) if start - 0.5 <= o.start_s < end]
    return round(max((o.end_s - o.start_s for o in runs), default=0.0), 3)


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
    axes.legend(loc="upper right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)

