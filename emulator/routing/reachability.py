"""Walk the forwarding tables hop by hop: the expected path, or where and why it breaks.

Reason codes follow cloud reachability analyzers: NO_ROUTE, INTERFACE_NOT_ACTIVE,
BLACKHOLE, LOOP, NO_RETURN_ROUTE, and NOT_TRANSITIVE (VPC peering carries no
transit traffic). The same walk gives the expected traceroute
hops (each router answers from the address of the port the probe came in on).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from emulator.routing.model import Link, LinkKind, Network, Node, NodeKind, Route, TransitGroup

MAX_HOPS = 32


@dataclass(frozen=True)
class Hop:
    node: str
    ingress: IPv4Address | None    # address of the port the packet entered by (None at the source)


@dataclass(frozen=True)
class Verdict:
    reached: bool
    dst: IPv4Address
    hops: tuple[Hop, ...]
    links: tuple[Link, ...] = ()
    code: str = "REACHABLE"
    hop: str = ""                  # node where the path breaks
    message: str = ""
    fix: str = ""

    def traceroute_hops(self) -> list[IPv4Address]:
        """What a traceroute along this path shows: each router's ingress address, then the destination."""
        return [hop.ingress for hop in self.hops[1:] if hop.ingress is not None]


@dataclass(frozen=True)
class PairResult:
    src: str
    dst: str
    reachable: bool
    forward: Verdict
    back: Verdict | None = None
    explanation: Verdict | None = field(default=None)
    answered_by: str | None = None   # the request reaches another host with the same address, which answers


def neighbours(network: Network, node: str, port: str) -> list[tuple[tuple[str, str], tuple[Link, ...]]]:
    """The (node, port) ends on the wire behind `port`, crossing access points (layer 2),
    each with the links crossed to reach it."""
    ends: list[tuple[tuple[str, str], tuple[Link, ...]]] = []
    for link in network.links_at(node, port):
        other = link.other_end(node, port)
        assert other is not None
        other_node = network.nodes[other[0]]
        if other_node.kind is not NodeKind.ACCESS_POINT:
            ends.append((other, (link,)))
            continue
        for customer, trunk, _vlan in other_node.vlan_pairs:
            if other[1] in (customer, trunk):
                far = trunk if other[1] == customer else customer
                ends += [(end, (link, *via)) for end, via in neighbours(network, other_node.id, far)]
    return ends


def neighbour(network: Network, node: str, port: str,
              ip: IPv4Address) -> tuple[tuple[str, str], tuple[Link, ...]] | None:
    """The (node, port) that owns `ip` on the wire behind `port`, and the links to it."""
    for end, via in neighbours(network, node, port):
        address = network.nodes[end[0]].port(end[1]).address
        if address is not None and address.ip == ip:
            return end, via
    return None


def _describe(link: Link) -> str:
    if link.kind in (LinkKind.LEASED_LINE, LinkKind.LEASED_LINE_TRUNK):
        return f"leased line {link.cloud_id}"
    if link.kind is LinkKind.ROUTER_INTERFACE:
        return f"router interface pair {link.cloud_id}"
    return f"link {link.id}"


def trace(network: Network, src: str, dst_ip: IPv4Address) -> Verdict:
    """Follow a packet from host `src` to `dst_ip`."""
    hops: list[Hop] = [Hop(src, None)]
    links: list[Link] = []
    current, ingress = src, ""
    seen: set[str] = set()

    def fail(code: str, message: str, fix: str) -> Verdict:
        return Verdict(False, dst_ip, tuple(hops), tuple(links), code, current, message, fix)

    while True:
        node = network.nodes[current]
        if node.owns(dst_ip):
            return Verdict(True, dst_ip, tuple(hops), tuple(links))
        if current in seen or len(hops) > MAX_HOPS:
            return fail("LOOP", f"the packet to {dst_ip} comes back to {current}: the routes form a loop",
                        f"check the route entries for {dst_ip} on the routers of this path")
        seen.add(current)
        route = node.best_route(dst_ip)
        problem = _route_problem(network, node, ingress, route, dst_ip, hops)
        if problem is not None:
            return fail(*problem)
        assert route is not None and route.port is not None
        found = neighbour(network, current, route.port, route.next_hop or dst_ip)
        if found is None:
            return fail("BLACKHOLE", f"{node.role} {current}: next hop {route.next_hop or dst_ip} for {route.prefix} "
                        f"is not on the link behind {route.port}",
                        f"point the route at an address reachable on {route.port}")
        (current, ingress), via = found
        links += via
        address = network.nodes[current].port(ingress).address
        hops.append(Hop(current, address.ip if address else None))


