"""The layer-3 picture of a scenario: nodes, ports, links and forwarding tables.

Plain frozen values derived from the control plane's state. A VBR, a VRouter
and (later) a border gateway are all CLOUD_ROUTER nodes that differ only in the
routes their rules produce; hosts and the customer's device are Linux nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from emulator.impairment import Impairment


PRIORITY_LOCAL = 0
PRIORITY_STATIC = 100
PRIORITY_PROPAGATED = 120
PRIORITY_BGP = 150          # a static route for the same prefix wins (the VBR's, and the kernel's metric 0 < 20)
NEXT_HOP_ATTACHMENT = 100   # JD border gateway: the next hop's type comes before the route's
NEXT_HOP_VIRTUAL_INTERFACE = 120


class NodeKind(str, Enum):
    HOST = "host"                    # IDC server or ECS instance
    LINUX_ROUTER = "linux_router"    # the customer's access device
    CLOUD_ROUTER = "cloud_router"    # VBR, VRouter: an OpenFlow router
    ACCESS_POINT = "access_point"    # where the leased line lands: adds the VBR's VLAN tag
    BGP_SPEAKER = "bgp_speaker"      # a cloud router's BGP (os-ken), reached through the router's own address
    HEALTH_PROBER = "health_prober"  # a VBR's health check: pings the customer side of its line


class RouteKind(str, Enum):
    """Where a route comes from; the console shows some of them under another name (report/terminal.py)."""

    CONNECTED = "connected"      # the subnet of one of the router's own ports
    LOCAL = "local"              # the VPC's own block or vSwitch (the provider's system route)
    HOST = "host"                # an instance behind its port (the emulator's plumbing)
    DEFAULT = "default"          # a host's default route
    STATIC = "static"            # the customer device's `ip route`
    CUSTOM = "custom"            # a route entry added by the user (the console's "custom")
    PROPAGATED = "propagated"    # learnt from a border gateway
    BGP = "bgp"                  # learnt over a BGP session (the VBR's, or the customer device's FRR)


class TransitGroup(str, Enum):
    """Express Connect is not transitive (its FAQ; VPC to VPC goes through VPC peering or CEN): a router forwards
    between a leased line and a router interface, never from one router interface to another (VPC to VPC through a
    VBR, IDC to IDC through a VPC) nor from one leased line to another."""

    NONE = ""
    ROUTER_INTERFACE = "router_interface"
    LEASED_LINE = "leased_line"


class LinkKind(str, Enum):
    LAN = "lan"
    LEASED_LINE = "leased_line"            # customer device <-> access point, shaped to the line's bandwidth
    LEASED_LINE_TRUNK = "leased_line_trunk"  # access point <-> VBR, 802.1Q tagged
    ROUTER_INTERFACE = "router_interface"  # a connected pair of router interfaces, shaped to the spec
    VSWITCH = "vswitch"                    # instance <-> its VRouter
    ATTACHMENT = "vpc_attachment"          # a VPC's router <-> its border gateway
    PEERING = "vpc_peering"                # two VPCs' routers, directly
    BGP_SPEAKER = "bgp_speaker"            # a cloud router <-> its BGP speaker (not a cloud link: its own CPU)
    HEALTH_PROBER = "health_prober"        # a VBR <-> its health check's prober (the provider's own probe)


@dataclass(frozen=True)
class Port:
    name: str                          # unique within its node, e.g. "ri-AAA", "pc-AAA", "i-vpcb-1"
    address: IPv4Interface | None = None
    vlan: int | None = None            # 802.1Q tag this port's frames carry on the wire
    label: str = ""
    transit: bool = True               # False for VPC peering: what enters here is only delivered locally
    transit_group: TransitGroup = TransitGroup.NONE   # what enters by it never leaves by a port of the same group


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    port: str | None                   # out port; None: local destination without a port (dropped)
    next_hop: IPv4Address | None       # None: the destination itself is on the link
    kind: RouteKind
    target: str = ""                   # what the user named: ri-BBB, pc-AAA, vsw-..., a gateway
    usable: bool = True                # False while the router interface is not Active
    table: str = ""
    priority: int = 0                  # 0 local (always first), 100 static, 120 propagated
    valid: bool = True                 # False: listed in the table but never used (an identical segment
                                       # propagated after another one: JD Cloud keeps the first)
    next_hop_rank: int = 0             # a JD border gateway compares the next hop's type before the route's:
                                       # VPC attachment 100, private virtual interface 120 (0 elsewhere)
    ecmp: bool = False                 # one next hop of an ECMP route entry: the plan spreads flows over those
                                       # of its usable next hops (OVS's multipath action)
    standby: bool = False              # the standby next hop of an active/standby entry (weight 0): used only
                                       # while the active one is not usable

    @property
    def rank(self) -> tuple[int, int]:
        """What decides between routes for the same prefix: lower first."""
        return (self.next_hop_rank, self.priority)

    @property
    def local(self) -> bool:
        return self.priority == PRIORITY_LOCAL


@dataclass(frozen=True)
class BgpView:
    """One BGP session seen from one side, for explanations: why it is down, or how to get a prefix over it."""

    neighbor: str                      # "vbr-12345678 (10.100.0.1)"
    problem: str = ""                  # why it is not Established ("" when it is)
    fix: str = ""
    advertise_fix: str = ""            # how the other side advertises a prefix; {prefix} is filled in
    discarded: tuple[IPv4Network, ...] = ()   # received beyond the per-peer limit and not installed
    limit: int = 0
    behind: tuple[IPv4Network, ...] = ()    # the blocks on that side (the IDC's, the VPCs')
    originates: tuple[IPv4Network, ...] = ()   # what this side advertises itself (it never installs those)


@dataclass(frozen=True)
class Node:
    id: str                            # the cloud or scenario ID (vbr-12345678, i-vpcb-1)
    kind: NodeKind
    role: str                          # VBR, VRouter, ECS instance, IDC server, access device, access point
    label: str
    account: str = ""
    owner: str = ""                    # whose route table: the VPC ID for a VRouter, the VBR ID for a VBR
    table: str = ""                    # that route table's ID
    ports: tuple[Port, ...] = ()
    routes: tuple[Route, ...] = ()
    vlan_pairs: tuple[tuple[str, str, int], ...] = ()  # access point: (customer port, trunk port, VLAN)
    bgp: tuple[BgpView, ...] = ()      # its BGP sessions (a VBR, the customer device)

    def port(self, name: str) -> Port:
        return self._ports_by_name[name]

    def owns(self, ip: IPv4Address) -> bool:
        return ip in self._addresses

    def best_route(self, destination: IPv4Address) -> Route | None:
        """best_route(self.routes, destination), through an index: a walk asks this once per hop and pair."""
        for table in self._route_index:
            for prefixlen in sorted(table, reverse=True):
                found = table[prefixlen].get(int(destination) >> (32 - prefixlen) if prefixlen else 0)
                if found is not None:
                    return found
        return None

    # Indexes of the frozen value, built on first use (a 250-VPC scenario walks 62,250 pairs).

    @cached_property
    def _ports_by_name(self) -> dict[str, Port]:
        ports: dict[str, Port] = {}
        for port in self.ports:
            ports.setdefault(port.name, port)
        return ports

    @cached_property
    def _addresses(self) -> frozenset[IPv4Address]:
        return frozenset(p.address.ip for p in self.ports if p.address is not None)

    @cached_property
    def _route_index(self) -> tuple[dict[int, dict[int, Route]], ...]:
        """(local routes, the others): prefix length -> network bits -> the preferred route, as best_route picks."""
        index: tuple[dict[int, dict[int, Route]], ...] = ({}, {})
        for route in self.routes:
            if not route.valid:
                continue
            length = route.prefix.prefixlen
            key = int(route.prefix.network_address) >> (32 - length) if length else 0
            same_prefix = index[0 if route.local else 1].setdefault(length, {})
            current = same_prefix.get(key)
            if current is None or _preference(route) < _preference(current):   # a tie: the first, as min()
                same_prefix[key] = route
        return index


@dataclass(frozen=True)
class Link:
    id: str
    kind: LinkKind
    a: tuple[str, str]                 # (node id, port name)
    b: tuple[str, str]
    bandwidth_mbps: int | None = None
    active: bool = True
    cloud_id: str = ""                 # pc-AAA, ri-AAA/ri-BBB
    vlan: int | None = None
    impairment: Impairment = Impairment()
    inactive: tuple[str, ...] = ()     # a router interface pair: the ends that are not Active (what to activate)

    def other_end(self, node: str, port: str) -> tuple[str, str] | None:
        if self.a == (node, port):
            return self.b
        if self.b == (node, port):
            return self.a
        return None


@dataclass(frozen=True)
class Network:
    nodes: dict[str, Node]
    links: tuple[Link, ...]
    hosts: tuple[str, ...] = field(default=())
    blocks: tuple[tuple[IPv4Network, str], ...] = ()   # (VPC or IDC CIDR, its ID): for suggested routes

    def links_at(self, node: str, port: str) -> list[Link]:
        return self._links_by_end.get((node, port), [])

    @cached_property
    def _links_by_end(self) -> dict[tuple[str, str], list[Link]]:
        ends: dict[tuple[str, str], list[Link]] = {}
        for link in self.links:
            ends.setdefault(link.a, []).append(link)
            if link.b != link.a:
                ends.setdefault(link.b, []).append(link)
        return ends

    def address_of(self, host: str) -> IPv4Address:
        node = self.nodes[host]
        address = next(p.address for p in node.ports if p.address is not None)
        return address.ip


def best_route(routes: tuple[Route, ...], destination: IPv4Address) -> Route | None:
    """The provider's preference: a local route first, then the longest prefix, then the rank (Route.rank)."""
    candidates = [route for route in routes if route.valid and destination in route.prefix]
    if not candidates:
        return None
    local = [route for route in candidates if route.local]
    return min(local or candidates, key=lambda route: (-route.prefix.prefixlen, *_preference(route)))



def preference(route: Route) -> tuple[int, int, bool, bool]:
    """Between routes for the same prefix: the rank, then (the next hops of one ECMP or active/standby entry) a
    usable one, then the active one before the standby."""
    return (*route.rank, not route.usable, route.standby)


_preference = preference
