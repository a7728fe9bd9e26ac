"""The lab's logic: console actions on a running network.

Every action goes through the control plane's rules, then the new plan
reaches the controller and the Linux nodes without a restart. An action whose
new plan changes the structure (a step that adds routers or links: Plan.structure_change says which) answers
`Changed(rebuild=True)` instead; the shell (lab_shell.py, which uses this
module and never the other way round) then rebuilds the network.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv4Network
from pathlib import Path

from rich.table import Table

from emulator.checks.results import CheckResult
from emulator.cloud.resources import NextHopType
from emulator.errors import ScenarioError
from emulator.impairment import MAX_LATENCY_MS, MAX_LOSS_PERCENT, Impairment
from emulator.impairment import problem as impairment_problem
from emulator.routing.reachability import PairResult
from emulator.runner import Live, run_checks
from emulator.session import Prepared, explain_pair, prepare
from emulator.captures import CAPTURE_PACKETS, OPEN_HINT, select_ends
from emulator.runtime.commands import run
from emulator.runtime.interrupts import finished_before_interrupt



@dataclass(frozen=True)
class Changed:
    """An accepted change: what to tell the user, or that the network must be rebuilt to carry it."""

    message: str
    rebuild: bool = False


_HELD_BACK = "; Ctrl-C came while it was being applied: it was finished first"
PING_ECHOES = 3      # 0.4 s apart from the first to the last: a route that comes back within that is seen


@dataclass(frozen=True)
class Ping:
    """The lab's `ping`: each echo's round trip by its sequence number (none: unanswered)."""

    src: str
    dst: str
    rtt_ms: dict[int, float]

    @classmethod
    def parse(cls, src: str, dst: str, output: str) -> "Ping":
        return cls(src, dst, {int(seq): float(ms) for seq, ms in re.findall(r"icmp_seq=(\d+) .*time=([0-9.]+) ms",
                                                                             output)})

    @property
    def reachable(self) -> bool:
        return bool(self.rtt_ms)

    def describe(self) -> str:
        """The round trip without the first echo's when later ones came back: the first also waits for ARP
        across the line, which a real cloud's warm neighbour entries do not."""
        answered = f"{len(self.rtt_ms)}/{PING_ECHOES} answered"
        if not self.rtt_ms:
            return f"{self.src} -> {self.dst}: unreachable ({answered})"
        later = [ms for seq, ms in self.rtt_ms.items() if seq > 1]
        if 1 in self.rtt_ms and later:
            return (f"{self.src} -> {self.dst}: reachable, RTT {statistics.mean(later):.1f} ms ({answered}; "
                    f"the first, {self.rtt_ms[1]:.1f} ms, left out: it can wait for ARP)")
        return (f"{self.src} -> {self.dst}: reachable, RTT {statistics.mean(self.rtt_ms.values()):.1f} ms "
                f"({answered})")


