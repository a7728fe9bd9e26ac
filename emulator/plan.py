"""Turn the layer-3 network into a build plan: Linux names, MACs, port numbers, datapath IDs.

The plan is pure and serialisable (JSON): the runtime replays it with Mininet
and the controller reads it to program every OpenFlow bridge. Cloud IDs such as
vbr-12345678 are too long for Linux (15 characters), so nodes get short names
(cevbr1) and every report shows both.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from ipaddress import IPv4Network
from typing import Any

from emulator.errors import EmulatorError
from emulator.impairment import Impairment
from emulator.routing.model import PRIORITY_STATIC, LinkKind, Network, Node, NodeKind, RouteKind, preference
from emulator.routing.reachability import neighbour, neighbours

NAME_PREFIX = "ce"          # every node, and so every interface and bridge, the emulator creates
LINUX_NAME_MAX = 15

_SHORT = {"IDC server": "srv", "ECS instance": "ecs", "VM instance": "vm", "access device": "cpe",
          "access point": "ap", "BGP speaker": "bgp", "VBR": "vbr", "VRouter": "vr", "VPC router": "vr", "border gateway": "bgw",
          "health check": "hc"}
# A role a provider words its own way (a third provider's "Cloud router") is named by what the node is, never a
# KeyError: a provider's words are its own module's business.
_KIND_SHORT = {NodeKind.HOST: "h", NodeKind.LINUX_ROUTER: "cpe", NodeKind.CLOUD_ROUTER: "rt",
               NodeKind.ACCESS_POINT: "ap", NodeKind.BGP_SPEAKER: "bgp", NodeKind.HEALTH_PROBER: "hc"}
DELAY_LINE_SHORT = "dl"     # the runtime's delay lines (cedl1, ...), spliced into impaired links without netem
SHORT_KINDS = tuple(sorted(set(_SHORT.values()) | set(_KIND_SHORT.values()) | {DELAY_LINE_SHORT}))


@dataclass(frozen=True)
class PlanInterface:
    name: str                 # Linux interface name, <node>-eth<port>
    port_no: int              # OpenFlow port number on bridges
    mac: str
    logical: str              # the logical port it implements (ri-AAA, pc-AAA, lan0)
    address: str | None = None
    vlan: int | None = None
    transit: bool = True      # False for VPC peering: what enters here is only delivered locally
    transit_group: str = ""   # Express Connect: never forwarded to another port of the same group


@dataclass(frozen=True)
class ForwardingEntry:
    """One longest-prefix-match entry of an OpenFlow router: out port and next-hop MAC, or drop."""

    prefix: str
    port_no: int | None
    dst_mac: str | None
    why: str = ""
    local: bool = False       # a local route: preferred over any non-local one, whatever the prefix length
    # An ECMP route with two or more usable next hops: every (port, next-hop MAC), flows spread by hash over them
    ecmp: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class LinuxRoute:
    prefix: str
    via: str
    dev: str
    metric: int = 0

    def argv(self) -> list[str]:
        """`ip route` arguments after the verb: Linux tells routes to one prefix apart by their metric."""
        return [self.prefix, "via", self.via, "dev", self.dev, *(["metric", str(self.metric)] if self.metric else [])]


@dataclass(frozen=True)
class LinuxBridge:
    name: str
    address: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class PlanNode:
    name: str
    id: str
    kind: NodeKind
    role: str
    label: str
    dpid: str | None = None
    interfaces: tuple[PlanInterface, ...] = ()
    forwarding: tuple[ForwardingEntry, ...] = ()
    linux_routes: tuple[LinuxRoute, ...] = ()
    bridges: tuple[LinuxBridge, ...] = ()
    vlan_pairs: tuple[tuple[int, int, int], ...] = ()   # access point: (customer port, trunk port, VLAN)
    # A cloud router with BGP: (its address on the line, the port to that address's speaker, the speaker's MAC)
    speakers: tuple[tuple[str, int, str], ...] = ()

    def interface(self, logical: str) -> PlanInterface:
        return next(i for i in self.interfaces if i.logical == logical)


@dataclass(frozen=True)
class PlanLink:
    a_node: str
    a_intf: str
    b_node: str
    b_intf: str
    kind: LinkKind
    cloud_id: str = ""
    bandwidth_mbps: int | None = None
    active: bool = True
    vlan: int | None = None
    impairment: Impairment = Impairment()


@dataclass(frozen=True)
class Plan:
    scenario: str
    nodes: tuple[PlanNode, ...]
    links: tuple[PlanLink, ...]
    hosts: tuple[str, ...] = field(default=())     # cloud IDs of the hosts, in scenario order
    generation: int = 1                            # bumped by every live change; the flows' cookie

    def node(self, name_or_id: str) -> PlanNode:
        return next(n for n in self.nodes if name_or_id in (n.name, n.id))

    def switches(self) -> list[PlanNode]:
        return [n for n in self.nodes if n.dpid is not None]

    def structure(self) -> tuple:
        """What a live change cannot alter without a rebuild: nodes, interfaces, links (not their state, delay or loss;
        nor an access point's VLAN pairs, which are only flows: a line that fails silently passes none)."""
        return (tuple((n.name, n.id, n.kind, n.dpid, n.interfaces, n.bridges) for n in self.nodes),
                tuple(replace(link, active=True, impairment=None) for link in self.links))

    def structure_change(self, before: "Plan") -> str:
        """Why this plan needs a rebuild after `before`, in the console's words: what it adds or removes."""
        return _structure_change(before, self)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        raw = json.loads(text)
        return cls(scenario=raw["scenario"], hosts=tuple(raw["hosts"]), generation=raw.get("generation", 1),
                   nodes=tuple(_node_from(n) for n in raw["nodes"]),
                   links=tuple(replace(PlanLink(**link), kind=LinkKind(link["kind"]),
                                       impairment=Impairment.from_json(link.get("impairment")))
                               for link in raw["links"]))


def _node_from(raw: dict[str, Any]) -> PlanNode:
    return PlanNode(
        name=raw["name"], id=raw["id"], kind=NodeKind(raw["kind"]), role=raw["role"], label=raw["label"], dpid=raw["dpid"],
        interfaces=tuple(PlanInterface(**i) for i in raw["interfaces"]),
        forwarding=tuple(ForwardingEntry(**{**f, "ecmp": tuple(tuple(hop) for hop in f.get("ecmp", ()))})
                         for f in raw["forwarding"]),
        linux_routes=tuple(LinuxRoute(**r) for r in raw["linux_routes"]),
        bridges=tuple(LinuxBridge(name=b["name"], address=b["address"], members=tuple(b["members"]))
                      for b in raw["bridges"]),
        vlan_pairs=tuple(tuple(p) for p in raw["vlan_pairs"]),  # type: ignore[misc]
        speakers=tuple(tuple(x) for x in raw.get("speakers", ())))  # type: ignore[misc]


def mac_for(node_index: int, port_no: int) -> str:
    """Locally administered, unique per (node, port), stable across runs."""
    return f"02:ce:{node_index >> 8 & 0xff:02x}:{node_index & 0xff:02x}:{port_no >> 8 & 0xff:02x}:{port_no & 0xff:02x}"


def dpid_for(node_index: int) -> str:
    return f"ce{node_index:014x}"


def make_plan(network: Network, scenario: str, generation: int = 1) -> Plan:
    names: dict[str, str] = {}
    counters: dict[str, int] = {}
    for node in network.nodes.values():
        short = _SHORT.get(node.role) or _KIND_SHORT[node.kind]
        counters[short] = counters.get(short, 0) + 1
        names[node.id] = f"{NAME_PREFIX}{short}{counters[short]}"

    # Port numbers and interface names: one interface per link end.
    interfaces: dict[str, list[PlanInterface]] = {node_id: [] for node_id in network.nodes}
    end_intf: dict[tuple[str, str, str], PlanInterface] = {}
    for index, node_id in enumerate(network.nodes, start=1):
        node = network.nodes[node_id]
        for port in node.ports:
            for link in network.links_at(node_id, port.name):
                port_no = len(interfaces[node_id]) + 1
                intf = PlanInterface(name=f"{names[node_id]}-eth{port_no}", port_no=port_no, mac=mac_for(index, port_no),
                                     logical=port.name, address=str(port.address) if port.address else None,
                                     vlan=port.vlan, transit=port.transit, transit_group=port.transit_group)
                if len(intf.name) > LINUX_NAME_MAX:
                    raise EmulatorError(f"interface name {intf.name} is longer than {LINUX_NAME_MAX} characters",
                                        fix="the scenario has too many nodes of one kind")
                interfaces[node_id].append(intf)
                end_intf[(node_id, port.name, link.id)] = intf

    links = []
    for link in network.links:
        a = end_intf[(link.a[0], link.a[1], link.id)]
        b = end_intf[(link.b[0], link.b[1], link.id)]
        links.append(PlanLink(a_node=names[link.a[0]], a_intf=a.name, b_node=names[link.b[0]], b_intf=b.name,
                              kind=link.kind, cloud_id=link.cloud_id, bandwidth_mbps=link.bandwidth_mbps,
                              active=link.active, vlan=link.vlan, impairment=link.impairment))

    nodes = []
    for index, (node_id, node) in enumerate(network.nodes.items(), start=1):
        mine = interfaces[node_id]
        if node.kind in (NodeKind.CLOUD_ROUTER, NodeKind.ACCESS_POINT):
            vlan_pairs = tuple((_port_no(mine, cust), _port_no(mine, trunk), vlan)
                               for cust, trunk, vlan in node.vlan_pairs)
            forwarding = _forwarding(network, node, mine, end_intf) if node.kind is NodeKind.CLOUD_ROUTER else ()
            nodes.append(PlanNode(name=names[node_id], id=node_id, kind=node.kind, role=node.role,
                                  label=node.label, dpid=dpid_for(index), interfaces=tuple(mine),
                                  forwarding=forwarding, vlan_pairs=vlan_pairs,
                                  speakers=_speakers(network, node_id, mine, end_intf)))
        else:
            bridges, routes = _linux_config(node, mine)
            nodes.append(PlanNode(name=names[node_id], id=node_id, kind=node.kind, role=node.role,
                                  label=node.label, interfaces=tuple(mine), linux_routes=routes, bridges=bridges))
    return Plan(scenario=scenario, nodes=tuple(nodes), links=tuple(links), hosts=network.hosts, generation=generation)


def _speakers(network: Network, node_id: str, mine: list[PlanInterface],
              end_intf: dict[tuple[str, str, str], PlanInterface]) -> tuple[tuple[str, int, str], ...]:
    """Each BGP speaker behind a cloud router: the address it answers for, the port towards it, its MAC (TCP to
    that address goes there)."""
    found = []
    for link in network.links:
        if link.kind is LinkKind.BGP_SPEAKER and link.a[0] == node_id:
            address = network.nodes[link.b[0]].port(link.b[1]).address
            assert address is not None
            found.append((str(address.ip), _port_no(mine, link.a[1]), end_intf[(link.b[0], link.b[1], link.id)].mac))
    return tuple(found)


def _port_no(interfaces: list[PlanInterface], logical: str) -> int:
    return next(i.port_no for i in interfaces if i.logical == logical)


def _linux_config(node: Node, mine: list[PlanInterface]) -> tuple[tuple[LinuxBridge, ...], tuple[LinuxRoute, ...]]:
    """Bridges for logical ports with several links (an IDC LAN), and routes by device name."""
    bridges = []
    device_of: dict[str, str] = {}
    for port in node.ports:
        members = [i.name for i in mine if i.logical == port.name]
        if len(members) > 1:
            bridge = LinuxBridge(name=f"br{len(bridges)}", address=str(port.address), members=tuple(members))
            bridges.append(bridge)
            device_of[port.name] = bridge.name
        elif members:
            device_of[port.name] = members[0]
    # BGP routes are the node's FRR's to install, not the runtime's.
    routes = tuple(LinuxRoute(prefix=str(r.prefix), via=str(r.next_hop), dev=device_of[r.port],
                              metric=r.priority - PRIORITY_STATIC if r.kind is RouteKind.STATIC else 0)
                   for r in node.routes if r.next_hop is not None and r.port in device_of and r.kind is not RouteKind.BGP)
    return tuple(bridges), routes


def _forwarding(network: Network, node: Node, mine: list[PlanInterface],
                end_intf: dict[tuple[str, str, str], PlanInterface]) -> tuple[ForwardingEntry, ...]:
    """Resolve each route to (out port, next-hop MAC) with the MACs the plan assigned; unusable routes drop."""

    resolved_before: dict[tuple[str, object], tuple[int, str] | None] = {}

    def resolve(port_name: str, ip) -> tuple[int, str] | None:
        """Kept per (port, next hop): a VPC's 249 routes learnt from one border gateway share one."""
        key = (port_name, ip)
        if key not in resolved_before:
            resolved_before[key] = _resolve(port_name, ip)
        return resolved_before[key]

    def _resolve(port_name: str, ip) -> tuple[int, str] | None:
        found = neighbour(network, node.id, port_name, ip)
        if found is None:
            return None
        (far_node, far_port), via = found
        if not all(link.active for link in via):
            return None
        link_ids = [link.id for link in network.links_at(far_node, far_port)]
        far = end_intf[(far_node, far_port, link_ids[0])]
        return _port_no(mine, port_name), far.mac

    entries: dict[IPv4Network, ForwardingEntry] = {}

    def add(prefix: IPv4Network, resolved: tuple[int, str] | None, why: str, local: bool,
            ecmp: tuple[tuple[int, str], ...] = ()) -> None:
        if prefix in entries:
            return
        port_no, mac = resolved if resolved else (None, None)
        entries[prefix] = ForwardingEntry(prefix=str(prefix), port_no=port_no, dst_mac=mac, why=why, local=local,
                                          ecmp=ecmp if len(ecmp) > 1 else ())

    # Preferred routes first, so that for one prefix the static entry wins over the propagated one; of an ECMP
    # entry's next hops, the usable ones first.
    routes = sorted((r for r in node.routes if r.valid), key=preference)
    ecmp_members: dict[tuple[IPv4Network, object], list] = {}     # one pass, not one per route (was quadratic)
    for r in routes:
        if r.ecmp and r.usable and r.port is not None:
            ecmp_members.setdefault((r.prefix, r.rank), []).append(r)
    for route in routes:
        if route.ecmp and route.usable and route.port is not None and route.prefix not in entries:
            members = ecmp_members[(route.prefix, route.rank)]
            hops = [(r, resolve(r.port, r.next_hop or r.prefix.network_address)) for r in members]
            hops = [(r, found) for r, found in hops if found is not None]
            if hops:
                add(route.prefix, hops[0][1], "ECMP -> " + ", ".join(r.target for r, _found in hops), route.local,
                    tuple(found for _r, found in hops))
    for route in routes:
        if route.kind is RouteKind.CONNECTED and route.port is not None:
            for (far_node, far_port), _links in neighbours(network, node.id, route.port):
                address = network.nodes[far_node].port(far_port).address
                if address is not None:
                    add(IPv4Network(f"{address.ip}/32"), resolve(route.port, address.ip), f"neighbour on {route.port}",
                        True)
            add(route.prefix, None, f"connected {route.port}, no other neighbour", True)
        elif route.port is None or not route.usable:
            add(route.prefix, None, f"{route.kind.value} {route.target}: " + ("not active" if not route.usable else "local"),
                route.local)
        else:
            target = route.next_hop or route.prefix.network_address
            resolved = resolve(route.port, target)
            add(route.prefix, resolved, f"{route.kind.value} -> {route.target}" if resolved else "next hop not found",
                route.local)
    return tuple(entries.values())


_NAMED_LINKS = {LinkKind.LEASED_LINE: ("leased line", "leased lines"),
                LinkKind.LEASED_LINE_TRUNK: ("leased line", "leased lines"),
                LinkKind.ROUTER_INTERFACE: ("router interface pair", "router interface pairs"),
                LinkKind.VSWITCH: ("vSwitch", "vSwitches"), LinkKind.ATTACHMENT: ("attachment", "attachments"),
                LinkKind.PEERING: ("peering", "peerings")}
_HELPERS = (NodeKind.ACCESS_POINT, NodeKind.BGP_SPEAKER, NodeKind.HEALTH_PROBER)   # their labels name their owner


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _structure_change(before: Plan, after: Plan) -> str:
    """"adds VBR Line-1 (vbr-line1), its access point and leased line pc-AAA": nodes by their labels (a helper's
    internal ID left out), the cloud's links by their IDs, one kind together."""
    def nodes(plan: Plan) -> dict[str, str]:
        return {n.id: n.label if n.label == n.id or n.kind in _HELPERS else f"{n.label} ({n.id})"
                for n in plan.nodes}

    def links(plan: Plan) -> dict[str, LinkKind]:
        return {link.cloud_id: link.kind for link in plan.links if link.kind in _NAMED_LINKS and link.cloud_id}

    parts = []
    for verb, older, newer in (("adds", before, after), ("removes", after, before)):
        old_nodes, new_nodes = nodes(older), nodes(newer)
        things = [label for id_, label in new_nodes.items() if id_ not in old_nodes]
        old_links, new_links = links(older), links(newer)
        by_kind: dict[tuple[str, str], list[str]] = {}
        for id_, kind in new_links.items():
            if id_ not in old_links:
                by_kind.setdefault(_NAMED_LINKS[kind], []).append(id_)
        things += [f"{names[len(ids) > 1]} {_listed(ids)}" for names, ids in by_kind.items()]
        if things:
            parts.append(f"{verb} {_listed(things)}")
    return " and ".join(parts) or "changes the interfaces of its routers"
