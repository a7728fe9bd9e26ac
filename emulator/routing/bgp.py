"""BGP sessions between the customer device and the cloud's routers: what should happen, and what each installs.

Pure. From the control plane's configuration this module predicts each
session (Established, or why not: a peer AS the other side refuses with a
NOTIFICATION, MD5 keys that differ, a neighbor the other side lacks, a line
that is down) and the prefixes each side learns. A session's cloud end is an
Alibaba VBR (a BGP peer of one of its BGP groups) or a JD Cloud border
gateway (a private virtual interface whose routing method is BGP). The same
function that caps what a cloud router keeps (110 per VBR peer; a border
gateway's 300 dynamic routes less those its attachments propagate) is used on
the prefixes the real os-ken speaker reports, so the prediction and the
running network agree on which prefixes are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.bgp import MAX_LEARNED_ROUTES_PER_PEER
from emulator.cloud.border_gateway import MAX_DYNAMIC_ROUTES_PER_GATEWAY
from emulator.cloud.control_plane import ControlPlane
from emulator.cloud.resources import Bfd, LineEnd, NextHopType, PhysicalConnectionStatus

ESTABLISHED = "Established"
VBR = "VBR"
BORDER_GATEWAY = "border gateway"


def speaker_id(owner_id: str) -> str:
    """The node that speaks BGP for a VBR or a private virtual interface."""
    return f"{owner_id}@bgp"


def speaker_port(end: LineEnd) -> str:
    """The cloud router's port towards that speaker: a VBR has one, a border gateway one per interface."""
    return "bgp" if end.router_id == end.owner_id else f"bgp.{end.owner_id}"


@dataclass(frozen=True)
class Session:
    """One BGP session as configured on both sides, and what the emulator expects of it."""

    peer_id: str                        # the VBR's BgpPeer, or the private virtual interface
    router_id: str                      # the cloud router speaking BGP: a VBR or a border gateway
    router_kind: str                    # VBR or BORDER_GATEWAY
    pc_id: str
    line_port: str                      # the router's port on the line (a VBR: the line's ID; a bgw: the interface's)
    device_port: str                    # the customer device's port on the line
    speaker: str                        # the speaker node (speaker_id)
    cloud_ip: IPv4Address               # the cloud router's end of the line
    customer_ip: IPv4Address            # the customer device's end
    cloud_asn: int                      # the VBR's local AS, or the border gateway's ASN
    expected_customer_asn: int          # the BGP group's peer_asn, or the interface's customer_asn
    customer_asn: int | None            # the device's `router bgp`; None: no BGP on the device
    customer_expects_asn: int | None    # its `neighbor CLOUD remote-as`; None: the device lacks the neighbor
    customer_shut: bool                 # the device's `neighbor CLOUD shutdown`
    cloud_key: str | None
    customer_key: str | None
    cloud_advertises: tuple[IPv4Network, ...]
    customer_advertises: tuple[IPv4Network, ...]
    limit: int = MAX_LEARNED_ROUTES_PER_PEER    # how many of the received prefixes the cloud router keeps
    problem: str = ""                   # why the session cannot reach Established ("" when it can)
    fix: str = ""
    cloud_bfd: Bfd | None = None        # the VBR's BFD timers, when the peer has EnableBfd
    customer_bfd: Bfd | None = None     # the device's, when its neighbor has `bfd`

    @property
    def bfd(self) -> bool:
        """BFD runs when both ends have it; a failure then ends the session after the detection time."""
        return self.cloud_bfd is not None and self.customer_bfd is not None

    def bfd_detection_s(self) -> tuple[float, float] | None:
        """(the cloud's, the customer device's) BFD detection times, when BFD runs."""
        if self.cloud_bfd is None or self.customer_bfd is None:
            return None
        return self.cloud_bfd.detection_s(self.customer_bfd), self.customer_bfd.detection_s(self.cloud_bfd)

    @property
    def expected_state(self) -> str:
        return ESTABLISHED if not self.problem else "not established"

    @property
    def cloud_learns(self) -> tuple[IPv4Network, ...]:
        return accepted(self.customer_advertises, self.limit)[0] if not self.problem else ()

    @property
    def customer_learns(self) -> tuple[IPv4Network, ...]:
        """What the customer device receives from the cloud router."""
        return self.cloud_advertises if not self.problem else ()

    @property
    def customer_installs(self) -> tuple[IPv4Network, ...]:
        """What its kernel gets of those: not a prefix it originates itself (FRR's own `network` is best: weight
        32768, and a locally originated route is never installed in the kernel)."""
        return tuple(p for p in self.customer_learns if p not in self.customer_advertises)

    @property
    def discarded(self) -> int:
        return accepted(self.customer_advertises, self.limit)[1] if not self.problem else 0

    @property
    def router_label(self) -> str:
        return f"{self.router_kind} {self.router_id}"