class Lab:
    """Console actions on a running network. Each returns a line to show, or raises EmulatorError."""

    def __init__(self, prepared: Prepared, live: Live, artifacts: Path = Path("artifacts")) -> None:
        self.prepared = prepared
        self.live = live
        self.artifacts = artifacts     # captures and probe files go below it (`lab --artifacts DIR`)
        self.changed = False
        self.last_update_s = 0.0
        self.probe = None          # the live probe, while one runs (emulator.checks.live_probe.LiveProbe)

    @property
    def cloud(self):
        return self.prepared.scenario.cloud

    def _change(self, action: Callable[[], object], done: str) -> Changed:
        """The model, then the network; a Ctrl-C meanwhile waits until both agree (and is said)."""
        with finished_before_interrupt() as pressed:
            action()                                 # refused with the provider's code, nothing changed
            self.changed = True
            renewed = prepare(self.prepared.scenario, generation=self.live.network.plan.generation + 1,
                              learned=self.live.learned)
            if renewed.plan.structure() != self.prepared.plan.structure():
                done = f"{done}; it {renewed.plan.structure_change(self.prepared.plan)}"
                self.prepared = renewed
                return Changed(done + _HELD_BACK * bool(pressed), rebuild=True)
            self.last_update_s = self.live.apply(renewed)
            self.prepared = renewed
        return Changed(f"{done} (flows updated in {self.last_update_s * 1000:.0f} ms)" + _HELD_BACK * bool(pressed))

    def _router(self, name: str) -> str:
        """A router by its own ID, or by its VPC's ID (the console lists route tables under the VPC)."""
        vpc = self.cloud.vpcs.get(name)
        return vpc.vrouter_id if vpc is not None else name

    def add_route(self, router: str, destination: str, next_hop_type: str, next_hop_id: str) -> Changed:
        router = self._router(router)
        prefix, kind = _network(destination), _next_hop_type(next_hop_type)
        return self._change(lambda: self.cloud.add_route_entry(router_id=router, destination=prefix,
                                                               next_hop_type=kind, next_hop_id=next_hop_id),
                            f"route entry {prefix} -> {next_hop_id} added to {router}")

    def delete_route(self, router: str, destination: str) -> Changed:
        router = self._router(router)
        prefix = _network(destination)
        return self._change(lambda: self.cloud.delete_route_entry(router_id=router, destination=prefix),
                            f"route entry {prefix} deleted from {router}")

    def deactivate(self, ri_id: str) -> Changed:
        return self._change(lambda: self.cloud.deactivate_router_interface(ri_id=ri_id), f"{ri_id} is Inactive")

    def activate(self, ri_id: str) -> Changed:
        return self._change(lambda: self.cloud.activate_router_interface(ri_id=ri_id), f"{ri_id} is Active")

    def line(self, pc_id: str, up: bool) -> Changed:
        return self._change(lambda: self.cloud.set_physical_connection_state(pc_id=pc_id, up=up),
                            f"leased line {pc_id} is {'up' if up else 'down'}")

    def line_failure(self, pc_id: str, failed: bool) -> Changed:
        """`line fail PC_ID` / `line restore PC_ID`: the provider's network drops every frame, the port stays up."""
        return self._change(lambda: self.cloud.set_physical_connection_failure(pc_id=pc_id, failed=failed),
                            f"leased line {pc_id} " + ("drops every frame (its port stays up)" if failed
                                                       else "carries frames again"))

    def line_set(self, pc_id: str, words: list[str]) -> Changed:
        """`line set pc-AAA latency 30 jitter 2 loss 1`: the values named change, the others stay."""
        pc = self.cloud.physical_connections.get(pc_id)
        current = pc.impairment if pc is not None else Impairment()
        wanted = parse_line_settings(words, current, pc_id if pc is not None else "PC_ID")
        return self._change(lambda: self.cloud.modify_physical_connection_impairment(pc_id=pc_id, impairment=wanted),
                            f"leased line {pc_id}: {wanted.describe()}")

    def step(self) -> Changed:
        scenario = self.prepared.scenario
        return self._change(scenario.apply_next_step,
                            f"step {scenario.steps_applied + 1} of {scenario.steps_total} applied")

    # ----- BGP on the customer device (its FRR) ------------------------------------------------

    def _customer_bgp(self):
        bgp = self.cloud.customer_bgp
        if bgp is None or self.live.bgp is None or self.live.bgp.customer is None:
            raise ScenarioError("this scenario runs no BGP on the customer device",
                                fix="try the multi_vpc_leased_line_bgp scenario")
        return bgp, self.live.bgp.customer

    def _bgp_change(self, configure: Callable[[], None], act: Callable[[], None], done: str) -> Changed:
        """Change the device's configuration (the model and its FRR alike), then wait until the VBR's flows
        hold what the sessions now carry."""
        with finished_before_interrupt() as pressed:     # the model and FRR change together; the wait may stop
            configure()
            self.changed = True
            act()
        try:
            if pressed:
                raise KeyboardInterrupt
            took = self.live.settle_bgp(self.prepared)
        finally:        # interrupted or not, explain and table answer for the network as it now is
            self.prepared = prepare(self.prepared.scenario, generation=self.live.network.plan.generation,
                                    learned=self.live.learned)
        self.last_update_s = took
        return Changed(f"{done} (routes settled in {took:.1f} s)")

    def bgp_advertise(self, prefix: str, withdraw: bool = False) -> Changed:
        """`bgp advertise PREFIX` / `bgp withdraw PREFIX` on the customer device."""
        bgp, frr = self._customer_bgp()
        net = _network(prefix)
        if withdraw and net not in bgp.networks:
            raise ScenarioError(f"the customer device does not advertise {net}",
                                fix="it advertises: " + (", ".join(map(str, bgp.networks)) or "nothing"))
        if not withdraw and net in bgp.networks:
            raise ScenarioError(f"the customer device already advertises {net}", fix="withdraw it first")
        networks = [n for n in bgp.networks if n != net] if withdraw else [*bgp.networks, net]
        return self._bgp_change(
            lambda: self.cloud.configure_customer_bgp(idc_id=bgp.idc_id, asn=bgp.asn, neighbors=bgp.neighbors,
                                                      networks=networks),
            lambda: frr.withdraw(net) if withdraw else frr.advertise(net),
            f"the customer device {'withdraws' if withdraw else 'advertises'} {net}")

    def bgp_session(self, up: bool) -> Changed:
        """`bgp down` / `bgp up`: the customer device shuts its neighbors down, or brings them back."""
        bgp, frr = self._customer_bgp()

        def configure() -> None:
            for neighbor in bgp.neighbors:
                neighbor.shutdown = not up

        return self._bgp_change(configure, lambda: frr.shutdown(not up),
                                f"BGP sessions of the customer device {'up' if up else 'down'}")

    def bgp_show(self, side: str = "customer") -> str:
        """The BGP table of the customer device (FRR's `show bgp ipv4 unicast`) or of the cloud's side (os-ken):
        `vbr`, `bgw` and `cloud` all name the cloud's side."""
        _, frr = self._customer_bgp()
        if side == "customer":
            return frr.vtysh("show bgp ipv4 unicast summary", "show bgp ipv4 unicast")
        if side in ("vbr", "bgw", "cloud"):
            lines = []
            for speaker in self.live.bgp.speakers.values():
                state, router = speaker.state(), speaker.router_id
                for ip, peer in state.get("peers", {}).items():
                    received = state.get("received", {}).get(ip, [])
                    lines.append(f"{router} AS {state.get('local_asn')}: peer {ip} AS {peer.get('remote_as')} "
                                 f"{peer.get('state')}, {len(received)} received: {', '.join(received[:20])}"
                                 + (" ..." if len(received) > 20 else ""))
                lines.append(f"{router} advertises: {', '.join(state.get('advertised', [])) or 'nothing'}")
            return "\n".join(lines)
        raise ScenarioError(f"{side[:40]!r}: show the table of which side?",
                            fix="bgp show customer | bgp show vbr (or bgw: the cloud's side)")

    # ----- the live probe ---------------------------------------------------------------------------

    def probe_start(self, src: str, dst: str, interval_ms: str = "10", say: Callable[[str], None] = print) -> str:
        """`probe start SRC DST [INTERVAL_MS]`: a numbered UDP echo every interval, told each second."""
        from emulator.checks.live_probe import LiveProbe

        if self.probe is not None:
            raise ScenarioError("a probe is already running", fix="probe stop first")
        try:
            interval = int(interval_ms)
        except ValueError:
            raise ScenarioError(f"{interval_ms[:20]!r} is not a number of milliseconds", fix="e.g. probe start "
                                "i-vpca-1 idc-server-1 10") from None
        if not 5 <= interval <= 1000:
            raise ScenarioError(f"an interval of {interval} ms is outside 5-1000", fix="probe every 10 ms, say")
        pair = self.explain(src, dst)
        network = self.prepared.network
        idc_servers = set(self.cloud.idc_server_ids())
        node = {n.id: n.name for n in self.prepared.plan.nodes}
        self.probe = LiveProbe(plan=self.live.network.plan,
                               spawn=lambda host, argv: self.live.processes.spawn(node[host], argv),
                               src=pair.src, dst=pair.dst, src_ip=str(network.address_of(pair.src)),
                               dst_ip=str(network.address_of(pair.dst)), src_in_idc=pair.src in idc_servers,
                               dst_in_idc=pair.dst in idc_servers,
                               interval_ms=interval, say=say, folder=self.artifacts / "probe")
        return (f"probing {pair.src} -> {pair.dst} every {interval} ms (a line a second; `probe stop` ends it)"
                + ("" if pair.reachable else f"; the tables say it is unreachable now: {pair.explanation.message}"
                   if pair.explanation else ""))

    def probe_stop(self) -> str:
        if self.probe is None:
            return "no probe is running"
        probe, self.probe = self.probe, None
        return probe.stop()

    def explain(self, src: str, dst: str) -> PairResult:
        return explain_pair(self.prepared, src, dst)

    def ping(self, src: str, dst: str) -> Ping:
        """A few echoes between two hosts, by cloud ID or address."""
        result = self.explain(src, dst)
        src, dst = result.src, result.dst
        node = self.prepared.plan.node(src).name
        address = str(self.prepared.network.address_of(dst))
        result = self.live.network.run_in(node, ["ping", "-n", "-c", str(PING_ECHOES), "-i", "0.2", "-W", "1",
                                                 address], check=False)
        return Ping.parse(src, dst, result.stdout)

    def check(self) -> list[CheckResult]:
        return run_checks(self.prepared, self.live.network, self.live.processes, lambda _line: None,
                          use_stated=not self.changed)

    def route_table(self, router: str) -> Table:
        from emulator.report.terminal import route_table

        router = self._router(router)
        node = self.prepared.network.nodes.get(router)
        if node is None or not node.table:
            routers = [n.id for n in self.prepared.network.nodes.values() if n.table]
            raise ScenarioError(f"{router} is not a VBR, VRouter or border gateway", fix="routers are: " +
                                ", ".join(routers))
        return route_table(self.prepared.network, router)

    def capture_start(self, link: str) -> str:
        folder = self.artifacts / "captures"
        files = self.live.recorder.start(select_ends(self.prepared.plan, [link]), folder, self.live.processes.spawn)
        return (f"capturing {link} on {len(files)} link ends into {folder} (at most {CAPTURE_PACKETS} packets "
                f"each); `capture stop` closes the files")

    def capture_stop(self) -> str:
        files = self.live.recorder.stop()
        if not files:
            return "no capture is running"
        lines = [f"{capture.path} ({capture.end.node_id}, {capture.end.interface}): {capture.packets} packets"
                 for capture in files]
        return "\n".join([*lines, OPEN_HINT])

    def flows(self, node_id: str, raw: bool = False) -> Table | str:
        """The OpenFlow flows on a router's bridge, as a table (or as ovs-ofctl prints them)."""
        from emulator.report.flow_table import flows_table, parse_dump_flows

        try:
            node = self.prepared.plan.node(self._router(node_id))
        except StopIteration:
            raise ScenarioError(f"no node {node_id}", fix="give a VBR or VRouter ID, or a node name") from None
        if node.dpid is None:
            raise ScenarioError(f"{node_id} is not an OpenFlow bridge", fix="give a VBR or VRouter ID")
        out = run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", node.name]).stdout
        if raw:
            return out.rstrip()
        flows = parse_dump_flows(out)
        return flows_table(f"{node.id} ({node.name}): {len(flows)} flows; `flows {node_id} raw` shows "
                           "ovs-ofctl's own lines", flows)


