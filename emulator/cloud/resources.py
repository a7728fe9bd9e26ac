"""The provider's resources as plain values: what the consoles and APIs show.

The control plane owns and mutates these; everything downstream (routing,
plan) only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from emulator.impairment import Impairment


class RouterType(str, Enum):
    VBR = "VBR"
    VROUTER = "VRouter"


class Role(str, Enum):
    INITIATOR = "InitiatingSide"
    ACCEPTOR = "AcceptingSide"


class RIStatus(str, Enum):
    IDLE = "Idle"
    CONNECTING = "Connecting"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class PhysicalConnectionStatus(str, Enum):
    ENABLED = "Enabled"
    DOWN = "Down"             # the line is cut or its port disabled (the lab's `line down`)


class PeeringStatus(str, Enum):
    ACTIVE = "Active"


class NextHopType(str, Enum):
    ROUTER_INTERFACE = "RouterInterface"
    PHYSICAL_CONNECTION = "PhysicalConnection"
    BORDER_GATEWAY = "BorderGateway"
    VPC_PEERING = "VpcPeering"
    VPC_ATTACHMENT = "VpcAttachment"                      # a JD border gateway's static route
    PRIVATE_VIRTUAL_INTERFACE = "PrivateVirtualInterface"  # likewise, towards the IDC


@dataclass
class RouteEntry:
    destination: IPv4Network
    next_hop_type: NextHopType
    next_hop_id: str                     # an ECMP entry: its first next hop
    next_hop_list: tuple[str, ...] = ()  # an ECMP entry (NextHopList): 2 to 4 of the VRouter's router interfaces
    weights: tuple[int, ...] = ()        # NextHopList's weights: all 100 (ECMP), or 100 and 0 (active/standby)

    @property
    def next_hops(self) -> tuple[str, ...]:
        return self.next_hop_list or (self.next_hop_id,)

    @property
    def active_standby(self) -> bool:
        """Two next hops weighted 100 and 0: the second carries traffic only while the first cannot."""
        return 0 in self.weights

    def standby(self, hop: str) -> bool:
        return self.active_standby and self.weights[self.next_hop_list.index(hop)] == 0


@dataclass
class RouteTable:
    id: str
    router_id: str
    entries: list[RouteEntry] = field(default_factory=list)


@dataclass
class Instance:
    id: str
    vswitch_id: str
    ip: IPv4Address
    name: str = ""


@dataclass
class VSwitch:
    """An Alibaba vSwitch or a JD Cloud subnet: a block of the VPC where instances live."""

    id: str
    vpc_id: str
    cidr: IPv4Network
    zone: str
    gateway: IPv4Interface
    instances: dict[str, Instance] = field(default_factory=dict)


@dataclass
class Vpc:
    id: str
    account: str
    name: str
    region: str
    cidr: IPv4Network
    vrouter_id: str
    route_table: RouteTable
    vswitches: dict[str, VSwitch] = field(default_factory=dict)


@dataclass
class PhysicalConnection:
    id: str
    account: str
    name: str
    access_point: str
    bandwidth_mbps: int
    status: PhysicalConnectionStatus = PhysicalConnectionStatus.ENABLED
    impairment: Impairment = Impairment()
    failed_silently: bool = False   # the emulator's fault: the provider's network drops every frame of the line
                                    # while its port stays up (no carrier loss: only BFD or a health check notices)

    @property
    def passes_nothing(self) -> bool:
        """Its port is up but no frame crosses it: a silent failure, or a loss of 100 % (`loss_percent: 100`, the
        lab's `line set ... loss 100`), which explain and BGP must treat alike, as the wire does."""
        return self.failed_silently or self.impairment.loss_percent >= 100

    @property
    def forwards(self) -> bool:
        return self.status is PhysicalConnectionStatus.ENABLED and not self.passes_nothing


@dataclass(frozen=True)
class Bfd:
    """One end's BFD timers: the slowest rate it accepts (min_rx_ms), the rate it wants to send at (min_tx_ms) and
    how many missed packets end the session (multiplier)."""

    min_rx_ms: int = 1000
    min_tx_ms: int = 1000
    multiplier: int = 3

    def detection_s(self, remote: Bfd) -> float:
        """RFC 5880 6.8.4: how long this end waits without a packet from `remote` before declaring it down."""
        return remote.multiplier * max(self.min_rx_ms, remote.min_tx_ms) / 1000


@dataclass
class Vbr:
    id: str
    account: str
    name: str
    physical_connection_id: str
    vlan_id: int
    local_gateway: IPv4Interface
    peer_gateway: IPv4Interface
    route_table: RouteTable
    bfd: Bfd = Bfd()          # CreateVirtualBorderRouter's MinRxInterval, MinTxInterval, DetectMultiplier


@dataclass
class HealthCheck:
    """ModifyRouterInterfaceAttribute's health check on a VBR-to-VPC connection: every `rate_ms` a ping from
    `source_ip` to `target_ip` (the customer side of the VBR's line); `threshold` unanswered in a row and the line
    is unhealthy, and the VPC's routes over this connection stop carrying traffic. `healthy` is the verdict now
    (the running prober's; True until it says otherwise)."""

    source_ip: IPv4Address
    target_ip: IPv4Address
    rate_ms: int
    threshold: int
    healthy: bool = True

    @property
    def detection_s(self) -> float:
        """How long after a line stops answering the check declares it unhealthy, at most."""
        return self.rate_ms * self.threshold / 1000


@dataclass
class RouterInterface:
    id: str
    account: str
    router_type: RouterType
    router_id: str
    role: Role
    spec: str
    opposite_account: str
    opposite_router_type: RouterType
    opposite_router_id: str
    opposite_interface_id: str
    status: RIStatus = RIStatus.IDLE
    history: list[RIStatus] = field(default_factory=lambda: [RIStatus.IDLE])
    bandwidth_mbps: int = 0  # set on connection for the accepting side
    latency_ms: float = 0.0  # the initiator's; the pair carries it, like the bandwidth
    health_check: HealthCheck | None = None   # a VBR's interface towards a VPC: probes the leased line

    @property
    def carries_traffic(self) -> bool:
        return self.status is RIStatus.ACTIVE


@dataclass
class StaticRoute:
    destination: IPv4Network
    next_hop: IPv4Address
    metric: int = 0          # Linux's metric: the lowest of the routes whose link is up carries the traffic


@dataclass
class IdcServer:
    id: str
    ip: IPv4Interface
    gateway: IPv4Address


@dataclass
class IdcSubnet:
    cidr: IPv4Network
    gateway: IPv4Interface
    servers: list[IdcServer] = field(default_factory=list)


@dataclass
class Idc:
    """The customer's data centre: servers and the access device that ends the leased line."""

    id: str
    name: str
    cidr: IPv4Network
    device_id: str
    subnets: list[IdcSubnet] = field(default_factory=list)
    static_routes: list[StaticRoute] = field(default_factory=list)


@dataclass
class BorderGateway:
    """JD Cloud border gateway: one BGP ASN, a route table filled by its VPC attachments."""

    id: str
    account: str
    region: str
    name: str
    asn: int
    route_table: RouteTable


@dataclass
class VpcAttachment:
    """A VPC attached to a border gateway; `segments` are the blocks it propagates into the gateway's table."""

    id: str
    border_gateway_id: str
    vpc_id: str
    all_segments: bool
    segments: list[IPv4Network]
    latency_ms: float = 0.0


@dataclass
class PrivateVirtualInterface:
    """JD Cloud's private virtual interface: one VLAN of a physical connection, ending on a border gateway.

    The same shape as a VBR's end of its line (physical_connection_id, vlan_id, local_gateway = the cloud's
    address, peer_gateway = the customer's), so that the IDC side is built the same way for both.
    """

    id: str
    account: str
    name: str
    physical_connection_id: str
    border_gateway_id: str
    vlan_id: int
    local_gateway: IPv4Interface        # JD Cloud's end: the second address of the /30
    peer_gateway: IPv4Interface         # the customer device's end: the first address
    route_type: str                     # "bgp" or "static"
    customer_asn: int | None            # the client device's AS (BGP only)


@dataclass(frozen=True)
class LineEnd:
    """Where a VLAN of a leased line ends in the cloud: a VBR, or a border gateway's private virtual interface."""

    router_id: str              # the VBR, or the border gateway
    port: str                   # the router's port for this VLAN: the line's ID on a VBR, the interface's ID on a bgw
    owner_id: str               # the VBR, or the private virtual interface
    physical_connection_id: str
    vlan_id: int
    local_gateway: IPv4Interface
    peer_gateway: IPv4Interface


@dataclass
class RoutePropagation:
    """A VPC route table learning the border gateway's routes inside `ranges` (priority 120)."""

    vpc_id: str
    border_gateway_id: str
    ranges: list[IPv4Network]


@dataclass
class VpcPeering:
    """Two VPCs connected directly; not transitive."""

    id: str
    account: str
    vpc_id: str
    peer_vpc_id: str
    status: PeeringStatus = PeeringStatus.ACTIVE
