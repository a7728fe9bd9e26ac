"""The scenario file's schema: field names, types and value formats.

Pydantic checks shapes and types (unknown keys refused, models frozen); the
provider's rules live in the control plane, which gets the validated values.
Field names follow the cloud APIs (vlan_id, local_gateway_ip, next_hop_type).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from emulator.cloud.providers import PROVIDER_NAMES
from emulator.impairment import MAX_LATENCY_MS, MAX_LOSS_PERCENT, Impairment, problem

_ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,62}$")


def _cloud_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("an ID must be a string such as vpc-12345678")
    if not _ID_PATTERN.match(value):
        raise ValueError(f"{value[:80]!r} is not a valid ID: start with a letter, then letters, digits, "
                         "'.', '_' or '-', at most 63 characters")
    return value


def _account_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("an account ID is a number such as 12345678")
    text = str(value)
    if not re.fullmatch(r"[0-9]{1,20}", text):
        raise ValueError(f"{text[:80]!r} is not an account ID: use 1 to 20 digits")
    return text


def _cidr(value: object) -> IPv4Network:
    if not isinstance(value, str):
        raise ValueError("a CIDR block is written like 10.10.0.0/16")
    if "/" not in value:
        raise ValueError(f"{value[:80]!r} has no prefix length; write it like 10.10.0.0/16")
    try:
        return IPv4Network(value, strict=True)
    except ValueError as exc:
        try:
            network = IPv4Network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value[:80]!r} is not an IPv4 CIDR block ({exc})") from None
        raise ValueError(f"{value} has host bits set; did you mean {network}?") from None


def _ipv4(value: object) -> IPv4Address:
    if not isinstance(value, str):
        raise ValueError("an IPv4 address is written like 10.100.0.1")
    try:
        return IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value[:80]!r} is not an IPv4 address") from None


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected text")
    text = str(value)
    if len(text) > 200 or any(ord(ch) < 32 for ch in text):
        raise ValueError("text must be one line of at most 200 characters")
    return text


CloudId = Annotated[str, BeforeValidator(_cloud_id)]
AccountId = Annotated[str, BeforeValidator(_account_id, json_schema_input_type=int | str)]
Cidr = Annotated[IPv4Network, BeforeValidator(_cidr)]
IPv4 = Annotated[IPv4Address, BeforeValidator(_ipv4)]
Text = Annotated[str, BeforeValidator(_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Account(Strict):
    id: AccountId
    name: Text = ""


class IdcServer(Strict):
    id: CloudId
    ip: IPv4


class IdcSubnet(Strict):
    cidr: Cidr
    gateway: IPv4 = Field(description="the access device's address in this subnet")
    servers: list[IdcServer] = Field(min_length=1, max_length=16)


class StaticRoute(Strict):
    destination: Cidr
    next_hop: IPv4
    metric: int = Field(default=0, strict=True, ge=0, le=65535,
                        description="Linux's route metric: of several routes to one destination, the lowest whose "
                                    "line is up carries the traffic (a floating static route)")


class AccessDevice(Strict):
    id: CloudId
    name: Text = ""
    static_routes: list[StaticRoute] = Field(default_factory=list, max_length=64,
                                             description="the customer's `ip route DEST NEXT_HOP` commands")


class Idc(Strict):
    id: CloudId
    name: Text = ""
    cidr: Cidr
    subnets: list[IdcSubnet] = Field(min_length=1, max_length=8)
    access_device: AccessDevice


def _provider_range(default, low: int, high: int, description: str):
    """A whole number whose range the control plane checks, with the provider's error code (InvalidParameter.HcRate,
    InvalidVlanId.Malformed, ...). The schema takes any whole number: a coarse bound of its own would answer -1
    with another message than 199. The published JSON schema shows the provider's range, the one that applies."""
    return Field(default=default, strict=True, description=description,
                 json_schema_extra={"minimum": low, "maximum": high})


def _latency(description: str):
    return Field(default=0.0, strict=True, ge=0, le=MAX_LATENCY_MS, description=description)


class PhysicalConnection(Strict):
    id: CloudId
    account: AccountId
    name: Text = ""
    access_point: Text
    bandwidth_mbps: int = Field(strict=True, ge=1, le=100_000)
    latency_ms: float = _latency("one-way delay of the line, each direction (default 0: an ideal line)")
    jitter_ms: float = Field(default=0.0, strict=True, ge=0, le=MAX_LATENCY_MS,
                             description="spread of the delay around latency_ms, at most latency_ms")
    loss_percent: float = Field(default=0.0, strict=True, ge=0, le=MAX_LOSS_PERCENT,
                                description="random loss of packets, each direction")

    @model_validator(mode="after")
    def _jitter_within_latency(self) -> "PhysicalConnection":
        why = problem(Impairment(self.latency_ms, self.jitter_ms, self.loss_percent))
        if why:
            raise ValueError(f"{why}; set jitter_ms at most latency_ms")
        return self