LINE_SETTINGS = {"latency": ("latency_ms", MAX_LATENCY_MS), "jitter": ("jitter_ms", MAX_LATENCY_MS),
                 "loss": ("loss_percent", MAX_LOSS_PERCENT)}
LINE_SET_USAGE = "line set PC_ID [latency MS] [jitter MS] [loss PERCENT]"


def parse_line_settings(words: list[str], current: Impairment, pc_id: str = "PC_ID") -> Impairment:
    """Pairs of NAME VALUE (latency, jitter in ms one way; loss in percent) over the line's current values."""
    example = f"e.g. line set {pc_id} latency 30 jitter 2 loss 1 (any of the three)"
    if not words or len(words) % 2:
        raise ScenarioError("name each value and give a number after it", fix=example)
    values = {}
    for name, text in zip(words[::2], words[1::2], strict=True):
        if name not in LINE_SETTINGS:
            raise ScenarioError(f"{name[:40]!r} is not a property of a line", fix="use latency, jitter or loss")
        field_name, limit = LINE_SETTINGS[name]
        try:
            value = float(text)
        except ValueError:
            raise ScenarioError(f"{name} needs a number, not {text[:40]!r}", fix=example) from None
        if not 0 <= value <= limit:     # NaN fails this too
            raise ScenarioError(f"{name} {text[:40]} is outside 0..{limit:g}", fix=f"give {name} within 0..{limit:g}")
        values[field_name] = value
    wanted = replace(current, **values)
    why = impairment_problem(wanted)
    if why:
        raise ScenarioError(why, fix="set jitter at most the latency")
    return wanted


def _network(text: str) -> IPv4Network:
    try:
        return IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ScenarioError(f"{text} is not a CIDR block ({exc})", fix="write it like 172.16.0.0/12") from None


def _next_hop_type(text: str) -> NextHopType:
    try:
        return NextHopType(text)
    except ValueError:
        raise ScenarioError(f"unknown next hop type {text}",
                            fix="use one of: " + ", ".join(kind.value for kind in NextHopType)) from None
