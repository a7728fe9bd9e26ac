"""Build the plan with Mininet: hosts in namespaces, cloud routers as OVS bridges, links, shaping.

Mininet creates the namespaces, veth pairs and bridges; addresses, routes,
bridges inside the customer device, offloads and shaping are then applied
with argument lists built from the plan (never Mininet's string commands).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from emulator.capabilities import Environment
from emulator.errors import RuntimeFailure
from emulator.plan import Plan, PlanLink, PlanNode
from emulator.routing.model import LinkKind, NodeKind
from emulator.runtime import impairment, shaping
from emulator.runtime.impairment import DelayLineProcess, Mechanism, delay_line_name
from emulator.runtime.commands import in_namespace, run

LOG = logging.getLogger(__name__)
OWNER_KEY = "cloud-emulator"   # external_ids key on every bridge the emulator creates


def _mininet():
    """Import Mininet lazily: `plan` and `validate` must work where it is not installed."""
    from mininet import log as mn_log
    from mininet.link import Link
    from mininet.net import Mininet
    from mininet.node import OVSSwitch

    mn_log.setLogLevel("error")

    class OwnedSwitch(OVSSwitch):
        """An OVS bridge marked as the emulator's, so `clean` finds exactly its own.

        Started with one ovs-vsctl argument list rather than Mininet's command line typed into the
        switch's shell: a pty line holds at most 4095 bytes, which a bridge with 64 ports exceeds.
        Its controller is the emulator's own target (the `controller_target` param), not a Mininet controller
        object: Mininet's RemoteController probes the port with telnet in a shell and decodes the
        OpenFlow HELLO as UTF-8 (a UnicodeDecodeError); the runtime knows readiness from flow counts.
        """

        def start(self, controllers):
            run(bridge_command(self.name, self.dpid, self.datapath, self.params["controller_target"],
                               [(str(intf), self.ports[intf]) for intf in self.intfList() if self.ports[intf]]))
            for intf in self.intfList():
                if self.ports[intf]:
                    run(["ip", "link", "set", "dev", str(intf), "up"])

    return Mininet, OwnedSwitch, Link


def bridge_command(name: str, dpid: str, datapath: str, controller_target: str,
                   ports: list[tuple[str, int]]) -> list[str]:
    """One ovs-vsctl transaction: the bridge, its OpenFlow settings, its owner mark, controllers and ports."""
    argv = ["ovs-vsctl", "--", "--if-exists", "del-br", name, "--", "add-br", name,
            "--", "set", "bridge", name, f"other_config:datapath-id={dpid}", "fail_mode=secure",
            "other-config:disable-in-band=true", "protocols=OpenFlow13", f"other-config:dp-desc={name}",
            f"external-ids:{OWNER_KEY}={name}"]
    if datapath == "user":
        argv.append("datapath_type=netdev")
    if controller_target:
        argv += controller_args(name, "@c0", controller_target)
    for intf, port_no in ports:
        argv += ["--", "add-port", name, intf, "--", "set", "Interface", intf, f"ofport_request={port_no}"]
    return argv


def controller_target(port: int) -> str:
    return f"tcp:127.0.0.1:{port}"


def controller_args(bridge: str, ref: str, target: str) -> list[str]:
    """ovs-vsctl arguments giving `bridge` one controller at `target`.

    max_backoff 1000 ms is Open vSwitch's smallest; a new target (a controller taking over on its own port)
    is connected at once, without waiting for any backoff.
    """
    return ["--", f"--id={ref}", "create", "Controller", f'target="{target}"', "max_backoff=1000",
            "--", "set", "bridge", bridge, f"controller=[{ref}]"]


def retarget_command(bridges: list[str], target: str) -> list[str]:
    """One ovs-vsctl transaction pointing every bridge at the controller listening at `target`."""
    argv = ["ovs-vsctl"]
    for index, bridge in enumerate(bridges):
        argv += controller_args(bridge, f"@c{index}", target)
    return argv


SOCKET_DEFAULTS = (Path("/proc/sys/net/core/rmem_default"), Path("/proc/sys/net/core/wmem_default"))
OVS_SOCKET_BUFFER = 4 * 1024 * 1024


@contextmanager
def larger_default_socket_buffers(size: int = OVS_SOCKET_BUFFER) -> Iterator[None]:
    """Open vSwitch's userspace datapath reads and writes every port through a packet socket, created with the
    kernel's default buffers (208 KiB: ~10 ms at 100 Mbit/s). On a loaded machine it is off the CPU for longer and
    drops frames, and TCP across a delayed line pays for each loss for a whole round trip: with a CPU hog beside
    the run, the shipped scenario's TCP check measured 64.5-90.3 Mbit/s, with 4 MiB buffers 89.4-90.4.

    The defaults are raised only while the bridges' ports are added (runs hold the exclusive lock) and restored
    at once: sockets keep the size they were created with; nothing else on the host sees the change after that.
    """
    saved = {}
    try:
        for path in SOCKET_DEFAULTS:
            current = int(path.read_text())
            if current < size:
                saved[path] = current
                path.write_text(str(size))
    except OSError as exc:
        LOG.warning("could not raise the default socket buffers: %s", exc)
    try:
        yield
    finally:
        for path, value in saved.items():
            path.write_text(str(value))


@dataclass
class EmulatedNetwork:
    """The running network. `state_dir` holds the delay lines' parameter files; `adjustable_lines` splices a delay
    line into every leased line where the kernel has no netem, so that the lab can give an ideal line delay later."""

    plan: Plan
    environment: Environment
    controller_port: int
    state_dir: Path | None = None
    adjustable_lines: bool = False
    net: object = None
    pids: dict[str, int] = field(default_factory=dict)
    delay_lines: dict[int, DelayLineProcess] = field(default_factory=dict)    # by link index in the plan

    def mechanism(self, index: int) -> Mechanism:
        """How link `index`'s delay and loss are made (now, with its current values)."""
        if index in self.delay_lines:
            return Mechanism.DELAY_LINE
        if self.plan.links[index].impairment.ideal or not self.environment.netem:
            return Mechanism.NONE
        return Mechanism.NETEM

    def _wants_delay_line(self, link: PlanLink) -> bool:
        if self.environment.netem or not self.environment.delay_line:
            return False
        return not link.impairment.ideal or (self.adjustable_lines and link.kind is LinkKind.LEASED_LINE)

    def build(self) -> None:
        mininet_cls, switch_cls, link_cls = _mininet()
        net = mininet_cls(topo=None, build=False, controller=None, autoSetMacs=False, autoStaticArp=False,
                          waitConnected=False, inNamespace=False)
        self.net = net
        for node in self.plan.nodes:
            if node.dpid is not None:
                net.addSwitch(node.name, cls=switch_cls, dpid=node.dpid, protocols="OpenFlow13",
                              datapath=self.environment.datapath, failMode="secure",
                              controller_target=controller_target(self.controller_port))
            else:
                net.addHost(node.name, ip=None)
        for index, link in enumerate(self.plan.links):
            a, b = self.plan.node(link.a_node), self.plan.node(link.b_node)
            ia = next(i for i in a.interfaces if i.name == link.a_intf)
            ib = next(i for i in b.interfaces if i.name == link.b_intf)
            if not self._wants_delay_line(link):
                net.addLink(a.name, b.name, port1=ia.port_no, port2=ib.port_no, intfName1=ia.name, intfName2=ib.name,
                            addr1=ia.mac, addr2=ib.mac, cls=link_cls)
                continue
            line = delay_line_name(len(self.delay_lines) + 1)
            net.addHost(line, ip=None)
            self.delay_lines[index] = DelayLineProcess(line, f"{line}-eth1", f"{line}-eth2",
                                                       self._state_dir() / f"{line}.json", link=link.cloud_id)
            net.addLink(a.name, line, port1=ia.port_no, port2=1, intfName1=ia.name, intfName2=f"{line}-eth1",
                        addr1=ia.mac, cls=link_cls)
            net.addLink(line, b.name, port1=2, port2=ib.port_no, intfName1=f"{line}-eth2", intfName2=ib.name,
                        addr2=ib.mac, cls=link_cls)
        with larger_default_socket_buffers():
            net.build()
            net.start()
        self.pids = {name: net.get(name).pid for name in
                     [node.name for node in self.plan.nodes if node.dpid is None]
                     + [line.node for line in self.delay_lines.values()]}
        for node in self.plan.nodes:
            self._configure(node)
        for index, line in self.delay_lines.items():
            for intf in (line.facing_a, line.facing_b):
                for argv in shaping.offload_commands(intf) + [["ethtool", "-K", intf, "rxvlan", "off", "txvlan", "off"]]:
                    self.run_in(line.node, argv, check=False)
                self.run_in(line.node, ["ip", "link", "set", intf, "up"])
            line.start(self.pids[line.node], self.plan.links[index].impairment)
        self._shape()

    def node_pid(self, name: str) -> int:
        return self.pids[name]

    def run_in(self, name: str, argv: list[str], **kwargs):
        """Run `argv` in a Linux node's namespace (hosts, the customer device)."""
        return run(in_namespace(self.pids[name], argv), **kwargs)

    def _local(self, node: PlanNode, argv: list[str], **kwargs):
        if node.dpid is None:
            return self.run_in(node.name, argv, **kwargs)
        return run(argv, **kwargs)

    def _configure(self, node: PlanNode) -> None:
        for intf in node.interfaces:
            for argv in shaping.offload_commands(intf.name):
                if self._local(node, argv, check=False).returncode != 0:
                    LOG.warning("could not disable offloads on %s", intf.name)
        if node.dpid is not None:
            return
        self.run_in(node.name, ["ip", "link", "set", "lo", "up"])
        bridged = set()
        for bridge in node.bridges:
            self.run_in(node.name, ["ip", "link", "add", "name", bridge.name, "type", "bridge"])
            for member in bridge.members:
                self.run_in(node.name, ["ip", "link", "set", member, "master", bridge.name])
                bridged.add(member)
            self.run_in(node.name, ["ip", "addr", "add", bridge.address, "dev", bridge.name])
            self.run_in(node.name, ["ip", "link", "set", bridge.name, "up"])
        for intf in node.interfaces:
            if intf.address is not None and intf.name not in bridged:
                self.run_in(node.name, ["ip", "addr", "flush", "dev", intf.name])
                self.run_in(node.name, ["ip", "addr", "add", intf.address, "dev", intf.name])
            self.run_in(node.name, ["ip", "link", "set", intf.name, "up"])
        if node.kind is NodeKind.LINUX_ROUTER:
            self.run_in(node.name, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            # A line whose carrier is gone takes its routes with it (a floating static route takes over), as a
            # router's routing table does when the interface goes down.
            self.run_in(node.name, ["sysctl", "-q", "-w", "net.ipv4.conf.all.ignore_routes_with_linkdown=1"])
        # Let every router and host answer each traceroute probe (the default limits ICMP to 1/s).
        self.run_in(node.name, ["sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0"])
        for route in node.linux_routes:
            self.run_in(node.name, ["ip", "route", "replace", *route.argv()])

    def _state_dir(self) -> Path:
        if self.state_dir is None:
            raise RuntimeFailure("a delay line needs a directory for its parameters (EmulatedNetwork.state_dir)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.state_dir

    def _shape(self) -> None:
        for link in self.plan.links:
            if link.bandwidth_mbps or (self.environment.netem and not link.impairment.ideal):
                self.shape_link(link, link.bandwidth_mbps)

    def shape_link(self, link: PlanLink, rate_mbps: int | None) -> None:
        """Set both ends' egress of `link`: HTB at `rate_mbps` (None: unshaped) and netem for its impairment."""
        netem = self.environment.netem
        for node_name, intf in ((link.a_node, link.a_intf), (link.b_node, link.b_intf)):
            node = self.plan.node(node_name)
            self._local(node, shaping.clear_command(intf), check=False)
            for argv in impairment.egress_commands(intf, rate_mbps, link.impairment, netem):
                self._local(node, argv)

    def set_impairment(self, index: int, link: PlanLink) -> None:
        """Carry link `index`'s new delay, jitter and loss into the running network (within milliseconds)."""
        line = self.delay_lines.get(index)
        if line is not None:
            line.change(link.impairment)
        elif self.environment.netem:
            self.shape_link(link, link.bandwidth_mbps)
        elif not link.impairment.ideal:
            raise RuntimeFailure(f"{link.cloud_id} was built without a delay line and this kernel has no sch_netem",
                                 fix="start the lab again: it builds every leased line with a delay line")

    def update(self, new: Plan) -> None:
        """Carry a changed plan (same structure) into the running network: Linux routes and link states.

        The OpenFlow side follows through the controller, which watches the plan file.
        """
        old, self.plan = self.plan, new
        for before, after in zip(old.nodes, new.nodes, strict=True):
            if after.dpid is not None or before.linux_routes == after.linux_routes:
                continue
            for route in set(before.linux_routes) - set(after.linux_routes):
                self.run_in(after.name, ["ip", "route", "del", *route.argv()], check=False)
            for route in after.linux_routes:
                self.run_in(after.name, ["ip", "route", "replace", *route.argv()])
        for index, (before, after) in enumerate(zip(old.links, new.links, strict=True)):
            if before.active != after.active and after.kind is LinkKind.LEASED_LINE:
                self.set_carrier(after, after.active)
            if before.impairment != after.impairment:
                self.set_impairment(index, after)

    def set_carrier(self, link: PlanLink, up: bool) -> None:
        """The provider's end of the link goes down or up: the customer's device sees its carrier go."""
        state = "up" if up else "down"
        line = self.delay_lines.get(self.plan.links.index(link))
        if line is not None:     # the line must forward: one that died is started again, or this fails
            line.ensure_running()
        self._local(self.plan.node(link.b_node), ["ip", "link", "set", "dev", link.b_intf, state])
        if line is not None:     # the delay line passes the carrier on, as the fibre would
            self.run_in(line.node, ["ip", "link", "set", "dev", line.facing_a, state])

    def stop_delay_lines(self) -> dict[str, dict | None]:
        """Stop every delay line; their counters by link (frames received, dropped, sent), for the report."""
        counters = {}
        for index, line in self.delay_lines.items():
            line.stop()
            counters[self.plan.links[index].cloud_id or line.node] = line.counters
        return counters

    def stop(self) -> None:
        if self.net is None:
            return
        self.stop_delay_lines()
        net, self.net = self.net, None
        for node in net.values():
            if getattr(node, "waiting", False):     # a command left running from the lab's shell
                node.sendInt()
                node.waitOutput()
        try:
            net.stop()
        except Exception as exc:  # teardown goes on: the runner's sweep removes what is left
            raise RuntimeFailure(f"Mininet could not stop cleanly: {exc!r}") from exc
