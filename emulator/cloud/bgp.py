"""BGP between the customer's access device and a VBR (Alibaba Cloud Express Connect), as the API has it.

A mixin of the control plane. The provider's objects and rules (CreateBgpGroup,
CreateBgpPeer and AddBgpNetwork in its API reference): a BGP group on a VBR
holds the customer's AS (`peer_asn`), the VBR's own (`local_asn`, default
45104; 45104, 64512-65534 or 4200000000-4294967294, and 65025 is reserved)
and an optional TCP MD5 key; its peers are addressed by IP, and only the IDC
at the far end of the VBR's leased line may peer; at most 8 peers per VBR;
each peer's learned routes are capped at 110 (the rest are discarded); BGP-4,
IPv4. The customer's side (its AS, neighbors, advertised blocks) is the
configuration of its own router, FRR in the emulator.

Error codes are the API reference's where it lists them (QuotaExceeded.Bgp,
InvalidBgpGroup, InvalidPeerIpAddress, InvalidBgpAuthkey.Malformed); the
others follow its naming pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.health_check import AUTOMATIC_SOURCE_BLOCK
from emulator.cloud.reserved import reserved_container
from emulator.cloud.resources import Bfd
from emulator.errors import CloudError

DEFAULT_LOCAL_ASN = 45104
RESERVED_ASN = 65025
MAX_BGP_PEERS_PER_VBR = 8
MAX_LEARNED_ROUTES_PER_PEER = 110
# A VBR's BFD timers (CreateVirtualBorderRouter / ModifyVirtualBorderRouterAttribute): MinRxInterval and
# MinTxInterval 200-1000 ms, DetectMultiplier 3-10.
VBR_BFD_INTERVAL_MS = range(200, 1001)
VBR_BFD_MULTIPLIER = range(3, 11)
# The customer device's (FRR bfdd): receive-/transmit-interval 10-60000 ms, detect-multiplier 2-255.
FRR_BFD_INTERVAL_MS = range(10, 60001)
FRR_BFD_MULTIPLIER = range(2, 256)


def check_vbr_bfd(bfd: Bfd, where: str = "") -> Bfd:
    """The provider's ranges for a VBR's BFD timers."""
    for name, value in (("MinRxInterval", bfd.min_rx_ms), ("MinTxInterval", bfd.min_tx_ms)):
        if value not in VBR_BFD_INTERVAL_MS:
            raise CloudError(f"InvalidParameter.{name}", f"{name} {value} ms is outside 200-1000",
                             fix="give the VBR's BFD intervals between 200 and 1000 ms", where=where)
    if bfd.multiplier not in VBR_BFD_MULTIPLIER:
        raise CloudError("InvalidParameter.DetectMultiplier", f"DetectMultiplier {bfd.multiplier} is outside 3-10",
                         fix="detect a failure after 3 to 10 missed BFD packets", where=where)
    return bfd
LOCAL_ASN_RANGES = (range(45104, 45105), range(64512, 65535), range(4200000000, 4294967295))


@dataclass
class BgpGroup:
    id: str
    vbr_id: str
    peer_asn: int
    local_asn: int = DEFAULT_LOCAL_ASN
    auth_key: str | None = None
    is_fake_asn: bool = False
    name: str = ""


@dataclass
class BgpPeer:
    id: str
    group_id: str
    peer_ip: IPv4Address
    enable_bfd: bool = False


@dataclass
class CustomerNeighbor:
    ip: IPv4Address
    remote_asn: int
    password: str | None = None
    shutdown: bool = False          # `neighbor IP shutdown` (the lab's `bgp down`)
    bfd: Bfd | None = None          # `neighbor IP bfd` with these timers (FRR's bfdd)


@dataclass
class CustomerBgp:
    """The customer device's BGP configuration: what its FRR is told."""

    idc_id: str
    asn: int
    neighbors: list[CustomerNeighbor] = field(default_factory=list)
    networks: list[IPv4Network] = field(default_factory=list)