def _route_problem(network: Network, node: Node, ingress: str, route: Route | None, dst_ip: IPv4Address,
                   hops: list[Hop]) -> tuple[str, str, str] | None:
    """Why `route` cannot carry the packet on from `node`, as (code, message, fix), or None."""
    where = f"{node.role} {node.id}"
    if route is None:
        table = node.table or f"{node.id}'s routing table"
        if any(dst_ip in block for view in node.bgp for block in view.behind):
            return _no_bgp_route(network, node, where, table, dst_ip)
        limited = _limit_upstream(network, node, dst_ip)
        if limited is not None:
            upstream, view, lost = limited
            return ("BGP_ROUTE_LIMIT", f"{where}: no route to {dst_ip} in {table}: {upstream.role} {upstream.id} "
                    f"would propagate it, but {view.neighbor} advertised {lost} there and {upstream.id} keeps at most "
                    f"{view.limit} learned routes from it (it discarded {len(view.discarded)})",
                    f"advertise at most {view.limit} prefixes to {upstream.id} (aggregate them), or use a static "
                    "route for this one")
        return ("NO_ROUTE", f"{where}: no route to {dst_ip} in {table}",
                suggest_route(network, node.id, dst_ip, came_from=hops[-2].node if len(hops) > 1 else ""))
    if ingress and not node.port(ingress).transit and not route.local:
        return ("NOT_TRANSITIVE", f"{where}: {dst_ip} arrived over VPC peering {ingress} and would leave by "
                f"{route.target}; VPC peering is not transitive",
                "peer the two VPCs directly (or attach both to a border gateway)")
    if ingress and route.port and node.port(ingress).transit_group \
            and node.port(ingress).transit_group == node.port(route.port).transit_group:
        what = "leased line" if node.port(ingress).transit_group is TransitGroup.LEASED_LINE else "router interface"
        return ("NOT_TRANSITIVE", f"{where}: {dst_ip} arrived over {what} {ingress} and would leave by {what} "
                f"{route.port}; Express Connect is not transitive (a router forwards between a leased line and its "
                f"router interfaces only)",
                "connect the two VPCs with VPC peering or CEN (Cloud Enterprise Network) instead")
    if not route.usable:
        # The line by its own ID (a VBR's route names it) or by the port the route leaves from (the customer
        # device's static route names the VBR's address on it, which no one can "activate").
        line = next((link.cloud_id for link in network.links if link.kind is LinkKind.LEASED_LINE
                     and (link.cloud_id == route.target or (node.id, route.port) in (link.a, link.b))), None)
        if line is not None:
            return ("INTERFACE_NOT_ACTIVE", f"{where}: the route {route.prefix} -> {route.target} uses the leased "
                    f"line {line}, which is down", f"bring {line} back up (lab: line up {line})")
        # The pair's end that is not Active, which may be the far one (ri-AAA deactivated: ri-BBB's routes stop).
        inactive = next((link.inactive for link in network.links_at(node.id, route.port) if link.inactive),
                        (route.target,)) if route.port else (route.target,)
        lab = ", then ".join(f"ri activate {ri}" for ri in inactive)
        return ("INTERFACE_NOT_ACTIVE", f"{where}: the route {route.prefix} -> {route.target} uses a router "
                f"interface pair that is not Active ({' and '.join(inactive)} {'is' if len(inactive) == 1 else 'are'} "
                "not)",
                f"activate {' and '.join(inactive)} (lab: {lab})")
    if route.port is None:
        elsewhere = next((n.id for n in network.nodes.values() if n.id != node.id and n.owns(dst_ip)), None)
        if elsewhere is not None:
            return ("BLACKHOLE", f"{where}: {dst_ip} ({elsewhere}) is inside {route.prefix}, the local route of "
                    f"{node.table or node.id}; the local route wins over any other, so the packet never leaves",
                    "VPCs whose CIDRs overlap cannot reach each other's overlapping addresses: renumber one of them")
        return ("BLACKHOLE", f"{where}: {dst_ip} is inside {route.prefix} ({route.target}) but no instance has "
                f"that address", f"send to an existing instance of {route.target}")
    down = [link for link in network.links_at(node.id, route.port) if not link.active]
    if down:
        line = down[0].kind in (LinkKind.LEASED_LINE, LinkKind.LEASED_LINE_TRUNK)
        return ("INTERFACE_NOT_ACTIVE", f"{where}: {_describe(down[0])} behind {route.port} is not up",
                f"bring {down[0].cloud_id} back up" + (f" (lab: line up {down[0].cloud_id})" if line else ""))
    return None


