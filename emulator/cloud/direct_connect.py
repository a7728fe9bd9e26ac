"""JD Cloud's Direct Connect: a private virtual interface puts one VLAN of a physical connection on a border gateway.

A mixin of the control plane. The rules as JD Cloud's Direct Connect guide and
restrictions state them: a private virtual interface names a physical
connection and a border gateway of the same account, a VLAN that no other
interface on that connection uses, a routing method (BGP or static), the
client device's BGP ASN (65001-65499) and a /30 interconnect block inside
10/8, 172.16/12 or 192.168/16 whose first address is the client's and second
JD Cloud's; at most 50 interfaces per physical connection. The border
gateway's side of the session uses the gateway's own ASN (65000 in the
multi-VPC tutorial; the interface guide quotes 64512 for older gateways). The
guide's "BGP key pair" does not take effect and the client must not set one:
the emulator accepts the field and ignores it the same way.
"""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network

from emulator.cloud.resources import LineEnd, PrivateVirtualInterface
from emulator.errors import CloudError

MAX_INTERFACES_PER_CONNECTION = 50
CUSTOMER_ASN_RANGE = range(65001, 65500)
INTERFACE_VLAN_RANGE = range(1, 4095)
INTERCONNECT_BLOCKS = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))
ROUTE_TYPES = ("bgp", "static")


class DirectConnectOperations:
    def __init__(self) -> None:
        self.private_virtual_interfaces: dict[str, PrivateVirtualInterface] = {}

    def line_ends(self) -> list[LineEnd]:
        """Every VLAN of every leased line with its cloud end: the VBRs', then the private virtual interfaces'."""
        ends = [LineEnd(router_id=vbr.id, port=vbr.physical_connection_id, owner_id=vbr.id,
                        physical_connection_id=vbr.physical_connection_id, vlan_id=vbr.vlan_id,
                        local_gateway=vbr.local_gateway, peer_gateway=vbr.peer_gateway) for vbr in self.vbrs.values()]
        ends += [LineEnd(router_id=pvi.border_gateway_id, port=pvi.id, owner_id=pvi.id,
                         physical_connection_id=pvi.physical_connection_id, vlan_id=pvi.vlan_id,
                         local_gateway=pvi.local_gateway, peer_gateway=pvi.peer_gateway)
                 for pvi in self.private_virtual_interfaces.values()]
        return ends

    def create_private_virtual_interface(self, *, account: str, pvi_id: str, name: str, physical_connection_id: str,
                                         bgw_id: str, vlan_id: int, interconnect: IPv4Network, route_type: str,
                                         customer_asn: int | None, where: str = "") -> PrivateVirtualInterface:
        self.require_resource("private virtual interfaces", where)
        pc = self.owned_connection(account, physical_connection_id, "InvalidParameter.CrossAccount",
                                   "create the interface in the physical connection's account", where)
        bgw = self._gateway(bgw_id, where)
        if bgw.account != account:
            raise CloudError("InvalidParameter.CrossAccount",
                             f"border gateway {bgw_id} belongs to account {bgw.account}, not {account}: only the VPC "
                             "resources of the same account can be reached", fix="use a border gateway of this account",
                             where=where)
        on_line = [p for p in self.private_virtual_interfaces.values() if p.physical_connection_id == pc.id]
        if len(on_line) >= MAX_INTERFACES_PER_CONNECTION:
            raise CloudError("QuotaExceeded.PrivateVirtualInterface",
                             f"{pc.id} already carries {MAX_INTERFACES_PER_CONNECTION} private virtual interfaces",
                             fix="use another physical connection (or raise the quota by ticket)", where=where)
        if vlan_id not in INTERFACE_VLAN_RANGE:
            raise CloudError("InvalidParameter.VlanId", f"VLAN ID {vlan_id} is outside 1..4094",
                             fix="choose a VLAN ID between 1 and 4094", where=where)
        clash = next((p for p in on_line if p.vlan_id == vlan_id), None)
        if clash is not None:
            raise CloudError("InvalidParameter.VlanIdConflict", f"VLAN {vlan_id} is already used by {clash.id} on "
                             f"{pc.id}", fix="give each interface on a physical connection its own VLAN", where=where)
        if route_type not in ROUTE_TYPES:
            raise CloudError("InvalidParameter.RouteType", f"routing method {route_type!r} is neither bgp nor static",
                             fix="set route_type: bgp (recommended) or static", where=where)
        if route_type == "bgp" and (customer_asn is None or customer_asn not in CUSTOMER_ASN_RANGE):
            raise CloudError("InvalidParameter.Asn",
                             f"the client device's BGP ASN {customer_asn} is outside 65001-65499" if customer_asn
                             else "a BGP interface needs the client device's BGP ASN",
                             fix="set customer_asn to the AS of the customer's device, 65001-65499 (the tutorial's "
                                 "example: 65001)", where=where)
        self._check_interconnect(interconnect, where)
        hosts = list(interconnect.hosts())
        self._claim_id(pvi_id, "private virtual interface", where)
        pvi = PrivateVirtualInterface(
            id=pvi_id, account=account, name=name, physical_connection_id=pc.id, border_gateway_id=bgw_id,
            vlan_id=vlan_id, local_gateway=IPv4Interface(f"{hosts[1]}/30"), peer_gateway=IPv4Interface(f"{hosts[0]}/30"),
            route_type=route_type, customer_asn=customer_asn if route_type == "bgp" else None)
        self.private_virtual_interfaces[pvi_id] = pvi
        return pvi

    def _check_interconnect(self, block: IPv4Network, where: str) -> None:
        if block.prefixlen != 30:
            raise CloudError("InvalidParameter.InterconnectCidr",
                             f"the interconnect block {block} is not a /30",
                             fix="give a /30: its first address is the client's, its second JD Cloud's "
                                 "(e.g. 10.255.0.0/30)", where=where)
        if not any(block.subnet_of(allowed) for allowed in INTERCONNECT_BLOCKS):
            raise CloudError("InvalidParameter.InterconnectCidr",
                             f"the interconnect block {block} is outside 10/8, 172.16/12 and 192.168/16",
                             fix="choose a /30 in one of the three private ranges", where=where)
        used = [(vpc.cidr, f"{vpc.id}'s CIDR") for vpc in self.vpcs.values()]
        used += [(end.local_gateway.network, f"the line end of {end.owner_id}") for end in self.line_ends()]
        for other, what in used:
            if other.overlaps(block):
                raise CloudError("InvalidParameter.InterconnectCidr",
                                 f"the interconnect block {block} overlaps {what} ({other})",
                                 fix="choose a /30 that no VPC and no other line uses", where=where)
        self._require_clear_of_idc_lans(block, list(block.hosts())[0], where)
