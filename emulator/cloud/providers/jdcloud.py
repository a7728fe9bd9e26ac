"""JD Cloud: subnets, VPC routers, border gateways with VPC attachments and route propagation, VPC peering."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.providers.base import Provider


class JDCloud(Provider):
    NAME = "jdcloud"
    ROUTER_ROLE = "VPC router"
    INSTANCE_ROLE = "VM instance"
    SUBNETS_KEY = "subnets"
    RESOURCES = frozenset({"border gateways", "physical connections", "private virtual interfaces"})
    LOCAL_ROUTE_PER_SUBNET = False      # one local route for the whole VPC CIDR
    ROUTES_INTO_OWN_VPC = False         # the local route covers the VPC: an entry inside it is refused

    def gateway(self, cidr: IPv4Network) -> IPv4Address:
        return cidr.network_address + 1            # the first address

    def usable_range(self, cidr: IPv4Network) -> tuple[IPv4Address, IPv4Address]:
        return cidr.network_address + 2, cidr.broadcast_address - 1   # network, gateway and broadcast reserved