class Instance(Strict):
    id: CloudId
    name: Text = ""
    ip: IPv4


class VSwitch(Strict):
    id: CloudId
    zone: Text = ""
    cidr: Cidr
    instances: list[Instance] = Field(default_factory=list, max_length=16)


class Vpc(Strict):
    id: CloudId
    account: AccountId
    name: Text = ""
    region: Text
    cidr: Cidr
    vrouter_id: CloudId | None = Field(default=None, description="default: the VPC ID followed by -vrouter")
    route_table_id: CloudId
    vswitches: list[VSwitch] = Field(default_factory=list, max_length=16, description="Alibaba Cloud's word")
    subnets: list[VSwitch] = Field(default_factory=list, max_length=16, description="JD Cloud's word")


class BorderGateway(Strict):
    id: CloudId
    account: AccountId
    name: Text = ""
    region: Text
    asn: int = _provider_range(65000, 65000, 65000, "JD Cloud fixes a border gateway's BGP ASN at 65000")
    route_table_id: CloudId


class VpcAttachment(Strict):
    id: CloudId
    border_gateway: CloudId
    vpc: CloudId
    propagate: Literal["all"] | list[CloudId] = Field(
        default="all", description="'all' segments of the VPC, or a list of its subnet IDs")
    latency_ms: float = _latency("one-way delay between the border gateway and the VPC (default 0)")


class RoutePropagation(Strict):
    vpc: CloudId
    border_gateway: CloudId
    ranges: list[Cidr] = Field(min_length=1, max_length=16)


class VpcPeering(Strict):
    id: CloudId
    account: AccountId
    vpc: CloudId
    peer_vpc: CloudId


class Vbr(Strict):
    id: CloudId
    account: AccountId
    name: Text = ""
    physical_connection: CloudId
    vlan_id: int = _provider_range(..., 0, 2999, "the leased line's VLAN tag for this VBR (InvalidVlanId.Malformed)")
    local_gateway_ip: IPv4
    peer_gateway_ip: IPv4
    peering_subnet_mask: Text
    route_table_id: CloudId
    min_rx_interval: int = _provider_range(1000, 200, 1000, "BFD: the slowest rate the VBR accepts, ms (200-1000)")
    min_tx_interval: int = _provider_range(1000, 200, 1000, "BFD: the rate the VBR wants to send at, ms (200-1000)")
    detect_multiplier: int = _provider_range(3, 3, 10, "BFD: missed packets that end the session (3-10)")


class Opposite(Strict):
    account: AccountId
    router_type: Literal["VBR", "VRouter"]
    router_id: CloudId
    interface_id: CloudId


class RouterInterface(Strict):
    id: CloudId
    account: AccountId
    router_type: Literal["VBR", "VRouter"]
    router_id: CloudId
    role: Literal["InitiatingSide", "AcceptingSide"]
    spec: Text
    opposite: Opposite
    latency_ms: float = _latency("one-way delay of the pair across the provider's backbone (initiating side only; "
                                 "default 0)")


class Connect(Strict):
    account: AccountId
    router_interface: CloudId


class EcmpNextHop(Strict):
    next_hop_type: Literal["RouterInterface"] = "RouterInterface"
    next_hop_id: CloudId
    weight: int = _provider_range(100, 0, 100, "100 on every next hop: ECMP; 100 and 0 on two: active/standby")


class HealthCheck(Strict):
    """ModifyRouterInterfaceAttribute's health check on a VBR's router interface towards a VPC."""

    router_interface: CloudId
    health_check_source_ip: IPv4 = Field(description="an idle address of the VPC, or one of 100.96.0.0/16")
    health_check_target_ip: IPv4 = Field(description="the customer device's address on the VBR's line")
    hc_rate: int = _provider_range(2000, 2000, 3000, "ms between probes: 2000-3000")
    hc_threshold: int = _provider_range(8, 3, 8, "unanswered probes in a row that declare the line faulty: 3-8")


class RouteEntry(Strict):
    """CreateRouteEntry: one next hop, or (a VRouter's table) an ECMP route over 2-4 router interfaces."""

    router_id: CloudId
    destination_cidr: Cidr
    next_hop_type: Literal["RouterInterface", "PhysicalConnection", "BorderGateway", "VpcPeering", "VpcAttachment",
                           "PrivateVirtualInterface"] | None = None
    next_hop_id: CloudId | None = None
    next_hop_list: list[EcmpNextHop] | None = Field(default=None, max_length=16,
                                                    description="ECMP: 2 to 4 router interfaces, instead of "
                                                                "next_hop_type and next_hop_id")


