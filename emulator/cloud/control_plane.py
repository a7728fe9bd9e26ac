"""The emulated provider API: operations that accept or refuse like the real one.

Each operation checks the provider's rules and raises `CloudError` with the
provider's error code and a fix; on success it changes the state. The state is
plain data (see resources.py) read by the routing layer. Pure Python: no I/O.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from emulator.cloud.resources import (
    Bfd, Idc, IdcServer, IdcSubnet, Instance, NextHopType, PhysicalConnection, PhysicalConnectionStatus, RIStatus, Role,
    RouteEntry,
    RouterInterface, RouterType, RouteTable, StaticRoute, Vbr, Vpc, VSwitch,
)
from emulator.cloud.specs import RECEIVER_SPEC, SPEC_BANDWIDTH_MBPS
from emulator.cloud.bgp import BgpOperations, check_vbr_bfd
from emulator.cloud.border_gateway import BorderGatewayOperations
from emulator.cloud.direct_connect import DirectConnectOperations
from emulator.cloud.health_check import AUTOMATIC_SOURCE_BLOCK, HealthCheckOperations
from emulator.cloud.providers import PROVIDER_NAMES, PROVIDERS, provider_named
from emulator.cloud.providers.base import Provider
from emulator.cloud.reserved import PROVIDER_RESERVED, RESERVED_BLOCKS, reserved_container, reserved_overlap  # noqa: F401
from emulator.errors import CloudError
from emulator.impairment import IDEAL, Impairment
from emulator.impairment import problem as impairment_problem

# Error codes are the provider's own strings where its API reference lists one (ConnectRouterInterface,
# CreateRouterInterface, ...), spelling included ("InvalidSpec.ValudNotSupported"); the others follow
# the provider's naming pattern.
MAX_ROUTER_INTERFACES_PER_ROUTER = 5
MAX_VPCS_PER_LEASED_LINE = 5
# Custom route entries per route table. A VRouter's table: 200 (CreateRouteEntry's API reference, "a route table
# can contain up to 200 custom route entries"); a VBR's table: 48 (the Express Connect limits of the era of the
# tutorial; current documents do not list a VBR figure). See docs/scenario-reference.md.
MAX_ROUTE_ENTRIES_VROUTER = 200
MAX_ROUTE_ENTRIES_VBR = 48
MAX_STATIC_ROUTES_PER_GATEWAY = 50   # JD Cloud Direct Connect restrictions: static routes per border gateway
MAX_ECMP_NEXT_HOPS = 4      # CreateRouteEntry's NextHopList: 2 to 4 router interfaces (ROS ALIYUN::ECS::Route)
VLAN_RANGE = range(0, 3000)



class ControlPlane(BorderGatewayOperations, DirectConnectOperations, BgpOperations, HealthCheckOperations):
    """State of one emulated cloud plus the customer's IDC, changed only by operations.

    `provider` names the provider whose conventions apply (emulator/cloud/providers/:
    gateway and reserved addresses, local route scope, which resources exist).
    """

    def __init__(self, provider: str = "alibaba") -> None:
        found = provider_named(provider)
        if found is None:
            raise CloudError("InvalidParameter.Provider", f"unknown provider {provider!r}",
                             fix="use one of: " + ", ".join(f"provider: {name}" for name in PROVIDER_NAMES))
        self.provider: Provider = found
        BorderGatewayOperations.__init__(self)
        DirectConnectOperations.__init__(self)
        BgpOperations.__init__(self)
        self.accounts: dict[str, str] = {}
        self.vpcs: dict[str, Vpc] = {}
        self.physical_connections: dict[str, PhysicalConnection] = {}
        self.vbrs: dict[str, Vbr] = {}
        self.router_interfaces: dict[str, RouterInterface] = {}
        self.idcs: dict[str, Idc] = {}
        self._ids: set[str] = set()

    # ----- lookups -------------------------------------------------------------------------

    def vpc_of_vrouter(self, vrouter_id: str) -> Vpc | None:
        return next((vpc for vpc in self.vpcs.values() if vpc.vrouter_id == vrouter_id), None)

    def router_account(self, router_type: RouterType, router_id: str) -> str | None:
        if router_type is RouterType.VBR:
            vbr = self.vbrs.get(router_id)
            return vbr.account if vbr else None
        vpc = self.vpc_of_vrouter(router_id)
        return vpc.account if vpc else None

    def route_table_of(self, router_id: str) -> RouteTable | None:
        if router_id in self.vbrs:
            return self.vbrs[router_id].route_table
        if router_id in self.border_gateways:
            return self.border_gateways[router_id].route_table
        vpc = self.vpc_of_vrouter(router_id)
        return vpc.route_table if vpc else None

    def interfaces_of(self, router_id: str) -> list[RouterInterface]:
        return [ri for ri in self.router_interfaces.values() if ri.router_id == router_id]

    def idc_server_ids(self) -> list[str]:
        """Every IDC's servers, in the file's order (the hosts on the customer's side)."""
        return [server.id for idc in self.idcs.values() for subnet in idc.subnets for server in subnet.servers]

    def vswitch(self, vswitch_id: str) -> VSwitch | None:
        for vpc in self.vpcs.values():
            if vswitch_id in vpc.vswitches:
                return vpc.vswitches[vswitch_id]
        return None

    # ----- helpers -------------------------------------------------------------------------

    def _claim_id(self, resource_id: str, kind: str, where: str) -> None:
        if resource_id in self._ids:
            raise CloudError("InvalidParameter.DuplicateId",
                             f"{kind} ID {resource_id} is already used by another resource",
                             fix="give every resource its own ID", where=where)
        self._ids.add(resource_id)

    def _require_account(self, account: str, where: str) -> None:
        if account not in self.accounts:
            raise CloudError("InvalidAccount.NotFound", f"account {account} is not declared",
                             fix=f"add account {account} under accounts:", where=where)

    # ----- accounts, VPCs, vSwitches, instances --------------------------------------------------

    def create_account(self, account: str, name: str, where: str = "") -> None:
        if account in self.accounts:
            raise CloudError("InvalidAccount.Duplicate", f"account {account} is declared twice",
                             fix="declare each account once", where=where)
        self.accounts[account] = name

    def create_vpc(self, *, account: str, vpc_id: str, name: str, region: str, cidr: IPv4Network,
                   vrouter_id: str, route_table_id: str, where: str = "") -> Vpc:
        self._require_account(account, where)
        if not 8 <= cidr.prefixlen <= 28:
            raise CloudError("InvalidCidrBlock.Malformed",
                             f"VPC CIDR {cidr} must have a prefix length between /8 and /28",
                             fix="use a block such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 or a subnet of one",
                             where=where)
        reserved = reserved_overlap(cidr)
        if reserved is not None:
            raise CloudError("InvalidCidrBlock.Reserved",
                             f"VPC CIDR {cidr} overlaps {reserved[0]} ({reserved[1]}), which CreateVpc refuses",
                             fix="use 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or a subnet of one", where=where)
        self._claim_id(vpc_id, "VPC", where)
        self._claim_id(vrouter_id, "VRouter", where)
        self._claim_id(route_table_id, "route table", where)
        vpc = Vpc(id=vpc_id, account=account, name=name, region=region, cidr=cidr, vrouter_id=vrouter_id,
                  route_table=RouteTable(id=route_table_id, router_id=vrouter_id))
        self.vpcs[vpc_id] = vpc
        return vpc

    def create_vswitch(self, *, vpc_id: str, vswitch_id: str, zone: str, cidr: IPv4Network,
                       where: str = "") -> VSwitch:
        vpc = self.vpcs[vpc_id]
        if not cidr.subnet_of(vpc.cidr):
            raise CloudError("InvalidCidrBlock.NotInVpc",
                             f"vSwitch CIDR {cidr} is not inside {vpc.id}'s CIDR {vpc.cidr}",
                             fix=f"choose a block inside {vpc.cidr}", where=where)
        if not 16 <= cidr.prefixlen <= 29:
            raise CloudError("InvalidCidrBlock.Malformed",
                             f"vSwitch CIDR {cidr} must have a prefix length between /16 and /29",
                             fix="use for instance a /24", where=where)
        for other in vpc.vswitches.values():
            if other.cidr.overlaps(cidr):
                raise CloudError("InvalidCidrBlock.Overlapped",
                                 f"vSwitch CIDR {cidr} overlaps {other.id} ({other.cidr}) in {vpc.id}",
                                 fix="give each vSwitch of a VPC its own block", where=where)
        self._claim_id(vswitch_id, "vSwitch", where)
        gateway = self.provider.gateway(cidr)
        vswitch = VSwitch(id=vswitch_id, vpc_id=vpc_id, cidr=cidr, zone=zone,
                          gateway=IPv4Interface(f"{gateway}/{cidr.prefixlen}"))
        vpc.vswitches[vswitch_id] = vswitch
        return vswitch

    def create_instance(self, *, vswitch_id: str, instance_id: str, ip: IPv4Address, name: str = "",
                        where: str = "") -> Instance:
        vswitch = self.vswitch(vswitch_id)
        assert vswitch is not None  # the loader nests instances under their vSwitch
        first_usable, last_usable = self.provider.usable_range(vswitch.cidr)
        if ip not in vswitch.cidr:
            raise CloudError("InvalidPrivateIpAddress.NotInVSwitch",
                             f"instance IP {ip} is not inside {vswitch.id} ({vswitch.cidr})",
                             fix=f"choose an address inside {vswitch.cidr}", where=where)
        if not first_usable <= ip <= last_usable:
            raise CloudError("InvalidPrivateIpAddress.Reserved",
                             f"{ip} is reserved by the provider in {vswitch.cidr} "
                             f"(see the provider's reserved addresses)",
                             fix=f"choose an address between {first_usable} and {last_usable}",
                             where=where)
        for other in vswitch.instances.values():
            if other.ip == ip:
                raise CloudError("InvalidPrivateIpAddress.Duplicated",
                                 f"{ip} is already used by instance {other.id}",
                                 fix="give each instance its own address", where=where)
        self._claim_id(instance_id, "instance", where)
        instance = Instance(id=instance_id, vswitch_id=vswitch_id, ip=ip, name=name)
        vswitch.instances[instance_id] = instance
        return instance

    def require_resource(self, what: str, where: str) -> None:
        """Refuse a resource kind this scenario's provider does not have, naming the one that has it."""
        if what in self.provider.RESOURCES:
            return
        owner = next((p.NAME for p in PROVIDERS.values() if what in p.RESOURCES), "another provider")
        raise CloudError("InvalidParameter.Provider",
                         f"{what} belong to {owner}, but this scenario's provider is {self.provider.NAME}",
                         fix=f"set provider: {owner} at the top of the file, or remove the {what}", where=where)

    # ----- the customer's IDC ------------------------------------------------------------------

    def create_idc(self, *, idc_id: str, name: str, cidr: IPv4Network, device_id: str,
                   where: str = "") -> Idc:
        self._claim_id(idc_id, "IDC", where)
        self._claim_id(device_id, "access device", where)
        reserved = reserved_overlap(cidr)
        if reserved is not None:
            raise CloudError("InvalidCidrBlock.Reserved",
                             f"the IDC's range {cidr} overlaps {reserved[0]} ({reserved[1]}): the cloud cannot route "
                             f"to it", fix="use the IDC's private range, e.g. 172.16.0.0/12", where=where)
        idc = Idc(id=idc_id, name=name, cidr=cidr, device_id=device_id)
        self.idcs[idc_id] = idc
        return idc

    def add_idc_subnet(self, *, idc_id: str, cidr: IPv4Network, gateway: IPv4Address,
                       where: str = "") -> IdcSubnet:
        idc = self.idcs[idc_id]
        if not cidr.subnet_of(idc.cidr):
            raise CloudError("InvalidCidrBlock.NotInIdc", f"IDC subnet {cidr} is not inside the IDC's {idc.cidr}",
                             fix=f"choose a block inside {idc.cidr}", where=where)
        _require_host_address(gateway, cidr, "the subnet gateway", where)
        for other in idc.subnets:
            if other.cidr.overlaps(cidr):
                raise CloudError("InvalidCidrBlock.Overlapped",
                                 f"IDC subnet {cidr} overlaps the IDC's subnet {other.cidr}: the access device would "
                                 f"have two connected routes for the same addresses",
                                 fix=f"give each LAN its own block inside {idc.cidr}", where=where)
        subnet = IdcSubnet(cidr=cidr, gateway=IPv4Interface(f"{gateway}/{cidr.prefixlen}"))
        idc.subnets.append(subnet)
        return subnet

    def add_idc_server(self, *, idc_id: str, subnet: IdcSubnet, server_id: str, ip: IPv4Address,
                       where: str = "") -> IdcServer:
        _require_host_address(ip, subnet.cidr, "the server's address", where)
        if ip == subnet.gateway.ip or any(s.ip.ip == ip for s in subnet.servers):
            raise CloudError("InvalidPrivateIpAddress.Duplicated", f"{ip} is already used in {subnet.cidr}",
                             fix="give each server its own address", where=where)
        self._claim_id(server_id, "server", where)
        server = IdcServer(id=server_id, ip=IPv4Interface(f"{ip}/{subnet.cidr.prefixlen}"),
                           gateway=subnet.gateway.ip)
        subnet.servers.append(server)
        return server

    def add_idc_static_route(self, *, idc_id: str, destination: IPv4Network, next_hop: IPv4Address, metric: int = 0,
                             where: str = "") -> None:
        """The customer's `ip route DEST NEXT_HOP [metric M]` on the access device. Several routes to one destination
        need different metrics: the lowest whose line is up carries the traffic (a floating static route)."""
        idc = self.idcs[idc_id]
        connected = [subnet.cidr for subnet in idc.subnets] + [end.peer_gateway.network for end in self.line_ends()]
        if not any(next_hop in network for network in connected):
            gateways = ", ".join(str(end.local_gateway.ip) for end in self.line_ends()) or "none yet"
            raise CloudError("InvalidNextHop.Unreachable",
                             f"next hop {next_hop} is on none of the access device's links "
                             f"({', '.join(map(str, connected))})",
                             fix=f"use the VBR's side of the leased line as next hop ({gateways})", where=where)
        inside = reserved_container(destination)
        health_check_source = destination.prefixlen == 32 and destination.subnet_of(AUTOMATIC_SOURCE_BLOCK)
        if inside is not None and not health_check_source:
            raise CloudError("InvalidDestinationCidrBlock.Reserved",
                             f"{destination} is inside {inside[0]} ({inside[1]}): nothing there can be reached",
                             fix="route the VPCs' blocks, e.g. ip route 192.168.0.0/16 10.100.0.1 (a health check's "
                                 f"source in {AUTOMATIC_SOURCE_BLOCK} is routed as a /32)", where=where)
        same = [r for r in idc.static_routes if r.destination == destination]
        if any(r.metric == metric for r in same):
            raise CloudError("InvalidCidrBlock.Duplicate",
                             f"the access device already has a route to {destination} with metric {metric}",
                             fix="give a backup route a higher metric (a floating static route)", where=where)
        if any(r.next_hop == next_hop for r in same):
            raise CloudError("InvalidCidrBlock.Duplicate",
                             f"the access device already routes {destination} via {next_hop}",
                             fix="a backup route goes via the other line's VBR", where=where)
        idc.static_routes.append(StaticRoute(destination=destination, next_hop=next_hop, metric=metric))

    # ----- leased lines and VBRs ----------------------------------------------------------------

    def create_physical_connection(self, *, account: str, pc_id: str, name: str, access_point: str,
                                   bandwidth_mbps: int, impairment: Impairment = IDEAL,
                                   where: str = "") -> PhysicalConnection:
        self.require_resource("physical connections", where)
        self._require_account(account, where)
        self._claim_id(pc_id, "physical connection", where)
        pc = PhysicalConnection(id=pc_id, account=account, name=name, access_point=access_point,
                                bandwidth_mbps=bandwidth_mbps, impairment=impairment)
        self.physical_connections[pc_id] = pc
        return pc

    def modify_physical_connection_impairment(self, *, pc_id: str, impairment: Impairment,
                                              where: str = "") -> PhysicalConnection:
        """The emulator's own operation (the line's physics, not a console setting): change delay, jitter, loss."""
        pc = self.physical_connections.get(pc_id)
        if pc is None:
            raise CloudError("InvalidPhysicalConnectionId.NotFound", f"no physical connection {pc_id}",
                             fix="name one of: " + (", ".join(self.physical_connections) or "none"), where=where)
        why = impairment_problem(impairment)
        if why:
            raise CloudError("InvalidParameter", why, fix="set jitter at most the latency", where=where)
        pc.impairment = impairment
        return pc

    def owned_connection(self, account: str, pc_id: str, not_owner_code: str, fix: str,
                         where: str) -> PhysicalConnection:
        """The physical connection a VLAN is created on: it must exist and belong to `account`."""
        self._require_account(account, where)
        pc = self.physical_connections.get(pc_id)
        if pc is None:
            raise CloudError("InvalidPhysicalConnectionId.NotFound", f"physical connection {pc_id} does not exist",
                             fix="declare it under physical_connections:", where=where)
        if pc.account != account:
            raise CloudError(not_owner_code, f"physical connection {pc.id} belongs to account {pc.account}, not "
                             f"{account}", fix=fix, where=where)
        return pc

    def create_vbr(self, *, account: str, vbr_id: str, name: str, physical_connection_id: str, vlan_id: int,
                   local_gateway_ip: IPv4Address, peer_gateway_ip: IPv4Address, peering_subnet_mask: str,
                   route_table_id: str, bfd: Bfd | None = None, where: str = "") -> Vbr:
        self.require_resource("VBRs", where)
        bfd = check_vbr_bfd(bfd or Bfd(), where)
        pc = self.owned_connection(account, physical_connection_id, "Forbidden.NotOwner",
                                   "create the VBR in the leased line owner's account", where)
        if vlan_id not in VLAN_RANGE:
            raise CloudError("InvalidVlanId.Malformed", f"VLAN ID {vlan_id} is outside 0..2999",
                             fix="choose a VLAN ID between 0 and 2999", where=where)
        for other in self.vbrs.values():
            if other.physical_connection_id == pc.id and other.vlan_id == vlan_id:
                raise CloudError("InvalidVlanId.Used",
                                 f"VLAN {vlan_id} is already used by {other.id} on {pc.id}",
                                 fix="choose another VLAN ID for this VBR", where=where)
        try:
            subnet = IPv4Network(f"{local_gateway_ip}/{peering_subnet_mask}", strict=False)
        except ValueError:
            raise CloudError("InvalidPeeringSubnetMask.Malformed", f"{peering_subnet_mask} is not a netmask",
                             fix="use for instance 255.255.255.252", where=where) from None
        if peer_gateway_ip not in subnet:
            raise CloudError("InvalidIpAddress.NotInSameSubnet",
                             f"local gateway {local_gateway_ip} and peer gateway {peer_gateway_ip} "
                             f"are not in the same subnet {subnet}",
                             fix="put both gateway IPs in one peering subnet, e.g. 10.100.0.1 and 10.100.0.2 with "
                                 "mask 255.255.255.252", where=where)
        for label, ip in (("local gateway", local_gateway_ip), ("peer gateway", peer_gateway_ip)):
            _require_host_address(ip, subnet, f"the {label}", where)
        self._require_clear_of_idc_lans(subnet, peer_gateway_ip, where)
        if local_gateway_ip == peer_gateway_ip:
            raise CloudError("InvalidIpAddress.Duplicated", "local and peer gateway IPs are the same",
                             fix="use two different addresses", where=where)
        self._claim_id(vbr_id, "VBR", where)
        self._claim_id(route_table_id, "route table", where)
        vbr = Vbr(id=vbr_id, account=account, name=name, physical_connection_id=pc.id, vlan_id=vlan_id,
                  local_gateway=IPv4Interface(f"{local_gateway_ip}/{subnet.prefixlen}"),
                  peer_gateway=IPv4Interface(f"{peer_gateway_ip}/{subnet.prefixlen}"),
                  route_table=RouteTable(id=route_table_id, router_id=vbr_id), bfd=bfd)
        self.vbrs[vbr_id] = vbr
        return vbr

    def _require_clear_of_idc_lans(self, interconnect: IPv4Network, peer_gateway_ip: IPv4Address, where: str) -> None:
        """The leased line's interconnect subnet ends on the customer's device: it may not reuse a LAN's addresses."""
        for idc in self.idcs.values():
            for lan in idc.subnets:
                if not lan.cidr.overlaps(interconnect):
                    continue
                server = next((s for s in lan.servers if s.ip.ip == peer_gateway_ip), None)
                clash = (f"the peer gateway {peer_gateway_ip} is the address of IDC server {server.id}" if server
                         else f"the interconnect subnet {interconnect} overlaps the IDC LAN {lan.cidr}")
                raise CloudError("InvalidIpAddress.Conflict",
                                 f"{clash}: the customer's access device would have two routes for those addresses",
                                 fix=f"choose an interconnect subnet outside the IDC's LANs ({', '.join(str(s.cidr) for s in idc.subnets)}), "
                                     "e.g. 10.100.0.1/10.100.0.2 with mask 255.255.255.252", where=where)

    # ----- router interfaces --------------------------------------------------------------------

    def create_router_interface(self, *, account: str, ri_id: str, router_type: RouterType, router_id: str,
                                role: Role, spec: str, opposite_account: str, opposite_router_type: RouterType,
                                opposite_router_id: str, opposite_interface_id: str, latency_ms: float = 0.0,
                                where: str = "") -> RouterInterface:
        self.require_resource("router interfaces", where)
        self._require_account(account, where)
        owner = self.router_account(router_type, router_id)
        if owner is None:
            other = RouterType.VROUTER if router_type is RouterType.VBR else RouterType.VBR
            hint = (f"{router_id} is a {other.value}: set router_type: {other.value}"
                    if self.router_account(other, router_id) else f"declare {router_type.value} {router_id} first")
            raise CloudError("InvalidRouterId.NotFound", f"no {router_type.value} with ID {router_id}",
                             fix=hint, where=where)
        if owner != account:
            raise CloudError("Forbidden.NotOwner", f"{router_id} belongs to account {owner}, not {account}",
                             fix=f"create the interface in account {owner}", where=where)
        if router_type is RouterType.VBR and role is not Role.INITIATOR:
            raise CloudError("InvalidRole.ValueNotSupported",
                             "a VBR's router interface can only be the initiating side",
                             fix="set role: InitiatingSide on the VBR and AcceptingSide on the VPC's interface",
                             where=where)
        if role is Role.INITIATOR and spec not in SPEC_BANDWIDTH_MBPS:
            raise CloudError("InvalidSpec.ValudNotSupported", f"unknown specification {spec!r}",
                             fix="use one of " + ", ".join(SPEC_BANDWIDTH_MBPS), where=where)
        if role is Role.ACCEPTOR and spec != RECEIVER_SPEC:
            raise CloudError("InvalidSpec.ValudNotSupported",
                             f"the accepting side has no specification of its own (got {spec!r})",
                             fix=f"set spec: {RECEIVER_SPEC}; it carries the initiator's bandwidth", where=where)
        if role is Role.ACCEPTOR and latency_ms:
            raise CloudError("InvalidParameter", "the accepting side carries the initiating side's latency_ms",
                             fix="set latency_ms on the initiating side's interface only", where=where)
        if len(self.interfaces_of(router_id)) >= MAX_ROUTER_INTERFACES_PER_ROUTER:
            raise CloudError("QuotaExceeded.RouterInterface",
                             f"{router_id} already has {MAX_ROUTER_INTERFACES_PER_ROUTER} router interfaces",
                             fix="delete an unused router interface first", where=where)
        self._claim_id(ri_id, "router interface", where)
        ri = RouterInterface(id=ri_id, account=account, router_type=router_type, router_id=router_id, role=role,
                             spec=spec, opposite_account=opposite_account, opposite_router_type=opposite_router_type,
                             opposite_router_id=opposite_router_id, opposite_interface_id=opposite_interface_id,
                             bandwidth_mbps=SPEC_BANDWIDTH_MBPS.get(spec, 0), latency_ms=latency_ms)
        self.router_interfaces[ri_id] = ri
        return ri

    def connect_router_interface(self, *, account: str, ri_id: str, where: str = "") -> None:
        """ConnectRouterInterface: only the initiator, from Idle, with both peers set consistently."""
        ri = self.router_interfaces.get(ri_id)
        if ri is None:
            raise CloudError("InvalidRouterInterfaceId.NotFound", f"router interface {ri_id} does not exist",
                             fix="create it under router_interfaces:", where=where)
        if ri.account != account:
            raise CloudError("Forbidden.NotOwner", f"{ri_id} belongs to account {ri.account}, not {account}",
                             fix=f"connect it from account {ri.account}", where=where)
        if ri.role is not Role.INITIATOR:
            raise CloudError("IncorrectRole.NotInitiatingSide",
                             f"{ri_id} is the accepting side; only the initiating side can connect",
                             fix=f"connect {ri.opposite_interface_id} instead", where=where)
        if ri.status is not RIStatus.IDLE:
            raise CloudError("IncorrectRIStatus", f"{ri_id} is {ri.status.value}; it can only connect when Idle",
                             fix="deactivate and reactivate it, or leave it as it is", where=where)
        peer = self.router_interfaces.get(ri.opposite_interface_id)
        if peer is None:
            raise CloudError("IncorrectOppositeInterfaceInfo.NotSet",
                             f"{ri_id} names {ri.opposite_interface_id} as its peer, which does not exist",
                             fix="create the accepting side's interface first", where=where)
        if peer.router_id == ri.router_id:
            raise CloudError("IncorrectOppositeInterfaceInfo", f"{ri_id} and {peer.id} are on the same router",
                             fix="connect router interfaces of two different routers", where=where)
        self._check_peers(ri, peer, where)
        self._check_peers(peer, ri, where)
        if peer.status is not RIStatus.IDLE:
            raise CloudError("IncorrectOppositeRIStatus", f"the peer {peer.id} is {peer.status.value}, not Idle",
                             fix="wait until the peer is Idle", where=where)
        for other in self.router_interfaces.values():
            if (other.id not in (ri.id, peer.id) and other.status is not RIStatus.IDLE
                    and {other.router_id, other.opposite_router_id} == {ri.router_id, peer.router_id}):
                raise CloudError("Forbidden.OnlyOneConnection",
                                 f"{ri.router_id} and {peer.router_id} are already connected by {other.id}",
                                 fix="use the existing pair of router interfaces", where=where)
        if ri.router_type is RouterType.VBR and peer.router_type is RouterType.VROUTER:
            self._check_leased_line_quota(ri, peer, where)
        for side in (ri, peer):
            side.status = RIStatus.CONNECTING
            side.history.append(RIStatus.CONNECTING)
        # The provider completes the handshake by itself; both sides become Active.
        for side in (ri, peer):
            side.status = RIStatus.ACTIVE
            side.history.append(RIStatus.ACTIVE)
        peer.bandwidth_mbps = ri.bandwidth_mbps
        peer.latency_ms = ri.latency_ms

    def _check_peers(self, ri: RouterInterface, peer: RouterInterface, where: str) -> None:
        expected = (peer.account, peer.router_type, peer.router_id, peer.id)
        named = (ri.opposite_account, ri.opposite_router_type, ri.opposite_router_id, ri.opposite_interface_id)
        labels = ("opposite account", "opposite router type", "opposite router ID", "opposite interface ID")
        for label, got, want in zip(labels, named, expected, strict=True):
            if got != want:
                shown_got = got.value if hasattr(got, "value") else got
                shown_want = want.value if hasattr(want, "value") else want
                raise CloudError("IncorrectOppositeInterfaceInfo",
                                 f"{ri.id} names {label} {shown_got}, but its peer {peer.id} has {shown_want}",
                                 fix=f"set {ri.id}'s {label} to {shown_want}", where=where)
        if ri.role is peer.role:
            raise CloudError("IncorrectOppositeInterfaceInfo", f"{ri.id} and {peer.id} are both {ri.role.value}",
                             fix="make one InitiatingSide and the other AcceptingSide", where=where)

    def _check_leased_line_quota(self, ri: RouterInterface, peer: RouterInterface, where: str) -> None:
        pc_id = self.vbrs[ri.router_id].physical_connection_id
        vbrs_on_line = {vbr.id for vbr in self.vbrs.values() if vbr.physical_connection_id == pc_id}
        connected_vpcs = {other.opposite_router_id for other in self.router_interfaces.values()
                          if other.router_id in vbrs_on_line and other.status is not RIStatus.IDLE
                          and other.opposite_router_type is RouterType.VROUTER}
        if peer.router_id not in connected_vpcs and len(connected_vpcs) >= MAX_VPCS_PER_LEASED_LINE:
            raise CloudError("QuotaExceeded.VpcPerPhysicalConnection",
                             f"leased line {pc_id} already connects {MAX_VPCS_PER_LEASED_LINE} VPCs",
                             fix="use another leased line for further VPCs", where=where)

    def _existing_interface(self, ri_id: str, account: str | None, where: str) -> RouterInterface:
        ri = self.router_interfaces.get(ri_id)
        if ri is None:
            known = ", ".join(sorted(self.router_interfaces)) or "none"
            raise CloudError("InvalidRouterInterfaceId.NotFound", f"router interface {ri_id} does not exist",
                             fix=f"use one of: {known}", where=where)
        if account is not None and ri.account != account:
            raise CloudError("Forbidden.NotOwner", f"{ri_id} belongs to account {ri.account}, not {account}",
                             fix=f"act from account {ri.account}", where=where)
        return ri

    def _set_status(self, ri: RouterInterface, status: RIStatus) -> None:
        ri.status = status
        ri.history.append(status)

    def deactivate_router_interface(self, *, ri_id: str, account: str | None = None, where: str = "") -> None:
        """DeactivateRouterInterface: Active -> Inactive; the pair stops carrying traffic."""
        ri = self._existing_interface(ri_id, account, where)
        if ri.status is not RIStatus.ACTIVE:
            raise CloudError("IncorrectRIStatus", f"{ri_id} is {ri.status.value}; only an Active interface can be "
                             "deactivated", fix=f"nothing to do: {ri_id} is Inactive already (ri activate {ri_id} "
                             "brings it back)" if ri.status is RIStatus.INACTIVE
                             else f"connect {ri_id}'s pair first", where=where)
        self._set_status(ri, RIStatus.INACTIVE)

    def activate_router_interface(self, *, ri_id: str, account: str | None = None, where: str = "") -> None:
        """ActivateRouterInterface: Inactive -> Active."""
        ri = self._existing_interface(ri_id, account, where)
        if ri.status is not RIStatus.INACTIVE:
            fix = (f"nothing to do: {ri_id} is Active already" if ri.status is RIStatus.ACTIVE else
                   f"an {ri.status.value} pair is connected by its initiator instead (a `connect:` entry)")
            raise CloudError("IncorrectRIStatus", f"{ri_id} is {ri.status.value}; only an Inactive interface can be "
                             "activated", fix=fix, where=where)
        self._set_status(ri, RIStatus.ACTIVE)

    def delete_router_interface(self, *, ri_id: str, account: str | None = None, where: str = "") -> None:
        """DeleteRouterInterface: only when Idle or Inactive, and no route entry may use it."""
        ri = self._existing_interface(ri_id, account, where)
        if ri.status not in (RIStatus.IDLE, RIStatus.INACTIVE):
            raise CloudError("IncorrectRIStatus", f"{ri_id} is {ri.status.value}; only Idle or Inactive interfaces "
                             "can be deleted", fix=f"deactivate {ri_id} first", where=where)
        table = self.route_table_of(ri.router_id)
        users = [str(e.destination) for e in table.entries if ri_id in e.next_hops] if table else []
        if users:
            raise CloudError("DependencyViolation.RouteEntry",
                             f"route entries of {ri.router_id} still use {ri_id}: {', '.join(users)}",
                             fix="delete those route entries first", where=where)
        del self.router_interfaces[ri_id]
        self._ids.discard(ri_id)
        peer = self.router_interfaces.get(ri.opposite_interface_id)
        if peer is not None and peer.status is not RIStatus.IDLE:
            self._set_status(peer, RIStatus.IDLE)   # the connection is gone; the peer can be paired again

    def set_physical_connection_state(self, *, pc_id: str, up: bool, where: str = "") -> None:
        """Take a leased line down (as a fibre cut or a disabled port would) or bring it back."""
        pc = self.physical_connections.get(pc_id)
        if pc is None:
            raise CloudError("InvalidPhysicalConnectionId.NotFound", f"physical connection {pc_id} does not exist",
                             fix="use one of: " + (", ".join(self.physical_connections) or "none"), where=where)
        wanted = PhysicalConnectionStatus.ENABLED if up else PhysicalConnectionStatus.DOWN
        if pc.status is wanted:
            raise CloudError("IncorrectStatus.PhysicalConnection", f"{pc_id} is already {wanted.value}",
                             fix="nothing to do", where=where)
        pc.status = wanted

    def set_physical_connection_failure(self, *, pc_id: str, failed: bool, where: str = "") -> None:
        """The emulator's fault injection (no console operation): the line silently drops every frame while its
        port stays up, as a fault inside the provider's network would, or carries them again."""
        pc = self.physical_connections.get(pc_id)
        if pc is None:
            raise CloudError("InvalidPhysicalConnectionId.NotFound", f"physical connection {pc_id} does not exist",
                             fix="use one of: " + (", ".join(self.physical_connections) or "none"), where=where)
        if pc.failed_silently == failed:
            raise CloudError("IncorrectStatus.PhysicalConnection",
                             f"{pc_id} is {'already failing' if failed else 'not failing'}", fix="nothing to do",
                             where=where)
        pc.failed_silently = failed

    # ----- route tables -------------------------------------------------------------------------

    def add_route_entry(self, *, router_id: str, destination: IPv4Network, next_hop_type: NextHopType | None = None,
                        next_hop_id: str | None = None, next_hop_list: list[str] | None = None,
                        weights: list[int] | None = None, where: str = "") -> RouteEntry:
        """CreateRouteEntry: one next hop (NextHopType, NextHopId), or an ECMP route over 2-4 router interfaces
        (NextHopList; a VRouter's table only)."""
        next_hop_type, next_hop_id = self._next_hop_or_list(router_id, next_hop_type, next_hop_id, next_hop_list,
                                                            where)
        table = self.route_table_of(router_id)
        if table is None:
            raise CloudError("InvalidRouterId.NotFound", f"no VBR or VRouter with ID {router_id}",
                             fix="name a VBR ID or a VPC's vrouter_id", where=where)
        if any(entry.destination == destination for entry in table.entries):
            raise CloudError("InvalidCIDRBlock.Duplicate",
                             f"{table.id} already has a route entry for {destination}",
                             fix="delete the existing entry or choose another destination", where=where)
        kind, quota = (("VBR", MAX_ROUTE_ENTRIES_VBR) if router_id in self.vbrs else
                       ("border gateway", MAX_STATIC_ROUTES_PER_GATEWAY) if router_id in self.border_gateways else
                       ("VRouter", MAX_ROUTE_ENTRIES_VROUTER))
        if len(table.entries) >= quota:
            raise CloudError("QuotaExceeded.RouteEntry",
                             f"{table.id} already has {quota} custom route entries, the most a {kind}'s route table "
                             "may hold", fix="summarise routes into fewer prefixes", where=where)
        inside = reserved_container(destination)
        if inside is not None:
            raise CloudError("InvalidDestinationCidrBlock.Reserved",
                             f"{destination} is inside {inside[0]} ({inside[1]}), which no route entry may point at",
                             fix=f"route a destination outside {inside[0]}", where=where)
        vpc = self.vpc_of_vrouter(router_id)
        if vpc is not None and not self.provider.ROUTES_INTO_OWN_VPC and destination.subnet_of(vpc.cidr):
            raise CloudError("InvalidDestinationCidrBlock.InVpc",
                             f"{destination} is inside {vpc.id}'s own CIDR {vpc.cidr}, which is the local route",
                             fix="route only destinations outside the VPC", where=where)
        if vpc is not None:
            # Alibaba: not equal to, nor inside, a vSwitch's block (it may contain one).
            for vswitch in vpc.vswitches.values():
                if destination.subnet_of(vswitch.cidr):
                    raise CloudError("InvalidDestinationCidrBlock.InVpc",
                                     f"{destination} is inside {vswitch.id}'s block {vswitch.cidr}, a system route",
                                     fix="route only destinations that are not inside a vSwitch", where=where)
        for hop in next_hop_list or [next_hop_id]:
            self._check_next_hop(router_id, next_hop_type, hop, where)
            self._check_overlap(router_id, table, destination, next_hop_type, hop, where)
        entry = RouteEntry(destination=destination, next_hop_type=next_hop_type, next_hop_id=next_hop_id,
                           next_hop_list=tuple(next_hop_list or ()),
                           weights=_checked_weights(weights, len(next_hop_list or ()), where))
        table.entries.append(entry)
        return entry

    def _next_hop_or_list(self, router_id: str, next_hop_type: NextHopType | None, next_hop_id: str | None,
                          next_hop_list: list[str] | None, where: str) -> tuple[NextHopType, str]:
        """CreateRouteEntry's rule: NextHopType and NextHopId, or NextHopList (ECMP), never both."""
        if not next_hop_list:
            if next_hop_type is None or not next_hop_id:
                raise CloudError("MissingParameter.NextHop", "a route entry needs next_hop_type and next_hop_id, or "
                                 "a next_hop_list", fix="name the next hop, or list 2 to 4 router interfaces under "
                                 "next_hop_list (ECMP)", where=where)
            return next_hop_type, next_hop_id
        if next_hop_type is not None or next_hop_id:
            raise CloudError("InvalidParameter.NextHopList", "an ECMP route entry gives next_hop_list instead of "
                             "next_hop_type and next_hop_id, not both", fix="remove next_hop_type and next_hop_id",
                             where=where)
        if router_id in self.vbrs:
            raise CloudError("InvalidParameter.NextHopList", f"{router_id} is a VBR: a VBR's route table takes no "
                             "ECMP route (NextHopList)", fix="give the VBR one next hop per destination", where=where)
        if not 2 <= len(next_hop_list) <= MAX_ECMP_NEXT_HOPS or len(set(next_hop_list)) != len(next_hop_list):
            raise CloudError("InvalidParameter.NextHopList",
                             f"an ECMP route lists 2 to {MAX_ECMP_NEXT_HOPS} different router interfaces, not "
                             f"{', '.join(next_hop_list)}", fix="list 2 to 4 of this VRouter's router interfaces",
                             where=where)
        return NextHopType.ROUTER_INTERFACE, next_hop_list[0]

    def delete_route_entry(self, *, router_id: str, destination: IPv4Network, where: str = "") -> RouteEntry:
        table = self.route_table_of(router_id)
        if table is None:
            raise CloudError("InvalidRouterId.NotFound", f"no VBR or VRouter with ID {router_id}",
                             fix="name a VBR ID or a VPC's vrouter_id", where=where)
        entry = next((e for e in table.entries if e.destination == destination), None)
        if entry is None:
            listed = ", ".join(str(e.destination) for e in table.entries) or "none"
            raise CloudError("InvalidRouteEntry.NotFound", f"{table.id} has no custom route entry for {destination}",
                             fix=f"its custom entries are: {listed}", where=where)
        table.entries.remove(entry)
        return entry

    def _check_gateway_next_hop(self, router_id: str, next_hop_type: NextHopType, next_hop_id: str,
                                where: str) -> None:
        """A border gateway's static route leads to one of its VPC attachments or private virtual interfaces."""
        if router_id not in self.border_gateways:
            raise CloudError("InvalidNextHopType.NotSupported", f"only a border gateway routes to a {next_hop_type.value}",
                             fix="use next_hop_type: BorderGateway from a VPC's table", where=where)
        owned = ([a.id for a in self.attachments.values() if a.border_gateway_id == router_id]
                 if next_hop_type is NextHopType.VPC_ATTACHMENT else
                 [p.id for p in self.private_virtual_interfaces.values() if p.border_gateway_id == router_id]
                 if next_hop_type is NextHopType.PRIVATE_VIRTUAL_INTERFACE else None)
        if owned is None:
            raise CloudError("InvalidNextHopType.NotSupported",
                             f"a border gateway's static route leads to a VpcAttachment or a PrivateVirtualInterface, "
                             f"not a {next_hop_type.value}", fix="use next_hop_type: VpcAttachment or "
                             "PrivateVirtualInterface", where=where)
        if next_hop_id not in owned:
            raise CloudError("InvalidNextHopId.NotFound", f"{next_hop_id} is not a {next_hop_type.value} of {router_id}",
                             fix="use one of: " + (", ".join(owned) or "none yet"), where=where)

    def networks_behind(self, router_id: str, next_hop_type: NextHopType, next_hop_id: str) -> list[IPv4Network]:
        """The address blocks a next hop leads to: the peer VPC's CIDR, or the IDC behind a leased line."""
        if next_hop_type in (NextHopType.PHYSICAL_CONNECTION, NextHopType.PRIVATE_VIRTUAL_INTERFACE):
            return [idc.cidr for idc in self.idcs.values()]
        if next_hop_type is NextHopType.VPC_ATTACHMENT:
            attachment = self.attachments.get(next_hop_id)
            return [self.vpcs[attachment.vpc_id].cidr] if attachment else []
        if next_hop_type is NextHopType.BORDER_GATEWAY:
            return [segment for segment, _attachment in self.gateway_routes(next_hop_id)]
        if next_hop_type is NextHopType.VPC_PEERING:
            peering = self.peerings.get(next_hop_id)
            vpc = self.vpc_of_vrouter(router_id)
            if peering is None or vpc is None:
                return []
            other = peering.peer_vpc_id if peering.vpc_id == vpc.id else peering.vpc_id
            return [self.vpcs[other].cidr]
        ri = self.router_interfaces.get(next_hop_id)
        if ri is None:
            return []
        if ri.opposite_router_type is RouterType.VROUTER:
            vpc = self.vpc_of_vrouter(ri.opposite_router_id)
            return [vpc.cidr] if vpc else []
        vbr = self.vbrs.get(ri.opposite_router_id)
        return [idc.cidr for idc in self.idcs.values()] if vbr else []

    def _check_overlap(self, router_id: str, table: RouteTable, destination: IPv4Network,
                       next_hop_type: NextHopType, next_hop_id: str, where: str) -> None:
        """Overlapping blocks behind different next hops must not meet in one route table."""
        mine = [n for n in self.networks_behind(router_id, next_hop_type, next_hop_id) if n.overlaps(destination)]
        vpc = self.vpc_of_vrouter(router_id)
        if vpc is not None and any(n.overlaps(vpc.cidr) for n in mine):
            raise CloudError("InvalidCidrBlock.Overlapped",
                             f"{destination} -> {next_hop_id} leads to a block overlapping {vpc.id}'s own "
                             f"CIDR {vpc.cidr}",
                             fix="VPCs that talk to each other need non-overlapping CIDRs", where=where)
        for entry in table.entries:
            if entry.next_hop_id == next_hop_id or not entry.destination.overlaps(destination):
                continue
            theirs = [n for n in self.networks_behind(router_id, entry.next_hop_type, entry.next_hop_id)
                      if n.overlaps(entry.destination)]
            clash = [(a, b) for a in mine for b in theirs if a.overlaps(b)]
            if clash:
                a, b = clash[0]
                raise CloudError("InvalidCidrBlock.Overlapped",
                                 f"{destination} -> {next_hop_id} (to {a}) and {entry.destination} -> "
                                 f"{entry.next_hop_id} (to {b}) would meet in {table.id} with overlapping blocks",
                                 fix="narrow one of the two destinations so that they no longer overlap",
                                 where=where)

    def _check_next_hop(self, router_id: str, next_hop_type: NextHopType, next_hop_id: str, where: str) -> None:
        gateway_hops = (NextHopType.VPC_ATTACHMENT, NextHopType.PRIVATE_VIRTUAL_INTERFACE)
        if router_id in self.border_gateways or next_hop_type in gateway_hops:
            self._check_gateway_next_hop(router_id, next_hop_type, next_hop_id, where)
            return
        if next_hop_type is NextHopType.ROUTER_INTERFACE:
            ri = self.router_interfaces.get(next_hop_id)
            if ri is None:
                raise CloudError("InvalidNextHopId.NotFound", f"router interface {next_hop_id} does not exist",
                                 fix="name one of this router's own router interfaces", where=where)
            if ri.router_id != router_id:
                own = ", ".join(r.id for r in self.interfaces_of(router_id)) or "none"
                raise CloudError("InvalidNextHop.NotOwnInterface",
                                 f"{next_hop_id} belongs to {ri.router_id}, not to {router_id} "
                                 f"(the next hop is this router's own interface, not the peer's)",
                                 fix=f"use one of {router_id}'s interfaces: {own}", where=where)
            return
        if next_hop_type is NextHopType.BORDER_GATEWAY:
            vpc = self.vpc_of_vrouter(router_id)
            if vpc is None or self.attachment_of(vpc.id, next_hop_id) is None:
                raise CloudError("InvalidNextHop.NotAttached",
                                 f"{router_id} is not a VPC attached to border gateway {next_hop_id}",
                                 fix="attach the VPC to the border gateway first", where=where)
            return
        if next_hop_type is NextHopType.VPC_PEERING:
            vpc = self.vpc_of_vrouter(router_id)
            peering = self.peerings.get(next_hop_id)
            if peering is None or vpc is None or vpc.id not in (peering.vpc_id, peering.peer_vpc_id):
                mine = [p.id for p in self.peerings.values() if vpc and vpc.id in (p.vpc_id, p.peer_vpc_id)]
                raise CloudError("InvalidNextHopId.NotFound", f"{next_hop_id} is not a peering of {router_id}",
                                 fix="use one of this VPC's peerings: " + (", ".join(mine) or "none"), where=where)
            return
        vbr = self.vbrs.get(router_id)
        if vbr is None:
            raise CloudError("InvalidNextHopType.NotSupported",
                             "only a VBR can route to a physical connection",
                             fix="use next_hop_type: RouterInterface", where=where)
        if next_hop_id != vbr.physical_connection_id:
            raise CloudError("InvalidNextHopId.NotFound",
                             f"{router_id} is on physical connection {vbr.physical_connection_id}, "
                             f"not {next_hop_id}",
                             fix=f"use next_hop_id: {vbr.physical_connection_id}", where=where)





def _require_host_address(ip: IPv4Address, cidr: IPv4Network, label: str, where: str) -> None:
    if ip not in cidr or ip in (cidr.network_address, cidr.broadcast_address):
        raise CloudError("InvalidIpAddress.Malformed", f"{label} {ip} is not a host address of {cidr}",
                         fix=f"choose an address between {cidr.network_address + 1} and "
                             f"{cidr.broadcast_address - 1}", where=where)


def _checked_weights(weights: list[int] | None, hops: int, where: str) -> tuple[int, ...]:
    """NextHopList's weights: every next hop 100 (ECMP, the default), or two next hops weighted 100 and 0: the
    console's active/standby route, whose standby carries traffic only while the active one cannot."""
    if not weights:
        return (100,) * hops
    if any(weight not in (0, 100) for weight in weights):
        raise CloudError("InvalidParameter.Weight", f"weights {', '.join(map(str, weights))}: a next hop's weight is "
                         "100 or 0", fix="weight every next hop 100 (ECMP), or two next hops 100 and 0 "
                         "(active/standby)", where=where)
    if 0 in weights and sorted(weights) != [0, 100]:
        raise CloudError("InvalidParameter.Weight", f"weights {', '.join(map(str, weights))}: an active/standby route "
                         "has exactly two next hops, one weighted 100 (active) and one 0 (standby)",
                         fix="list two router interfaces weighted 100 and 0, or weight every next hop 100 (ECMP)",
                         where=where)
    return tuple(weights)