class BgpOperations:
    def __init__(self) -> None:
        self.bgp_groups: dict[str, BgpGroup] = {}
        self.bgp_peers: dict[str, BgpPeer] = {}
        self.bgp_networks: dict[str, list[IPv4Network]] = {}     # VBR -> blocks it advertises, in order
        self.customer_bgp: CustomerBgp | None = None

    # ----- lookups -------------------------------------------------------------------------

    def peers_of(self, vbr_id: str) -> list[BgpPeer]:
        return [peer for peer in self.bgp_peers.values() if self.bgp_groups[peer.group_id].vbr_id == vbr_id]

    def has_bgp(self) -> bool:
        return bool(self.bgp_peers) or any(pvi.route_type == "bgp" for pvi in self.private_virtual_interfaces.values())

    # ----- operations ----------------------------------------------------------------------

    def create_bgp_group(self, *, group_id: str, vbr_id: str, peer_asn: int, local_asn: int = DEFAULT_LOCAL_ASN,
                         auth_key: str | None = None, is_fake_asn: bool = False, name: str = "",
                         where: str = "") -> BgpGroup:
        self._require_vbr(vbr_id, where)
        if local_asn == RESERVED_ASN:
            raise CloudError("InvalidLocalAsn.Reserved", f"local_asn {RESERVED_ASN} is reserved by Alibaba Cloud",
                             fix=f"leave local_asn out (the default is {DEFAULT_LOCAL_ASN}) or pick one of "
                                 "64512-65534 other than 65025", where=where)
        if not any(local_asn in allowed for allowed in LOCAL_ASN_RANGES):
            raise CloudError("InvalidLocalAsn.Malformed",
                             f"local_asn {local_asn} is not one the VBR can take",
                             fix=f"use {DEFAULT_LOCAL_ASN} (the default), 64512-65534 or 4200000000-4294967294",
                             where=where)
        if peer_asn == local_asn:
            raise CloudError("InvalidPeerAsn.SameAsLocal",
                             f"peer_asn {peer_asn} is the VBR's own AS: the VBR speaks eBGP only",
                             fix="give the AS of the customer's device (the tutorial's example: 65001)", where=where)
        self._claim_id(group_id, "BGP group", where)
        group = BgpGroup(id=group_id, vbr_id=vbr_id, peer_asn=peer_asn, local_asn=local_asn, auth_key=auth_key,
                         is_fake_asn=is_fake_asn, name=name)
        self.bgp_groups[group_id] = group
        return group

    def create_bgp_peer(self, *, peer_id: str, group_id: str, peer_ip: IPv4Address, enable_bfd: bool = False,
                        where: str = "") -> BgpPeer:
        group = self.bgp_groups.get(group_id)
        if group is None:
            raise CloudError("InvalidBgpGroup", f"bgp group {group_id} does not exist",
                             fix="create it under bgp_groups first: " + (", ".join(self.bgp_groups) or "none yet"),
                             where=where)
        vbr = self.vbrs[group.vbr_id]
        if len(self.peers_of(vbr.id)) >= MAX_BGP_PEERS_PER_VBR:
            raise CloudError("QuotaExceeded.Bgp", f"bgp peer count per vbr quota exceed: {vbr.id} already has "
                             f"{MAX_BGP_PEERS_PER_VBR} BGP peers", fix="remove a peer or use another VBR", where=where)
        if peer_ip != vbr.peer_gateway.ip:
            raise CloudError("InvalidPeerIpAddress",
                             f"{peer_ip} is not the IDC's end of {vbr.id}'s leased line ({vbr.peer_gateway.ip}): "
                             "a VBR peers only with the customer device at the far end of its line",
                             fix=f"use peer_ip_address: {vbr.peer_gateway.ip}", where=where)
        if any(peer.peer_ip == peer_ip for peer in self.peers_of(vbr.id)):
            raise CloudError("InvalidPeerIpAddress.Duplicated", f"{vbr.id} already has a BGP peer {peer_ip}",
                             fix="add each peer once", where=where)
        self._claim_id(peer_id, "BGP peer", where)
        peer = BgpPeer(id=peer_id, group_id=group_id, peer_ip=peer_ip, enable_bfd=enable_bfd)
        self.bgp_peers[peer_id] = peer
        return peer

    def add_bgp_network(self, *, vbr_id: str, destination: IPv4Network, where: str = "") -> None:
        self._require_vbr(vbr_id, where)
        _refuse_reserved(destination, "InvalidDstCidrBlock.Reserved", "a VBR", where)
        networks = self.bgp_networks.setdefault(vbr_id, [])
        if destination in networks:
            raise CloudError("InvalidDstCidrBlock.Duplicate", f"{vbr_id} already advertises {destination}",
                             fix="advertise each block once", where=where)
        networks.append(destination)

    def delete_bgp_network(self, *, vbr_id: str, destination: IPv4Network, where: str = "") -> None:
        networks = self.bgp_networks.get(vbr_id, [])
        if destination not in networks:
            raise CloudError("InvalidDstCidrBlock.NotFound", f"{vbr_id} does not advertise {destination}",
                             fix="advertised: " + (", ".join(map(str, networks)) or "nothing"), where=where)
        networks.remove(destination)

    def configure_customer_bgp(self, *, idc_id: str, asn: int, neighbors: list[CustomerNeighbor],
                               networks: list[IPv4Network], where: str = "") -> CustomerBgp:
        """The customer's own router configuration (`router bgp ASN`, its neighbors and networks)."""
        line_ends = {end.local_gateway.ip: end for end in self.line_ends()}
        seen: set[IPv4Address] = set()
        for neighbor in neighbors:
            if neighbor.ip not in line_ends:
                raise CloudError("InvalidNeighbor.Unreachable",
                                 f"BGP neighbor {neighbor.ip} is not the cloud's end of any leased line",
                                 fix="use a VBR's local_gateway_ip or a private virtual interface's JD Cloud address: "
                                     + (", ".join(map(str, line_ends)) or "none yet"), where=where)
            if neighbor.ip in seen:
                raise CloudError("InvalidNeighbor.Duplicated", f"BGP neighbor {neighbor.ip} is listed twice",
                                 fix="list each neighbor once", where=where)
            seen.add(neighbor.ip)
            if neighbor.bfd is not None and (neighbor.bfd.min_rx_ms not in FRR_BFD_INTERVAL_MS
                                             or neighbor.bfd.multiplier not in FRR_BFD_MULTIPLIER):
                raise CloudError("InvalidParameter.Bfd", f"neighbor {neighbor.ip}: FRR takes BFD intervals of "
                                 "10-60000 ms and a detect-multiplier of 2-255", fix="e.g. bfd_interval_ms: 300, "
                                 "bfd_multiplier: 3", where=where)
        for network in networks:
            _refuse_reserved(network, "InvalidCidrBlock.Reserved", "the customer device", where)
        if len(set(networks)) != len(networks):
            raise CloudError("InvalidCidrBlock.Duplicate", "a block is listed twice under networks",
                             fix="advertise each block once", where=where)
        self.customer_bgp = CustomerBgp(idc_id=idc_id, asn=asn, neighbors=list(neighbors), networks=list(networks))
        return self.customer_bgp

    def _require_vbr(self, vbr_id: str, where: str) -> None:
        if vbr_id not in self.vbrs:
            raise CloudError("InvalidRouterId.NotFound", f"no VBR {vbr_id}: BGP runs on a VBR",
                             fix="name one of: " + (", ".join(self.vbrs) or "none yet (create the VBR first)"),
                             where=where)


def _refuse_reserved(block: IPv4Network, code: str, who: str, where: str) -> None:
    """A BGP network inside a reserved block (loopback, multicast, ...) is refused as a route entry's destination
    is: nothing there can be reached. A health check's source in 100.96.0.0/16, announced as a /32, is the
    exception, as it is for the customer device's static routes."""
    inside = reserved_container(block)
    if inside is not None and not (block.prefixlen == 32 and block.subnet_of(AUTOMATIC_SOURCE_BLOCK)):
        raise CloudError(code, f"{who} cannot announce {block}: it is inside {inside[0]} ({inside[1]}), where nothing "
                         "can be reached", fix="announce the VPC's or the IDC's blocks", where=where)
