"""Alibaba Cloud: vSwitches, VRouters, VBRs on leased lines (Express Connect) and router interfaces."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.providers.base import Provider


class AlibabaCloud(Provider):
    NAME = "alibaba"
    ROUTER_ROLE = "VRouter"
    INSTANCE_ROLE = "ECS instance"
    SUBNETS_KEY = "vswitches"
    RESOURCES = frozenset({"physical connections", "VBRs", "router interfaces"})
    LOCAL_ROUTE_PER_SUBNET = True       # a system route per vSwitch
    ROUTES_INTO_OWN_VPC = True          # refused only when more specific than a vSwitch (control plane)

    def gateway(self, cidr: IPv4Network) -> IPv4Address:
        return cidr.broadcast_address - 2          # .253 in a /24

    def usable_range(self, cidr: IPv4Network) -> tuple[IPv4Address, IPv4Address]:
        return cidr.network_address + 1, cidr.broadcast_address - 3   # the first and the last three are reserved