def _limit_upstream(network: Network, node: Node, dst_ip: IPv4Address):
    """A neighbouring router (a border gateway that propagates to this VPC) whose BGP session discarded the prefix
    of `dst_ip` at its route limit: (that router, its session's view, the prefix), or None. Without it, the VPC
    would be blamed for a route its gateway never had to give."""
    for port in node.ports:
        for (far_id, _far_port), _via in neighbours(network, node.id, port.name):
            far = network.nodes[far_id]
            for view in far.bgp:
                lost = next((net for net in view.discarded if dst_ip in net), None)
                if lost is not None:
                    return far, view, lost
    return None


def _no_bgp_route(network: Network, node: Node, where: str, table: str,
                  dst_ip: IPv4Address) -> tuple[str, str, str]:
    """No route on a router that speaks BGP: the session is down, the prefix was discarded, or nobody advertises it."""
    views = [view for view in node.bgp if any(dst_ip in block for block in view.behind)]
    for view in views:
        if view.problem:
            return ("BGP_NOT_ESTABLISHED", f"{where}: no route to {dst_ip} in {table}: the BGP session with "
                    f"{view.neighbor} is not established: {view.problem}", view.fix)
    for view in views:
        lost = next((net for net in view.discarded if dst_ip in net), None)
        if lost is not None:
            return ("BGP_ROUTE_LIMIT", f"{where}: no route to {dst_ip} in {table}: {view.neighbor} advertised "
                    f"{lost}, but {node.id} keeps at most {view.limit} learned routes from it and discarded "
                    f"{len(view.discarded)}", f"advertise at most {view.limit} prefixes (aggregate them), or use a "
                    "static route for this one")
    for view in views:
        own = next((net for net in view.originates if dst_ip in net), None)
        if own is not None:
            return ("OWN_PREFIX", f"{where}: no route to {dst_ip} in {table}: it advertises {own} itself over BGP, so "
                    f"its own origination is its best path (weight 32768) and {view.neighbor}'s route for it is never "
                    "installed", f"stop advertising {own} from the customer device (remove it from customer_bgp."
                    f"networks; lab: bgp withdraw {own}): it belongs to the cloud")
    view = views[0]
    prefix = max((block for block in view.behind if dst_ip in block), key=lambda block: block.prefixlen)
    return ("NOT_ADVERTISED", f"{where}: no route to {dst_ip} in {table}: {view.neighbor} does not advertise "
            f"{prefix} over BGP", view.advertise_fix.format(prefix=prefix))


def suggest_route(network: Network, node_id: str, dst_ip: IPv4Address, came_from: str = "") -> str:
    """The route entry that would carry `dst_ip` on from `node_id`, in the console's words."""
    node = network.nodes[node_id]
    prefix = next((block for block, _owner in network.blocks if dst_ip in block), IPv4Network(f"{dst_ip}/32"))
    for port in node.ports:
        for (far_node, far_port), _via in neighbours(network, node_id, port.name):
            if far_node == came_from or not _delivers(network, far_node, far_port, dst_ip):
                continue
            if node.kind is NodeKind.CLOUD_ROUTER:
                # The next hop as a route entry names it: a VPC's route to its border gateway names the gateway
                # (next_hop_type BorderGateway), not the attachment the packets cross.
                attached = any(link.kind is LinkKind.ATTACHMENT for link in network.links_at(node_id, port.name))
                hop = far_node if attached and network.nodes[far_node].kind is NodeKind.CLOUD_ROUTER \
                    and node.owner in {b_owner for _b, b_owner in network.blocks} else port.name
                return f"add a route {prefix} -> {hop} to {node.owner}'s route table {node.table}"
            address = network.nodes[far_node].port(far_port).address
            return f"add `ip route {prefix} {address.ip if address else '?'}` on {node_id}"
    owner = next((owner for block, owner in network.blocks if dst_ip in block), str(dst_ip))
    vpcs = {other.owner for other in network.nodes.values() if other.kind is NodeKind.CLOUD_ROUTER and other.owner}
    if node.kind is NodeKind.LINUX_ROUTER or (owner not in vpcs and owner != str(dst_ip)):
        # The IDC is reached over a leased line: a VBR on it, a router interface pair to the VPC, and routes on both
        # (the tutorial's steps), never a peering.
        return (f"none of {node_id}'s neighbours carries traffic to {prefix} yet: reach {owner} over the leased line "
                "(a VBR on the line, a router interface pair between the VBR and the VPC, a route on each to the "
                "other side's block)")
    return (f"none of {node_id}'s neighbours carries traffic to {prefix}: connect {node.owner or node_id} with "
            f"{owner} directly (VPC peering or CEN; on JD Cloud, attach both to a border gateway)")