def accepted(received: tuple[IPv4Network, ...] | list[IPv4Network],
             limit: int = MAX_LEARNED_ROUTES_PER_PEER) -> tuple[tuple[IPv4Network, ...], int]:
    """The prefixes a cloud router keeps of those a peer sent, and how many it discards (beyond its limit).

    Which ones are kept is made deterministic: the first `limit` in address order (the provider keeps those that
    arrived first, an order a run cannot repeat).
    """
    ordered = sorted(set(received), key=lambda net: (int(net.network_address), net.prefixlen))
    limit = max(0, limit)
    return tuple(ordered[:limit]), max(0, len(ordered) - limit)


def sessions(cloud: ControlPlane) -> list[Session]:
    """Every configured BGP peer of every VBR and every BGP private virtual interface, with the customer's side."""
    found = []
    ends = {end.owner_id: end for end in cloud.line_ends()}
    for peer in cloud.bgp_peers.values():
        group = cloud.bgp_groups[peer.group_id]
        vbr = cloud.vbrs[group.vbr_id]
        session = _session(cloud, ends[vbr.id], peer.id, VBR, group.local_asn, group.peer_asn, group.auth_key,
                           tuple(cloud.bgp_networks.get(vbr.id, ())), MAX_LEARNED_ROUTES_PER_PEER)
        found.append(replace(session, cloud_bfd=vbr.bfd if peer.enable_bfd else None))
    for pvi in cloud.private_virtual_interfaces.values():
        if pvi.route_type != "bgp" or pvi.customer_asn is None:
            continue
        bgw = cloud.border_gateways[pvi.border_gateway_id]
        table = cloud.gateway_table(bgw.id)
        # The gateway announces its valid routes towards the VPCs (propagated, or static to an attachment); its
        # dynamic routes share one quota of 300.
        towards_vpcs = [segment for segment, _attachment, valid in table if valid]
        towards_vpcs += [e.destination for e in bgw.route_table.entries
                         if e.next_hop_type is NextHopType.VPC_ATTACHMENT and e.destination not in towards_vpcs]
        found.append(_session(cloud, ends[pvi.id], pvi.id, BORDER_GATEWAY, bgw.asn, pvi.customer_asn, None,
                              tuple(towards_vpcs), MAX_DYNAMIC_ROUTES_PER_GATEWAY - len(table)))
    return found


def _session(cloud: ControlPlane, end: LineEnd, peer_id: str, kind: str, cloud_asn: int, expected: int,
             key: str | None, advertises: tuple[IPv4Network, ...], limit: int) -> Session:
    customer = cloud.customer_bgp
    neighbor = None
    if customer is not None:
        neighbor = next((n for n in customer.neighbors if n.ip == end.local_gateway.ip), None)
    session = Session(
        peer_id=peer_id, router_id=end.router_id, router_kind=kind, pc_id=end.physical_connection_id,
        line_port=end.port, device_port=f"{end.physical_connection_id}.{end.vlan_id}", speaker=speaker_id(end.owner_id),
        cloud_ip=end.local_gateway.ip, customer_ip=end.peer_gateway.ip, cloud_asn=cloud_asn,
        expected_customer_asn=expected, customer_asn=customer.asn if customer else None,
        customer_expects_asn=neighbor.remote_asn if neighbor else None,
        customer_shut=bool(neighbor and neighbor.shutdown), cloud_key=key,
        customer_key=neighbor.password if neighbor else None, cloud_advertises=advertises,
        customer_advertises=tuple(customer.networks) if customer and neighbor else (), limit=limit,
        customer_bfd=neighbor.bfd if neighbor else None)
    line = cloud.physical_connections[end.physical_connection_id]
    problem, fix = _problem(session, line.status, line.passes_nothing)
    return replace(session, problem=problem, fix=fix)


