"""Derive the layer-3 network (nodes, links, forwarding tables) from the control plane's state.

The rules that make a VBR and a VRouter different live here as route
derivation; the result is one `Network` that the reachability walk, the plan
and the controller all read.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from emulator.cloud.control_plane import ControlPlane
from emulator.errors import CloudError
from emulator.impairment import IDEAL, Impairment
from emulator.cloud.resources import (NextHopType, PeeringStatus, PhysicalConnectionStatus, RIStatus, Role, RouteTable,
                                      VpcAttachment)
from emulator.routing.bgp import BORDER_GATEWAY, Learned, Session, discarded_prefixes, sessions, speaker_id, speaker_port
from emulator.routing.model import (NEXT_HOP_ATTACHMENT, NEXT_HOP_VIRTUAL_INTERFACE, PRIORITY_BGP, PRIORITY_LOCAL,
                                    PRIORITY_PROPAGATED, PRIORITY_STATIC, BgpView, Link, LinkKind, Network, Node, NodeKind, Port, Route,
                                    RouteKind, TransitGroup)

# Router interfaces have no user-visible addresses; the emulator numbers each
# connected pair from this carrier-grade NAT block (the provider uses it
# internally too), skipping anything the scenario itself uses.
INTERCONNECT_POOL = IPv4Network("100.64.0.0/10")


DEFAULT = IPv4Network("0.0.0.0/0")


def build_network(cloud: ControlPlane, learned: Learned | None = None) -> Network:
    """The network with every BGP session converged as predicted, or, given `learned`, with the cloud routers' BGP
    routes those the running speakers reported."""
    builder = _Builder(cloud, learned or Learned())
    return builder.build()


def access_point_id(pc_id: str) -> str:
    return f"{pc_id}@ap"


def prober_id(ri_id: str) -> str:
    """The node that runs the health check configured on a VBR's router interface."""
    return f"{ri_id}@hc"