def _delivers(network: Network, node_id: str, in_port: str, dst_ip: IPv4Address) -> bool:
    """Would `node_id` carry a packet for `dst_ip` onwards (not back out of the port it came in by)?"""
    node = network.nodes[node_id]
    if node.owns(dst_ip):
        return True
    if node.kind is NodeKind.HOST:
        return False
    route = node.best_route(dst_ip)
    if route is None or not route.usable or route.port is None or route.port == in_port:
        return False
    group = node.port(in_port).transit_group
    if group and group == node.port(route.port).transit_group:
        return False        # Express Connect is not transitive: a route there would end in NOT_TRANSITIVE
    return route.local or node.port(in_port).transit    # peering delivers only to the VPC itself


def evaluate(network: Network, src: str, dst: str) -> PairResult:
    """Can `src` ping `dst`? Needs the request to arrive and the reply to come back."""
    forward = trace(network, src, network.address_of(dst))
    if not forward.reached:
        return PairResult(src, dst, False, forward, None, forward)
    delivered_to = forward.hops[-1].node
    if delivered_to != dst:
        return _delivered_elsewhere(network, src, dst, forward, delivered_to)
    back = trace(network, dst, network.address_of(src))
    if not back.reached:
        explanation = Verdict(False, back.dst, back.hops, back.links, "NO_RETURN_ROUTE", back.hop,
                              f"the request arrives, but the reply is lost: {back.message}", back.fix)
        return PairResult(src, dst, False, forward, back, explanation)
    return PairResult(src, dst, True, forward, back)


def _delivered_elsewhere(network: Network, src: str, dst: str, forward: Verdict, other: str) -> PairResult:
    """The tables deliver the request to another host with the same address (identical segments)."""
    address = network.address_of(dst)
    last_router = forward.hops[-2].node if len(forward.hops) > 1 else src
    explanation = Verdict(False, forward.dst, forward.hops, forward.links, "WRONG_DESTINATION", last_router,
                          f"the request for {address} is delivered to {other}, which has the same address; "
                          f"{dst} is never reached (where identical segments meet, the first propagated route wins "
                          f"and the later one is invalid)",
                          f"give {dst} an address no other host uses, or propagate distinct segments")
    back = trace(network, other, network.address_of(src))
    return PairResult(src, dst, False, forward, back, explanation, answered_by=other if back.reached else None)


def expected_matrix(network: Network) -> dict[tuple[str, str], PairResult]:
    return {(src, dst): evaluate(network, src, dst)
            for src in network.hosts for dst in network.hosts if src != dst}


class Expectations(Mapping[tuple[str, str], PairResult]):
    """The expected matrix, each ordered pair of hosts derived when it is first asked for, then kept.

    Every lab action and timeline event prepares the network anew; at 250 VPCs the whole matrix (62,250 pairs)
    took 6 to 8 s of each, although only the checks read it all. `explain` and a perf check read one pair."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._hosts = frozenset(network.hosts)
        self._pairs: dict[tuple[str, str], PairResult] = {}

    def __contains__(self, pair: object) -> bool:
        """Without deriving it."""
        return (isinstance(pair, tuple) and len(pair) == 2 and pair[0] != pair[1]
                and pair[0] in self._hosts and pair[1] in self._hosts)

    def __getitem__(self, pair: tuple[str, str]) -> PairResult:
        found = self._pairs.get(pair)
        if found is None:
            if pair not in self:
                raise KeyError(pair)
            found = self._pairs[pair] = evaluate(self.network, pair[0], pair[1])
        return found

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((src, dst) for src in self.network.hosts for dst in self.network.hosts if src != dst)

    def __len__(self) -> int:
        return len(self._hosts) * (len(self._hosts) - 1)

    def derived(self) -> int:
        """How many pairs have been derived so far (for tests and benchmarks)."""
        return len(self._pairs)


def expected_hops(network: Network, src: str, dst: str) -> list[IPv4Address]:
    """Addresses a traceroute from `src` to `dst` shows: each router's ingress address, then `dst`."""
    return trace(network, src, network.address_of(dst)).traceroute_hops()


def bottleneck_mbps(verdict: Verdict) -> int | None:
    """The lowest bandwidth configured on the links of a path (None: nothing shaped)."""
    rates = [link.bandwidth_mbps for link in verdict.links if link.bandwidth_mbps]
    return min(rates) if rates else None
