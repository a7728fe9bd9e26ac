"""A third provider, as a new provider module would be: its own words for the VPC router and the instances.

tests/unit/test_third_provider.py registers it before the emulator reads its list of providers, as a module
in emulator/cloud/providers/ would be registered in that package's PROVIDERS.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.providers.base import Provider


class ExampleCloud(Provider):
    NAME = "examplecloud"
    ROUTER_ROLE = "Cloud router"
    INSTANCE_ROLE = "Droplet"
    SUBNETS_KEY = "subnets"
    RESOURCES = frozenset()            # VPCs, route tables and peerings only
    LOCAL_ROUTE_PER_SUBNET = False
    ROUTES_INTO_OWN_VPC = False

    def gateway(self, cidr: IPv4Network) -> IPv4Address:
        return cidr.network_address + 1

    def usable_range(self, cidr: IPv4Network) -> tuple[IPv4Address, IPv4Address]:
        return cidr.network_address + 2, cidr.broadcast_address - 1


def register() -> None:
    """Before emulator.schema and the control plane are imported: they read the provider names then."""
    from emulator.cloud import providers

    providers.PROVIDERS[ExampleCloud.NAME] = ExampleCloud()
    providers.PROVIDER_NAMES = tuple(providers.PROVIDERS)