class _Builder:
    def __init__(self, cloud: ControlPlane, learned: Learned) -> None:
        self.cloud = cloud
        self.learned = learned
        self.ports: dict[str, list[Port]] = {}
        self.routes: dict[str, list[Route]] = {}
        self.links: list[Link] = []
        self.nodes: dict[str, Node] = {}
        # (router, port) -> (the address on the other end, whether the link carries traffic)
        self.far_end: dict[tuple[str, str], tuple[IPv4Address, bool]] = {}
        used = [vpc.cidr for vpc in cloud.vpcs.values()] + [idc.cidr for idc in cloud.idcs.values()]
        used += [end.local_gateway.network for end in cloud.line_ends()]
        self.sessions = sessions(cloud)
        self.free = (net for net in INTERCONNECT_POOL.subnets(new_prefix=30) if not any(net.overlaps(u) for u in used))

    def build(self) -> Network:
        hosts: list[str] = []
        for idc in self.cloud.idcs.values():
            hosts += self._idc(idc.id)
        for vpc in self.cloud.vpcs.values():
            hosts += self._vpc(vpc.id)
        for vbr in self.cloud.vbrs.values():
            self._vbr(vbr.id)
        self._router_interface_links()
        self._border_gateways()
        self._peerings()
        for vbr in self.cloud.vbrs.values():
            self._custom_routes(vbr.id, vbr.route_table)
        for bgw in self.cloud.border_gateways.values():
            self._custom_routes(bgw.id, bgw.route_table)
        for vpc in self.cloud.vpcs.values():
            self._custom_routes(vpc.vrouter_id, vpc.route_table)
            self._learnt_routes(vpc.id)
        self._speakers()
        self._health_probers()
        self._bgp_routes()
        for vpc in self.cloud.vpcs.values():
            self._learnt_bgp_routes(vpc.id)
        final = {
            node_id: replace(node, ports=tuple(self.ports.get(node_id, ())), routes=tuple(self.routes.get(node_id, ())))
            for node_id, node in self.nodes.items()
        }
        blocks = tuple((vpc.cidr, vpc.id) for vpc in self.cloud.vpcs.values())
        blocks += tuple((idc.cidr, idc.id) for idc in self.cloud.idcs.values())
        return Network(nodes=final, links=tuple(self.links), hosts=tuple(hosts), blocks=blocks)

    # ----- helpers ---------------------------------------------------------------------------

    def _node(self, node: Node) -> None:
        self.nodes[node.id] = node
        self.ports.setdefault(node.id, [])
        self.routes.setdefault(node.id, [])

    def _port(self, node_id: str, port: Port) -> Port:
        self.ports[node_id].append(port)
        return port

    def _route(self, node_id: str, route: Route) -> None:
        self.routes[node_id].append(route)

    def _connected(self, node_id: str, port: Port, table: str = "") -> None:
        assert port.address is not None
        self._route(node_id, Route(prefix=port.address.network, port=port.name, next_hop=None, kind=RouteKind.CONNECTED,
                                   target=port.name, table=table))

    # ----- the customer side -----------------------------------------------------------------

    def _idc(self, idc_id: str) -> list[str]:
        idc = self.cloud.idcs[idc_id]
        device = idc.device_id
        self._node(Node(id=device, kind=NodeKind.LINUX_ROUTER, role="access device", label=f"{idc.name} access device"))
        hosts = []
        for index, subnet in enumerate(idc.subnets):
            lan = self._port(device, Port(name=f"lan{index}", address=subnet.gateway, label=f"LAN {subnet.cidr}"))
            self._connected(device, lan)
            for server in subnet.servers:
                self._host(server.id, "IDC server", server.ip, subnet.gateway.ip, "")
                self.links.append(Link(id=f"{server.id}~{device}", kind=LinkKind.LAN, a=(server.id, "eth"),
                                       b=(device, lan.name)))
                hosts.append(server.id)
        for end in self.cloud.line_ends():
            pc = self.cloud.physical_connections[end.physical_connection_id]
            ap = access_point_id(pc.id)
            if ap not in self.nodes:
                self._node(Node(id=ap, kind=NodeKind.ACCESS_POINT, role="access point",
                                label=f"access point {pc.access_point}", account=pc.account))
            line = self._port(device, Port(name=f"{pc.id}.{end.vlan_id}", address=end.peer_gateway,
                                           label=f"leased line {pc.id} VLAN {end.vlan_id}"))
            self._connected(device, line)
            customer = self._port(ap, Port(name=f"cust.{end.vlan_id}", label=f"customer side, VLAN {end.vlan_id}"))
            trunk = self._port(ap, Port(name=f"trunk.{end.owner_id}", vlan=end.vlan_id, label=f"towards {end.owner_id}"))
            node = self.nodes[ap]
            if not pc.passes_nothing:      # a silent failure or 100 % loss: the access point passes nothing, the port
                                           # stays up
                self.nodes[ap] = replace(node, vlan_pairs=node.vlan_pairs + ((customer.name, trunk.name,
                                                                              end.vlan_id),))
            up = pc.status is PhysicalConnectionStatus.ENABLED
            self.links.append(Link(id=f"{pc.id}:{end.vlan_id}", kind=LinkKind.LEASED_LINE, a=(device, line.name),
                                   b=(ap, customer.name), bandwidth_mbps=pc.bandwidth_mbps, cloud_id=pc.id,
                                   active=up, impairment=pc.impairment))
            self.links.append(Link(id=f"{pc.id}:{end.owner_id}", kind=LinkKind.LEASED_LINE_TRUNK, a=(ap, trunk.name),
                                   b=(end.router_id, end.port), cloud_id=pc.id, vlan=end.vlan_id, active=up))
        up_ports = {link.a[1]: link.active for link in self.links if link.a[0] == device}
        for static in idc.static_routes:
            port = next((p for p in self.ports[device] if p.address and static.next_hop in p.address.network), None)
            assert port is not None, "ControlPlane.add_idc_static_route admits only next hops on the device's links"
            up = up_ports.get(port.name, True)
            # Linux (ignore_routes_with_linkdown) passes over a route whose link is down when another route to the
            # destination remains; the only route stays, unusable, so that explain says the line is down.
            fallback = any(other is not static and other.destination == static.destination
                           for other in idc.static_routes)
            self._route(device, Route(prefix=static.destination, port=port.name, next_hop=static.next_hop,
                                      kind=RouteKind.STATIC, target=str(static.next_hop),
                                      priority=PRIORITY_STATIC + static.metric, usable=up, valid=up or not fallback))
        return hosts

    def _host(self, host_id: str, role: str, address: IPv4Interface, gateway, account: str) -> None:
        self._node(Node(id=host_id, kind=NodeKind.HOST, role=role, label=host_id, account=account))
        port = self._port(host_id, Port(name="eth", address=address))
        self._connected(host_id, port)
        self._route(host_id, Route(prefix=DEFAULT, port="eth", next_hop=gateway, kind=RouteKind.DEFAULT, target=str(gateway),
                                   priority=PRIORITY_STATIC))

    # ----- the cloud side --------------------------------------------------------------------

    def _vpc(self, vpc_id: str) -> list[str]:
        vpc = self.cloud.vpcs[vpc_id]
        router = vpc.vrouter_id
        provider = self.cloud.provider
        role = provider.ROUTER_ROLE
        self._node(Node(id=router, kind=NodeKind.CLOUD_ROUTER, role=role, label=f"{role} of {vpc.name or vpc.id}",
                        account=vpc.account, owner=vpc.id, table=vpc.route_table.id))
        hosts = []
        if not provider.LOCAL_ROUTE_PER_SUBNET:     # one local route for the whole VPC
            self._route(router, Route(prefix=vpc.cidr, port=None, next_hop=None, kind=RouteKind.LOCAL, target="local",
                                      table=vpc.route_table.id))
        for vswitch in vpc.vswitches.values():
            if provider.LOCAL_ROUTE_PER_SUBNET:     # a system route per vSwitch
                self._route(router, Route(prefix=vswitch.cidr, port=None, next_hop=None, kind=RouteKind.LOCAL,
                                          target=vswitch.id, table=vpc.route_table.id))
            for instance in vswitch.instances.values():
                port = self._port(router, Port(name=instance.id, address=vswitch.gateway,
                                               label=f"{vswitch.id} gateway for {instance.id}"))
                self._route(router, Route(prefix=IPv4Network(f"{instance.ip}/32"), port=port.name, next_hop=None,
                                          kind=RouteKind.HOST, target=vswitch.id, table=vpc.route_table.id))
                self._host(instance.id, provider.INSTANCE_ROLE, IPv4Interface(f"{instance.ip}/{vswitch.cidr.prefixlen}"),
                           vswitch.gateway.ip, vpc.account)
                self.links.append(Link(id=f"{instance.id}~{router}", kind=LinkKind.VSWITCH, a=(instance.id, "eth"),
                                       b=(router, port.name), cloud_id=vswitch.id))
                hosts.append(instance.id)
        return hosts

    def _vbr(self, vbr_id: str) -> None:
        vbr = self.cloud.vbrs[vbr_id]
        self._node(Node(id=vbr.id, kind=NodeKind.CLOUD_ROUTER, role="VBR", label=f"VBR {vbr.name or vbr.id}",
                        account=vbr.account, owner=vbr.id, table=vbr.route_table.id))
        port = self._port(vbr.id, Port(name=vbr.physical_connection_id, address=vbr.local_gateway, vlan=vbr.vlan_id,
                                       label=f"leased line {vbr.physical_connection_id} VLAN {vbr.vlan_id}",
                                       transit_group=TransitGroup.LEASED_LINE))
        self._connected(vbr.id, port, vbr.route_table.id)

    def _speakers(self) -> None:
        """A node per BGP session's cloud end (os-ken), with the router's own address on the line, behind a port of
        the router: TCP to that address is handed to it."""
        ends = {speaker_id(end.owner_id): end for end in self.cloud.line_ends()}
        for session in self.sessions:
            end = ends[session.speaker]
            if session.speaker in self.nodes:
                continue
            router = self.nodes[end.router_id]
            self._node(Node(id=session.speaker, kind=NodeKind.BGP_SPEAKER, role="BGP speaker",
                            label=f"BGP speaker of {end.owner_id}", account=router.account, owner=end.router_id))
            self._port(session.speaker, Port(name="eth", address=end.local_gateway, label=f"BGP of {end.owner_id}"))
            port = speaker_port(end)
            self._port(end.router_id, Port(name=port, label=f"its BGP speaker for {end.owner_id}"))
            self.links.append(Link(id=f"{end.owner_id}~bgp", kind=LinkKind.BGP_SPEAKER, a=(end.router_id, port),
                                   b=(session.speaker, "eth")))

    def _interconnect(self, kind: LinkKind, a: tuple[str, str], b: tuple[str, str], *, active: bool = True,
                      bandwidth_mbps: int | None = None, cloud_id: str = "", transit: bool = True,
                      transit_group: TransitGroup = TransitGroup.NONE, labels: tuple[str, str] = ("", ""),
                      impairment: Impairment = IDEAL, inactive: tuple[str, ...] = ()) -> None:
        """A point-to-point link between two cloud routers, numbered from the interconnect pool."""
        block = next(self.free, None)
        if block is None:   # the control plane keeps VPCs and IDCs out of the pool; this is the last guard
            raise CloudError("QuotaExceeded.InterconnectAddresses",
                             f"no /30 left in {INTERCONNECT_POOL} to number the link {cloud_id or a[0]}",
                             fix=f"keep the scenario's blocks out of {INTERCONNECT_POOL}")
        hosts = list(block.hosts())
        addresses = (IPv4Interface(f"{hosts[0]}/30"), IPv4Interface(f"{hosts[1]}/30"))
        for (router, port_name), address, label in zip((a, b), addresses, labels, strict=True):
            port = self._port(router, Port(name=port_name, address=address, label=label, transit=transit,
                                           transit_group=transit_group))
            self._connected(router, port)
        self.far_end[a] = (addresses[1].ip, active)
        self.far_end[b] = (addresses[0].ip, active)
        self.links.append(Link(id=f"{a[0]}:{a[1]}/{b[0]}:{b[1]}", kind=kind, a=a, b=b, bandwidth_mbps=bandwidth_mbps,
                               active=active, cloud_id=cloud_id, impairment=impairment, inactive=inactive))

    def _router_interface_links(self) -> None:
        for ri in self.cloud.router_interfaces.values():
            if ri.role is not Role.INITIATOR or ri.status is RIStatus.IDLE:
                continue
            peer = self.cloud.router_interfaces.get(ri.opposite_interface_id)
            if peer is None:       # the accepting side was deleted: nothing to connect to
                continue
            active = ri.status is RIStatus.ACTIVE and peer.status is RIStatus.ACTIVE
            self._interconnect(LinkKind.ROUTER_INTERFACE, (ri.router_id, ri.id), (peer.router_id, peer.id),
                               active=active, bandwidth_mbps=ri.bandwidth_mbps, cloud_id=f"{ri.id}/{peer.id}",
                               transit_group=TransitGroup.ROUTER_INTERFACE,
                               labels=(f"router interface {ri.id}", f"router interface {peer.id}"),
                               impairment=Impairment(latency_ms=ri.latency_ms),
                               inactive=tuple(end.id for end in (ri, peer) if end.status is not RIStatus.ACTIVE))

    def _border_gateways(self) -> None:
        for bgw in self.cloud.border_gateways.values():
            self._node(Node(id=bgw.id, kind=NodeKind.CLOUD_ROUTER, role="border gateway",
                            label=f"border gateway {bgw.name or bgw.id} (ASN {bgw.asn})", account=bgw.account,
                            owner=bgw.id, table=bgw.route_table.id))
        for attachment in self.cloud.attachments.values():
            vpc = self.cloud.vpcs[attachment.vpc_id]
            self._interconnect(LinkKind.ATTACHMENT, (attachment.border_gateway_id, attachment.id),
                               (vpc.vrouter_id, attachment.id), cloud_id=attachment.id,
                               labels=(f"attachment {attachment.id} of {vpc.id}", f"attachment {attachment.id}"),
                               impairment=Impairment(latency_ms=attachment.latency_ms))
        for pvi in self.cloud.private_virtual_interfaces.values():
            bgw = self.cloud.border_gateways[pvi.border_gateway_id]
            port = self._port(bgw.id, Port(name=pvi.id, address=pvi.local_gateway, vlan=pvi.vlan_id,
                                           label=f"private virtual interface {pvi.id} on {pvi.physical_connection_id} "
                                                 f"VLAN {pvi.vlan_id}", transit_group=TransitGroup.LEASED_LINE))
            self._connected(bgw.id, port, bgw.route_table.id)
        for bgw in self.cloud.border_gateways.values():
            for segment, attachment, valid in self.cloud.gateway_table(bgw.id):
                next_hop, active = self.far_end[(bgw.id, attachment.id)]
                self._route(bgw.id, Route(prefix=segment, port=attachment.id, next_hop=next_hop, kind=RouteKind.PROPAGATED,
                                          target=attachment.id, usable=active, table=bgw.route_table.id,
                                          priority=PRIORITY_PROPAGATED, valid=valid, next_hop_rank=NEXT_HOP_ATTACHMENT))

    def _peerings(self) -> None:
        for peering in self.cloud.peerings.values():
            a, b = self.cloud.vpcs[peering.vpc_id], self.cloud.vpcs[peering.peer_vpc_id]
            self._interconnect(LinkKind.PEERING, (a.vrouter_id, peering.id), (b.vrouter_id, peering.id),
                               active=peering.status is PeeringStatus.ACTIVE, cloud_id=peering.id, transit=False,
                               labels=(f"peering {peering.id} to {b.id}", f"peering {peering.id} to {a.id}"))

    def _learnt_routes(self, vpc_id: str) -> None:
        vpc = self.cloud.vpcs[vpc_id]
        mine_by_gateway: dict[str, VpcAttachment] = {}      # one lookup per gateway, not per learnt route
        for segment, bgw_id, _attachment in self.cloud.learnt_routes(vpc_id):
            if bgw_id not in mine_by_gateway:
                mine_by_gateway[bgw_id] = self.cloud.attachment_of(vpc_id, bgw_id)
            mine = mine_by_gateway[bgw_id]
            next_hop, active = self.far_end[(vpc.vrouter_id, mine.id)]
            self._route(vpc.vrouter_id, Route(prefix=segment, port=mine.id, next_hop=next_hop, kind=RouteKind.PROPAGATED,
                                              target=bgw_id, usable=active, table=vpc.route_table.id,
                                              priority=PRIORITY_PROPAGATED))

    def _bgp_routes(self) -> None:
        """Each session's routes: the cloud router's as learned (or predicted), the customer device's as predicted
        (its FRR installs them in its own kernel)."""
        customer = self.cloud.customer_bgp
        device = self.cloud.idcs[customer.idc_id].device_id if customer else None
        for session in self.sessions:
            router = session.router_id
            up = self.cloud.physical_connections[session.pc_id].forwards
            self.nodes[router] = replace(self.nodes[router], bgp=self.nodes[router].bgp + (BgpView(
                neighbor=f"the customer device ({session.customer_ip}, AS {session.customer_asn})",
                problem=session.problem, fix=session.fix,
                advertise_fix="advertise it from the customer device: add {prefix} under customer_bgp.networks",
                discarded=discarded_prefixes(self.learned.raw(session), session.limit), limit=session.limit,
                behind=tuple(idc.cidr for idc in self.cloud.idcs.values())),))
            if device is not None:
                self.nodes[device] = replace(self.nodes[device], bgp=self.nodes[device].bgp + (BgpView(
                    neighbor=f"{router} ({session.cloud_ip}, AS {session.cloud_asn})", problem=session.problem,
                    fix=session.fix, advertise_fix=_advertise_fix(session), behind=self._cloud_blocks(session),
                    originates=tuple(session.customer_advertises)),))
            table = self.nodes[router].table
            gateway = session.router_kind == BORDER_GATEWAY
            # On a border gateway every other route for the same prefix ranks first: an attachment's (next-hop
            # type 100), or a static route to the interface (route type 100 against eBGP's 150).
            cloud_owned = {r.prefix for r in self.routes[router] if r.kind in (RouteKind.PROPAGATED, RouteKind.CUSTOM)}
            for prefix in self.learned.for_peer(session):
                # A border gateway ranks the next hop's type first: a VPC attachment's route for the same prefix wins.
                self._route(router, Route(prefix=prefix, port=session.line_port, next_hop=session.customer_ip,
                                          kind=RouteKind.BGP, target=f"{session.customer_ip} AS {session.customer_asn}",
                                          usable=up, table=table, priority=PRIORITY_BGP,
                                          valid=not (gateway and prefix in cloud_owned),
                                          next_hop_rank=NEXT_HOP_VIRTUAL_INTERFACE if gateway else 0))
            if device is None:
                continue
            for prefix in session.customer_installs:
                self._route(device, Route(prefix=prefix, port=session.device_port, next_hop=session.cloud_ip,
                                          kind=RouteKind.BGP, target=f"{session.cloud_ip} AS {session.cloud_asn}",
                                          usable=up, priority=PRIORITY_BGP))

    def _cloud_blocks(self, session: Session) -> tuple[IPv4Network, ...]:
        """What the cloud side of a session could advertise: the VPCs' blocks, and for a border gateway (which
        announces segments) the subnets of the VPCs attached to it, so that explain names the segment."""
        blocks = tuple(vpc.cidr for vpc in self.cloud.vpcs.values())
        if session.router_kind == BORDER_GATEWAY:
            attached = {a.vpc_id for a in self.cloud.attachments.values() if a.border_gateway_id == session.router_id}
            blocks += tuple(vsw.cidr for vpc_id in attached for vsw in self.cloud.vpcs[vpc_id].vswitches.values())
        return blocks

    def _learnt_bgp_routes(self, vpc_id: str) -> None:
        """A border gateway's valid routes towards the IDC (BGP, or static to a private virtual interface) reach
        the VPC tables that learn from it, like its propagated ones (inside the propagation's ranges; never over
        the VPC's own block or a segment it learnt already)."""
        vpc = self.cloud.vpcs[vpc_id]
        learnt = {r.prefix for r in self.routes[vpc.vrouter_id] if r.kind is RouteKind.PROPAGATED}
        for propagation in self.cloud.propagations:
            if propagation.vpc_id != vpc_id:
                continue
            bgw_id = propagation.border_gateway_id
            mine = self.cloud.attachment_of(vpc_id, bgw_id)
            next_hop, active = self.far_end[(vpc.vrouter_id, mine.id)]
            for route in self.routes[bgw_id]:
                prefix = route.prefix
                towards_idc = route.kind is RouteKind.BGP or (route.kind is RouteKind.CUSTOM
                                                              and route.next_hop_rank == NEXT_HOP_VIRTUAL_INTERFACE)
                if (not towards_idc or not route.valid or prefix in learnt or prefix.overlaps(vpc.cidr)
                        or not any(prefix.subnet_of(r) for r in propagation.ranges)):
                    continue
                learnt.add(prefix)
                self._route(vpc.vrouter_id, Route(prefix=prefix, port=mine.id, next_hop=next_hop,
                                                  kind=RouteKind.PROPAGATED, target=bgw_id, usable=active and route.usable,
                                                  table=vpc.route_table.id, priority=PRIORITY_PROPAGATED))

    def _custom_routes(self, router_id: str, table: RouteTable) -> None:
        for entry in table.entries:
            if entry.next_hop_type is NextHopType.PHYSICAL_CONNECTION:
                vbr = self.cloud.vbrs[router_id]
                up = self.cloud.physical_connections[entry.next_hop_id].status is PhysicalConnectionStatus.ENABLED
                self._route(router_id, Route(prefix=entry.destination, port=entry.next_hop_id,
                                             next_hop=vbr.peer_gateway.ip, kind=RouteKind.CUSTOM, target=entry.next_hop_id,
                                             usable=up, table=table.id, priority=PRIORITY_STATIC))
                continue
            if entry.next_hop_type is NextHopType.PRIVATE_VIRTUAL_INTERFACE:
                pvi = self.cloud.private_virtual_interfaces[entry.next_hop_id]
                up = self.cloud.physical_connections[pvi.physical_connection_id].status is PhysicalConnectionStatus.ENABLED
                self._route(router_id, Route(prefix=entry.destination, port=pvi.id, next_hop=pvi.peer_gateway.ip,
                                             kind=RouteKind.CUSTOM, target=pvi.id, usable=up, table=table.id,
                                             priority=PRIORITY_STATIC, next_hop_rank=NEXT_HOP_VIRTUAL_INTERFACE))
                continue
            for hop in entry.next_hops:
                port = hop
                if entry.next_hop_type is NextHopType.BORDER_GATEWAY:
                    vpc = self.cloud.vpc_of_vrouter(router_id)
                    attachment = self.cloud.attachment_of(vpc.id, hop) if vpc else None
                    port = attachment.id if attachment else ""
                next_hop, active = self.far_end.get((router_id, port), (None, False))
                rank = NEXT_HOP_ATTACHMENT if entry.next_hop_type is NextHopType.VPC_ATTACHMENT else 0
                self._route(router_id, Route(prefix=entry.destination, port=port if next_hop else None,
                                             next_hop=next_hop, kind=RouteKind.CUSTOM, target=hop,
                                             usable=active and self._line_healthy(hop),
                                             table=table.id, priority=PRIORITY_STATIC,
                                             ecmp=bool(entry.next_hop_list) and not entry.active_standby,
                                             standby=entry.standby(hop), next_hop_rank=rank))

    def _line_healthy(self, ri_id: str) -> bool:
        """False while the health check of the VBR behind this VRouter's router interface says its line is
        faulty: the route stops carrying traffic (and an active/standby or ECMP route moves to its other line)."""
        ri = self.cloud.router_interfaces.get(ri_id)
        peer = self.cloud.router_interfaces.get(ri.opposite_interface_id) if ri is not None else None
        return peer is None or peer.health_check is None or peer.health_check.healthy

    def _health_probers(self) -> None:
        """A node per health check, behind a port of the VBR, with the check's source address: it pings the
        customer side through the VBR's line, and the VBR hands the replies back to it (a /32 of its own)."""
        for ri_id, check in self.cloud.health_checks().items():
            ri = self.cloud.router_interfaces[ri_id]
            if ri.router_id not in self.nodes:
                continue
            node_id = prober_id(ri_id)
            vbr = self.nodes[ri.router_id]
            self._node(Node(id=node_id, kind=NodeKind.HEALTH_PROBER, role="health check",
                            label=f"health check of {ri_id}", account=vbr.account, owner=ri.router_id))
            self._port(node_id, Port(name="eth", address=IPv4Interface(f"{check.source_ip}/32"),
                                     label=f"pings {check.target_ip}"))
            port = f"hc-{ri_id}"
            self._port(ri.router_id, Port(name=port, label=f"its health check of {ri_id}"))
            self._route(ri.router_id, Route(prefix=IPv4Network(f"{check.source_ip}/32"), port=port, next_hop=None,
                                            kind=RouteKind.HOST, target=f"health check of {ri_id}",
                                            table=vbr.table, priority=PRIORITY_LOCAL))
            self.links.append(Link(id=f"{ri_id}~hc", kind=LinkKind.HEALTH_PROBER, a=(ri.router_id, port),
                                   b=(node_id, "eth")))


def _advertise_fix(session: Session) -> str:
    """How the cloud side comes to advertise a prefix to the customer device."""
    if session.router_kind == BORDER_GATEWAY:
        return ("propagate {prefix} into " + session.router_id + " (vpc_attachments: `propagate: all`, or list its "
                "subnet): the border gateway announces its valid routes")
    return ("AddBgpNetwork on " + session.router_id + ": add {{router_id: " + session.router_id
            + ", dst_cidr_block: {prefix}}} under bgp_networks")