def _problem(s: Session, line: PhysicalConnectionStatus, passes_nothing: bool = False) -> tuple[str, str]:
    if s.customer_asn is None:
        return ("the customer device runs no BGP", "add customer_bgp (asn, neighbors, networks) to the scenario")
    if s.customer_expects_asn is None:
        return (f"the customer device has no BGP neighbor {s.cloud_ip}",
                f"add {{ip: {s.cloud_ip}, remote_asn: {s.cloud_asn}}} under customer_bgp.neighbors")
    if s.customer_shut:
        return (f"the customer device has shut its neighbor {s.cloud_ip} down (neighbor {s.cloud_ip} shutdown)",
                "bring it up again (lab: bgp up)")
    if line is not PhysicalConnectionStatus.ENABLED:
        return (f"the leased line {s.pc_id} is down", f"bring {s.pc_id} back up (lab: line up {s.pc_id})")
    if passes_nothing:
        return (f"the leased line {s.pc_id} drops every frame (its port stays up): the session ends when BFD or the "
                "hold timer notices", f"restore {s.pc_id} (lab: line restore {s.pc_id}), or give it a loss_percent "
                "below 100")
    if s.router_kind == BORDER_GATEWAY and s.customer_key:
        return ("the customer device signs the session with a TCP MD5 password, but a border gateway's BGP key does "
                "not take effect (JD Cloud: do not configure it on the client): every segment is dropped, so the "
                "session never leaves Connect/Active", f"remove the password of neighbor {s.cloud_ip} in customer_bgp")
    if (s.cloud_key or None) != (s.customer_key or None):
        how = ("only the VBR's BGP group has one" if s.customer_key is None else
               "only the customer device has one" if s.cloud_key is None else "they differ")
        return (f"the TCP MD5 keys do not match ({how}): every TCP segment of the session is dropped, so it never "
                "leaves Connect/Active", "give the BGP group's auth_key and the neighbor's password the same value")
    if s.customer_expects_asn != s.cloud_asn:
        return (f"the customer device expects AS {s.customer_expects_asn} but the {s.router_kind} is AS {s.cloud_asn}: "
                "the device answers its OPEN with a NOTIFICATION (OPEN Message Error, Bad Peer AS)",
                f"set remote_asn: {s.cloud_asn} for neighbor {s.cloud_ip} in customer_bgp")
    if s.expected_customer_asn != s.customer_asn:
        where = ("the BGP group" if s.router_kind == VBR else f"the private virtual interface {s.peer_id}")
        field = "peer_asn" if s.router_kind == VBR else "customer_asn"
        return (f"{where} expects peer AS {s.expected_customer_asn} but the customer device is AS {s.customer_asn}: "
                f"the {s.router_kind} answers the device's OPEN with a NOTIFICATION (OPEN Message Error, Bad Peer AS)",
                f"set {field}: {s.customer_asn} in {where}, or the device's asn to {s.expected_customer_asn}")
    return "", ""


@dataclass(frozen=True)
class Learned:
    """What each cloud peer has received from the customer device (by peer ID): the running network's truth.

    `None` for a peer means "as predicted"; the initial plan of a run uses `Learned.nothing()`, since no
    session is up before the daemons start.
    """

    received: dict[str, tuple[IPv4Network, ...]] | None = None

    @classmethod
    def nothing(cls) -> "Learned":
        return cls(received={})

    def for_peer(self, session: Session) -> tuple[IPv4Network, ...]:
        return accepted(self.raw(session), session.limit)[0]

    def raw(self, session: Session) -> tuple[IPv4Network, ...]:
        """What the peer sent (as predicted, or as reported), before the cloud router's limit."""
        if self.received is None:
            return session.customer_advertises if not session.problem else ()
        return self.received.get(session.peer_id, ())


def discarded_prefixes(received: tuple[IPv4Network, ...],
                       limit: int = MAX_LEARNED_ROUTES_PER_PEER) -> tuple[IPv4Network, ...]:
    kept = set(accepted(received, limit)[0])
    return tuple(sorted((net for net in set(received) if net not in kept),
                        key=lambda net: (int(net.network_address), net.prefixlen)))