ASN = Field(strict=True, ge=1, le=2**32 - 1, description="a 2- or 4-byte AS number")


def _auth_key(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("a BGP key is text such as YourPassword+12345678")
    if not 1 <= len(value) <= 64 or not all(33 <= ord(ch) <= 126 for ch in value):
        raise ValueError("a BGP key is 1 to 64 printable ASCII characters without spaces")
    return value


AuthKey = Annotated[str, BeforeValidator(_auth_key)]


class PrivateVirtualInterface(Strict):
    """JD Cloud Direct Connect: one VLAN of a physical connection to a border gateway, routed by BGP or static."""

    id: CloudId
    account: AccountId
    name: Text = ""
    physical_connection: CloudId
    border_gateway: CloudId
    vlan_id: int = _provider_range(..., 1, 4094, "the physical connection's VLAN tag for this interface "
                                   "(InvalidParameter.VlanId)")
    route_type: Literal["bgp", "static"] = Field(default="bgp", description="the routing method (bgp recommended)")
    customer_asn: int | None = Field(default=None, strict=True, ge=1, le=2**32 - 1,
                                     description="the client device's BGP ASN, 65001-65499 (bgp only)")
    interconnect_cidr: Cidr = Field(description="a /30: the first address is the client's, the second JD Cloud's")
    bgp_key: AuthKey | None = Field(default=None, description="accepted and ignored: JD Cloud's BGP key does not "
                                                              "take effect (do not set one on the client)")


class BgpGroup(Strict):
    """CreateBgpGroup on a VBR: the customer's AS and, optionally, a TCP MD5 key."""

    id: CloudId
    router_id: CloudId = Field(description="the VBR")
    peer_asn: int = ASN
    local_asn: int = Field(default=45104, strict=True, ge=1, le=2**32 - 1,
                           description="the VBR's AS: 45104 (default), 64512-65534 or 4200000000-4294967294; "
                                       "65025 is reserved")
    auth_key: AuthKey | None = None
    is_fake_asn: bool = Field(default=False, strict=True)
    name: Text = ""


class BgpPeer(Strict):
    """CreateBgpPeer in a group: the customer device's address on the leased line."""

    id: CloudId
    bgp_group_id: CloudId
    peer_ip_address: IPv4
    enable_bfd: bool = Field(default=False, strict=True)


class BgpNetwork(Strict):
    """AddBgpNetwork: a block the VBR advertises to its BGP peers."""

    router_id: CloudId
    dst_cidr_block: Cidr


class CustomerBgpNeighbor(Strict):
    ip: IPv4 = Field(description="the VBR's address on the leased line (local_gateway_ip)")
    remote_asn: int = ASN
    password: AuthKey | None = None
    bfd: bool = Field(default=False, strict=True, description="`neighbor IP bfd` (FRR's bfdd)")
    bfd_interval_ms: int = _provider_range(300, 10, 60000, "the device's BFD receive and transmit interval (FRR: "
                                           "10-60000 ms)")
    bfd_multiplier: int = _provider_range(3, 2, 255, "the device's detect-multiplier (FRR: 2-255)")


class CustomerBgp(Strict):
    """BGP on the customer's access device (FRR): its AS, its neighbors, the blocks it advertises."""

    asn: int = ASN
    neighbors: list[CustomerBgpNeighbor] = Field(min_length=1, max_length=8)
    networks: list[Cidr] = Field(default_factory=list, max_length=512)


class Expectation(Strict):
    src: CloudId = Field(alias="from")
    dst: CloudId = Field(alias="to")
    reachable: bool = Field(strict=True)


class Probe(Strict):
    src: CloudId = Field(alias="from")
    dst: CloudId = Field(alias="to")


class Throughput(Strict):
    src: CloudId = Field(alias="from")
    dst: CloudId = Field(alias="to")
    protocol: Literal["tcp"] = "tcp"
    duration_s: int = Field(default=3, strict=True, ge=1, le=60)
    both_directions: bool = Field(default=True, strict=True)


class Performance(Strict):
    """The provider's leased-line performance test between two hosts (as `perf`), as one check of `run`."""

    src: CloudId = Field(alias="from")
    dst: CloudId = Field(alias="to")
    duration_s: int = Field(default=3, strict=True, ge=1, le=60)
    streams: int = Field(default=4, strict=True, ge=1, le=16)


class Failover(Strict):
    """A probe across the events: numbered UDP echoes every interval_ms, and one long TCP transfer."""

    src: CloudId = Field(alias="from")
    dst: CloudId = Field(alias="to")
    interval_ms: int = Field(default=10, strict=True, ge=5, le=1000)
    tcp_mbps: int = Field(default=10, strict=True, ge=0, le=1000, description="the TCP transfer's rate; 0: none")


class Checks(Strict):
    traceroute: list[Probe] = Field(default_factory=list, max_length=16)
    throughput: list[Throughput] = Field(default_factory=list, max_length=8)
    performance: list[Performance] = Field(default_factory=list, max_length=4)
    failover: list[Failover] = Field(default_factory=list, max_length=4)


class Event(Strict):
    """A fault (or its repair) at a time of the run's timeline, seconds after the failover probes start."""

    at_s: float = Field(strict=True, ge=2, le=600, description="seconds after the failover probes start: the first at 2 s at the "
                        "earliest, each at least 2 s after the one before (the failover check reads the line that "
                        "carried the probe in the second before each event, once it has settled)")
    action: Literal["line_down", "line_up", "line_fail", "line_restore", "deactivate", "activate"]
    id: CloudId = Field(description="the physical connection (line_*) or router interface (deactivate, activate)")


class InterfaceRef(Strict):
    account: AccountId
    router_interface: CloudId


class RouteEntryRef(Strict):
    router_id: CloudId
    destination_cidr: Cidr


class Sections(Strict):
    """What the top level and every step may hold, applied in this order: the one place the order is written.

    The loader (scenario.py) walks these fields in declaration order; docs/scenario-reference.md lists them in
    the same order (a unit test compares the two).
    """

    physical_connections: list[PhysicalConnection] = Field(default_factory=list, max_length=8)
    vpcs: list[Vpc] = Field(default_factory=list, max_length=250)
    border_gateways: list[BorderGateway] = Field(default_factory=list, max_length=8)
    vpc_attachments: list[VpcAttachment] = Field(default_factory=list, max_length=250)
    vpc_peerings: list[VpcPeering] = Field(default_factory=list, max_length=64)
    vbrs: list[Vbr] = Field(default_factory=list, max_length=16)
    private_virtual_interfaces: list[PrivateVirtualInterface] = Field(default_factory=list, max_length=400)   # 50 x 8 lines
    router_interfaces: list[RouterInterface] = Field(default_factory=list, max_length=128)
    connect: list[Connect] = Field(default_factory=list, max_length=64)
    deactivate: list[InterfaceRef] = Field(default_factory=list, max_length=64)
    activate: list[InterfaceRef] = Field(default_factory=list, max_length=64)
    health_checks: list[HealthCheck] = Field(default_factory=list, max_length=16)
    route_entries: list[RouteEntry] = Field(default_factory=list, max_length=1024)
    route_propagations: list[RoutePropagation] = Field(default_factory=list, max_length=250)
    delete_route_entries: list[RouteEntryRef] = Field(default_factory=list, max_length=1024)
    bgp_groups: list[BgpGroup] = Field(default_factory=list, max_length=16)
    bgp_peers: list[BgpPeer] = Field(default_factory=list, max_length=64)
    bgp_networks: list[BgpNetwork] = Field(default_factory=list, max_length=128)
    customer_routes: list[StaticRoute] = Field(default_factory=list, max_length=64,
                                               description="`ip route DEST NEXT_HOP` on the IDC's access device")
    customer_bgp: CustomerBgp | None = Field(default=None, description="BGP on the IDC's access device (FRR)")


class Step(Sections):
    """One step of a tutorial: a lab can stop after any step and continue later."""

    title: Text


class ScenarioFile(Sections):
    """A whole scenario file: resources that exist from the start, then the tutorial's steps."""

    name: CloudId
    provider: Literal[PROVIDER_NAMES] = "alibaba"   # type: ignore[valid-type]  (the registered providers)
    title: Text = ""
    reference: Text = ""
    accounts: list[Account] = Field(min_length=1, max_length=16)
    idc: Idc | None = None
    steps: list[Step] = Field(default_factory=list, max_length=64)
    expect: list[Expectation] = Field(default_factory=list, max_length=1024)
    checks: Checks = Field(default_factory=Checks)
    events: list[Event] = Field(default_factory=list, max_length=32)
    settle_s: float = Field(default=20, strict=True, ge=2, le=600, description="how long the probes run after the last event")


def json_schema() -> str:
    """The published JSON schema of scenario files (docs/scenario.schema.json is this, kept current by a test)."""
    import json

    schema = ScenarioFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Cloud hybrid networking emulator scenario"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
