"""BGP sessions between the customer device and its VBRs: what should happen, and what the VBR installs.

Pure. From the control plane's configuration this module predicts each
session (Established, or why not: a peer AS the other side refuses with a
NOTIFICATION, MD5 keys that differ, a neighbor the other side lacks, a line
that is down) and the prefixes each side learns. The same function that caps
a peer's learned routes at the provider's 110 is used on the prefixes the
real os-ken speaker reports, so the prediction and the running network agree
on which prefixes are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.bgp import MAX_LEARNED_ROUTES_PER_PEER
from emulator.cloud.control_plane import ControlPlane
from emulator.cloud.resources import PhysicalConnectionStatus

ESTABLISHED = "Established"


@dataclass(frozen=True)
class Session:
    """One BGP session as configured on both sides, and what the emulator expects of it."""

    peer_id: str                        # the VBR's BgpPeer
    vbr_id: str
    pc_id: str
    vbr_ip: IPv4Address                 # the VBR's end of the line
    customer_ip: IPv4Address            # the customer device's end
    vbr_asn: int                        # the VBR's local AS
    expected_customer_asn: int          # the BGP group's peer_asn
    customer_asn: int | None            # the device's `router bgp`; None: no BGP on the device
    customer_expects_asn: int | None    # its `neighbor VBR remote-as`; None: the device lacks the neighbor
    customer_shut: bool                 # the device's `neighbor VBR shutdown`
    vbr_key: str | None
    customer_key: str | None
    vbr_advertises: tuple[IPv4Network, ...]
    customer_advertises: tuple[IPv4Network, ...]
    problem: str = ""                   # why the session cannot reach Established ("" when it can)
    fix: str = ""

    @property
    def expected_state(self) -> str:
        return ESTABLISHED if not self.problem else "not established"

    @property
    def vbr_learns(self) -> tuple[IPv4Network, ...]:
        return accepted(self.customer_advertises)[0] if not self.problem else ()

    @property
    def customer_learns(self) -> tuple[IPv4Network, ...]:
        return self.vbr_advertises if not self.problem else ()

    @property
    def discarded(self) -> int:
        return accepted(self.customer_advertises)[1] if not self.problem else 0


def accepted(received: tuple[IPv4Network, ...] | list[IPv4Network]) -> tuple[tuple[IPv4Network, ...], int]:
    """The prefixes a VBR keeps of those a peer sent, and how many it discards (beyond 110 per peer).

    Which ones are kept is made deterministic: the first 110 in address order (the provider keeps those that
    arrived first, an order a run cannot repeat).
    """
    ordered = sorted(set(received), key=lambda net: (int(net.network_address), net.prefixlen))
    return tuple(ordered[:MAX_LEARNED_ROUTES_PER_PEER]), max(0, len(ordered) - MAX_LEARNED_ROUTES_PER_PEER)


def sessions(cloud: ControlPlane) -> list[Session]:
    """Every configured BGP peer of every VBR, with the customer's side matched to it."""
    found = []
    customer = cloud.customer_bgp
    for peer in cloud.bgp_peers.values():
        group = cloud.bgp_groups[peer.group_id]
        vbr = cloud.vbrs[group.vbr_id]
        neighbor = None
        if customer is not None:
            neighbor = next((n for n in customer.neighbors if n.ip == vbr.local_gateway.ip), None)
        session = Session(
            peer_id=peer.id, vbr_id=vbr.id, pc_id=vbr.physical_connection_id, vbr_ip=vbr.local_gateway.ip,
            customer_ip=peer.peer_ip, vbr_asn=group.local_asn, expected_customer_asn=group.peer_asn,
            customer_asn=customer.asn if customer else None,
            customer_expects_asn=neighbor.remote_asn if neighbor else None,
            customer_shut=bool(neighbor and neighbor.shutdown),
            vbr_key=group.auth_key, customer_key=neighbor.password if neighbor else None,
            vbr_advertises=tuple(cloud.bgp_networks.get(vbr.id, ())),
            customer_advertises=tuple(customer.networks) if customer and neighbor else ())
        problem, fix = _problem(session, cloud.physical_connections[vbr.physical_connection_id].status)
        found.append(replace(session, problem=problem, fix=fix))
    return found


def _problem(s: Session, line: PhysicalConnectionStatus) -> tuple[str, str]:
    if s.customer_asn is None:
        return ("the customer device runs no BGP", "add customer_bgp (asn, neighbors, networks) to the scenario")
    if s.customer_expects_asn is None:
        return (f"the customer device has no BGP neighbor {s.vbr_ip}",
                f"add {{ip: {s.vbr_ip}, remote_asn: {s.vbr_asn}}} under customer_bgp.neighbors")
    if s.customer_shut:
        return (f"the customer device has shut its neighbor {s.vbr_ip} down (neighbor {s.vbr_ip} shutdown)",
                "bring it up again (lab: bgp up)")
    if line is not PhysicalConnectionStatus.ENABLED:
        return (f"the leased line {s.pc_id} is down", f"bring {s.pc_id} up")
    if (s.vbr_key or None) != (s.customer_key or None):
        how = ("only the VBR's BGP group has one" if s.customer_key is None else
               "only the customer device has one" if s.vbr_key is None else "they differ")
        return (f"the TCP MD5 keys do not match ({how}): every TCP segment of the session is dropped, so it never "
                "leaves Connect/Active", "give the BGP group's auth_key and the neighbor's password the same value")
    if s.customer_expects_asn != s.vbr_asn:
        return (f"the customer device expects AS {s.customer_expects_asn} but the VBR is AS {s.vbr_asn}: the device "
                "answers the VBR's OPEN with a NOTIFICATION (OPEN Message Error, Bad Peer AS)",
                f"set remote_asn: {s.vbr_asn} for neighbor {s.vbr_ip} in customer_bgp")
    if s.expected_customer_asn != s.customer_asn:
        return (f"the VBR's BGP group expects peer AS {s.expected_customer_asn} but the customer device is AS "
                f"{s.customer_asn}: the VBR answers the device's OPEN with a NOTIFICATION (OPEN Message Error, Bad Peer AS)",
                f"set peer_asn: {s.customer_asn} in the BGP group, or the device's asn to {s.expected_customer_asn}")
    return "", ""


@dataclass(frozen=True)
class Learned:
    """What each VBR peer has received from the customer device (by peer ID): the running network's truth.

    `None` for a peer means "as predicted"; the initial plan of a run uses `Learned.nothing()`, since no
    session is up before the daemons start.
    """

    received: dict[str, tuple[IPv4Network, ...]] | None = None

    @classmethod
    def nothing(cls) -> "Learned":
        return cls(received={})

    def for_peer(self, session: Session) -> tuple[IPv4Network, ...]:
        return accepted(self.raw(session))[0]

    def raw(self, session: Session) -> tuple[IPv4Network, ...]:
        """What the peer sent (as predicted, or as reported), before the VBR's limit."""
        if self.received is None:
            return session.customer_advertises if not session.problem else ()
        return self.received.get(session.peer_id, ())


def discarded_prefixes(received: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
    kept = set(accepted(received)[0])
    return tuple(sorted((net for net in set(received) if net not in kept),
                        key=lambda net: (int(net.network_address), net.prefixlen)))
