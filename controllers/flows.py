"""Pure: a plan node (cloud router or access point) -> the OpenFlow 1.3 flows it needs.

Flows are plain values; cloud_router.py turns them into os-ken messages and is
the only place that sends. FAUCET's layout: longest-prefix match is
`priority = ROUTE_BASE + prefix length`.

Router pipeline
  table 0  classify: frames from a tagged port must carry its VLAN (popped here),
           untagged ports must be untagged; packets the controller injects
           (in_port=CONTROLLER) are routed like any other.
  table 1  route: ARP for a router address and IP to a router address go to the
           controller (ARP reply, ICMP echo), except TCP, which a VBR with BGP
           hands to its speaker's port; TTL <= 1 goes to the controller
           (ICMP time exceeded); then one flow per forwarding entry:
           decrement TTL, rewrite MACs, tag if the out port is tagged, output;
           an ECMP entry's flow decrements TTL, names its set of next hops in
           a register and lets OVS's multipath action pick one by a symmetric
           hash of the 5-tuple (TCP and UDP ports too) into another.
  table 100  ECMP: one flow per set and next hop, the next hop's actions.
Access point
  table 0  customer port -> push the VBR's VLAN -> trunk; trunk with that VLAN
           -> pop -> customer port.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from emulator.plan import PlanNode
from emulator.routing.model import NodeKind

OFPVID_PRESENT = 0x1000
OFPVID_NONE = 0x0000
OFPP_CONTROLLER = 0xFFFFFFFD
ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_8021Q = 0x8100
ARP_REQUEST = 1

CLASSIFY_TABLE = 0
ROUTE_TABLE = 1
ECMP_TABLE = 100             # after every route table (ROUTE_TABLE + 1 + one per transit group): goto goes forward

PRIO_CLASSIFY = 100
PRIO_ARP_FOR_ROUTER = 3000
PRIO_TCP_FOR_SPEAKER = 2950  # TCP to the router's own address: its BGP speaker (any TTL: eBGP sends TTL 1)
PRIO_BFD_FROM_SPEAKER = 2960  # the speaker's BFD to the customer device: out untouched (RFC 5881: TTL 255)
PRIO_IP_FOR_ROUTER = 2900
PRIO_TTL_EXPIRED = 2800
LOCAL_ROUTE_BASE = 2000      # local routes win over any other, whatever the prefix length
PRIO_NO_TRANSIT = 1500       # from a VPC peering port: local routes only
ROUTE_BASE = 1000

Action = tuple[Any, ...]
MATCH_FIELD_ORDER = ("in_port", "eth_type", "vlan_vid", "arp_op", "arp_tpa", "ip_proto", "ipv4_dst", "udp_dst",
                     "nw_ttl", "ecmp_set", "ecmp_link")
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17
BFD_PORT = 3784              # RFC 5881: single-hop BFD control packets


@dataclass(frozen=True)
class EcmpSet:
    """The next hops of an ECMP entry: one list of actions (a bucket) per next hop.

    Not an OpenFlow select group: OVS's kernel datapath picks a select group's bucket by the packet's skb hash,
    which for a local TCP socket is random per connection, so one 5-tuple could change lines between two sockets
    (seen on Debian's stock kernel). OVS's `multipath` action hashes the 5-tuple itself, the same way on every
    datapath, as the provider's routers do. `index` is unique in its node; the controller tags it with the plan's
    generation (the register value the flows match), so two generations never share a set."""

    index: int
    buckets: tuple[tuple[Action, ...], ...]


@dataclass(frozen=True)
class Flow:
    table: int
    priority: int
    match: tuple[tuple[str, Any], ...]
    actions: tuple[Action, ...] = ()
    goto: int | None = None

    def match_dict(self) -> dict[str, Any]:
        return dict(self.match)

    def ordered_match(self) -> list[tuple[str, Any]]:
        """Match fields with OpenFlow prerequisites first (eth_type before IP, ARP and TTL fields)."""
        return sorted(self.match, key=lambda item: MATCH_FIELD_ORDER.index(item[0]))


def _match(**fields: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(fields.items()))


def flows_for(node: PlanNode) -> list[Flow]:
    if node.kind is NodeKind.ACCESS_POINT:
        return access_point_flows(node)
    if node.kind is NodeKind.CLOUD_ROUTER:
        return router_flows(node)
    raise ValueError(f"{node.name} is a {node.kind}, not an OpenFlow node")


def access_point_flows(node: PlanNode) -> list[Flow]:
    flows = []
    for customer, trunk, vlan in node.vlan_pairs:
        flows.append(Flow(CLASSIFY_TABLE, PRIO_CLASSIFY, _match(in_port=customer, vlan_vid=OFPVID_NONE),
                          (("push_vlan", ETH_TYPE_8021Q), ("set_field", "vlan_vid", OFPVID_PRESENT | vlan),
                           ("output", trunk))))
        flows.append(Flow(CLASSIFY_TABLE, PRIO_CLASSIFY, _match(in_port=trunk, vlan_vid=OFPVID_PRESENT | vlan),
                          (("pop_vlan",), ("output", customer))))
    return flows


def route_tables(node: PlanNode) -> dict[str, int]:
    """Transit group -> its route table. Ports without a group, and replies injected by the controller, use
    ROUTE_TABLE; each group (Express Connect: router interfaces, leased lines) gets a table of its own whose routes
    never lead out by a port of the same group."""
    groups = sorted({intf.transit_group for intf in node.interfaces if intf.transit_group})
    return {"": ROUTE_TABLE, **{group: ROUTE_TABLE + 1 + index for index, group in enumerate(groups)}}


def router_flows(node: PlanNode) -> list[Flow]:
    tables = route_tables(node)
    flows: list[Flow] = []
    for intf in node.interfaces:
        table = tables[intf.transit_group]
        if intf.vlan is not None:
            flows.append(Flow(CLASSIFY_TABLE, PRIO_CLASSIFY,
                              _match(in_port=intf.port_no, vlan_vid=OFPVID_PRESENT | intf.vlan),
                              (("pop_vlan",),), goto=table))
        else:
            flows.append(Flow(CLASSIFY_TABLE, PRIO_CLASSIFY, _match(in_port=intf.port_no, vlan_vid=OFPVID_NONE),
                              goto=table))
    flows.append(Flow(CLASSIFY_TABLE, PRIO_CLASSIFY, _match(in_port=OFPP_CONTROLLER), goto=ROUTE_TABLE))
    for group, table in tables.items():
        flows += _route_table(node, table, group)
    for ecmp in ecmp_sets_for(node):
        for link, bucket in enumerate(ecmp.buckets):
            flows.append(Flow(ECMP_TABLE, PRIO_CLASSIFY, _match(ecmp_set=ecmp.index, ecmp_link=link), bucket))
    return flows


def _route_table(node: PlanNode, table: int, group: str) -> list[Flow]:
    """The routing table for packets that entered by a port of `group` ("" : no group)."""
    flows: list[Flow] = []
    router_ips: set[str] = set()
    for intf in node.interfaces:
        if intf.address is None:
            continue
        ip = str(IPv4Interface(intf.address).ip)
        router_ips.add(ip)
        if intf.transit_group == group:
            flows.append(Flow(table, PRIO_ARP_FOR_ROUTER,
                              _match(in_port=intf.port_no, eth_type=ETH_TYPE_ARP, arp_op=ARP_REQUEST, arp_tpa=ip),
                              (("controller",),)))
    for ip in sorted(router_ips):
        flows.append(Flow(table, PRIO_IP_FOR_ROUTER, _match(eth_type=ETH_TYPE_IP, ipv4_dst=ip), (("controller",),)))
        for address, port, mac in node.speakers:
            if address == ip:
                flows.append(Flow(table, PRIO_TCP_FOR_SPEAKER,
                                  _match(eth_type=ETH_TYPE_IP, ip_proto=IP_PROTO_TCP, ipv4_dst=ip),
                                  (("set_field", "eth_dst", mac), ("output", port))))
                flows.append(Flow(table, PRIO_TCP_FOR_SPEAKER,
                                  _match(eth_type=ETH_TYPE_IP, ip_proto=IP_PROTO_UDP, ipv4_dst=ip, udp_dst=BFD_PORT),
                                  (("set_field", "eth_dst", mac), ("output", port))))
    if not group:
        flows += _bfd_from_speakers(node, table)
    for ttl in (0, 1):
        flows.append(Flow(table, PRIO_TTL_EXPIRED, _match(eth_type=ETH_TYPE_IP, nw_ttl=ttl), (("controller",),)))

    for intf in node.interfaces:
        if not intf.transit and intf.transit_group == group:
            flows.append(Flow(table, PRIO_NO_TRANSIT, _match(in_port=intf.port_no, eth_type=ETH_TYPE_IP), ()))

    by_port = {intf.port_no: intf for intf in node.interfaces}
    sets = {ecmp.buckets: ecmp.index for ecmp in ecmp_sets_for(node)}
    for entry in node.forwarding:
        prefix = IPv4Network(entry.prefix)
        match = _match(eth_type=ETH_TYPE_IP, ipv4_dst=(str(prefix.network_address), str(prefix.netmask)))
        priority = (LOCAL_ROUTE_BASE if entry.local else ROUTE_BASE) + prefix.prefixlen
        hops = entry.ecmp or ((entry.port_no, entry.dst_mac),)
        buckets = tuple(_next_hop_actions(by_port[port], mac) for port, mac in hops
                        if port is not None and mac is not None and port in by_port
                        and not (group and by_port[port].transit_group == group))
        if not buckets:
            flows.append(Flow(table, priority, match, ()))     # drop: local without host, inactive, not transitive
        elif len(buckets) == 1:
            flows.append(Flow(table, priority, match, (("dec_ttl",), *buckets[0])))
        else:
            flows.append(Flow(table, priority, match, (("dec_ttl",), ("multipath", sets[buckets], len(buckets))),
                              goto=ECMP_TABLE))
    return flows


def _bfd_from_speakers(node: PlanNode, table: int) -> list[Flow]:
    """A speaker's BFD packets leave for the customer device without a TTL decrement: single-hop BFD must arrive
    with TTL 255 (RFC 5881), and the speaker stands for the router itself."""
    flows = []
    by_port = {intf.port_no: intf for intf in node.interfaces}
    for address, port, _mac in node.speakers:
        line = next((i for i in node.interfaces if i.address and str(IPv4Interface(i.address).ip) == address), None)
        if line is None:
            continue
        for entry in node.forwarding:
            if (entry.local and entry.prefix.endswith("/32") and entry.port_no == line.port_no
                    and entry.dst_mac is not None):
                flows.append(Flow(table, PRIO_BFD_FROM_SPEAKER,
                                  _match(in_port=port, eth_type=ETH_TYPE_IP, ip_proto=IP_PROTO_UDP,
                                         ipv4_dst=entry.prefix.split("/")[0], udp_dst=BFD_PORT),
                                  _next_hop_actions(by_port[line.port_no], entry.dst_mac)))
    return flows


def _next_hop_actions(out, mac: str) -> tuple[Action, ...]:
    """Rewrite the MACs for the next hop, tag if its port is tagged, send."""
    actions: list[Action] = [("set_field", "eth_src", out.mac), ("set_field", "eth_dst", mac)]
    if out.vlan is not None:
        actions += [("push_vlan", ETH_TYPE_8021Q), ("set_field", "vlan_vid", OFPVID_PRESENT | out.vlan)]
    actions.append(("output", out.port_no))
    return tuple(actions)


def ecmp_sets_for(node: PlanNode) -> list[EcmpSet]:
    """The sets a router's ECMP entries need: one per distinct list of buckets, in every routing table (an entry's
    next hops of the ingress port's own transit group are left out of that table's set)."""
    if node.kind is not NodeKind.CLOUD_ROUTER:
        return []
    by_port = {intf.port_no: intf for intf in node.interfaces}
    found: dict[tuple[tuple[Action, ...], ...], int] = {}
    for ingress in route_tables(node):
        for entry in node.forwarding:
            buckets = tuple(_next_hop_actions(by_port[port], mac) for port, mac in entry.ecmp
                            if port in by_port and not (ingress and by_port[port].transit_group == ingress))
            if len(buckets) > 1 and buckets not in found:
                found[buckets] = len(found)
    return [EcmpSet(index, buckets) for buckets, index in found.items()]


def lookup(flows: list[Flow], table: int, packet: dict[str, Any]) -> Flow | None:
    """A small fake flow table for tests: the highest-priority flow of `table` matching `packet`.

    `packet` holds exact field values (ipv4_dst as a dotted string); masked
    ipv4_dst matches compare the network.
    """
    best: Flow | None = None
    for flow in flows:
        if flow.table != table:
            continue
        ok = True
        for name, want in flow.match:
            have = packet.get(name)
            if name == "ipv4_dst" and isinstance(want, tuple):
                ok = have is not None and IPv4Address(have) in IPv4Network(f"{want[0]}/{want[1]}")
            else:
                ok = have == want
            if not ok:
                break
        if ok and (best is None or flow.priority > best.priority):
            best = flow
    return best
