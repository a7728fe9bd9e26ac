"""What differs between cloud providers, in one object each: addresses, route scope, names, resources.

The control plane, the topology and the scenario loader ask the scenario's
provider instead of comparing its name; a third provider is one new module in
this package that subclasses `Provider` and overrides only what differs.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import ClassVar


class Provider:
    NAME: ClassVar[str]
    ROUTER_ROLE: ClassVar[str]          # what the console calls a VPC's router
    INSTANCE_ROLE: ClassVar[str]        # and its instances
    SUBNETS_KEY: ClassVar[str]          # the scenario key for a VPC's subnets (the console's word)
    RESOURCES: ClassVar[frozenset[str]]  # resource kinds this provider has (see control_plane.require_resource)
    LOCAL_ROUTE_PER_SUBNET: ClassVar[bool]   # True: a system route per subnet; False: one for the whole VPC
    ROUTES_INTO_OWN_VPC: ClassVar[bool]      # may a custom route entry point into the VPC's own CIDR?

    def gateway(self, cidr: IPv4Network) -> IPv4Address:
        """The subnet's gateway address (the VPC router's port towards it)."""
        raise NotImplementedError

    def usable_range(self, cidr: IPv4Network) -> tuple[IPv4Address, IPv4Address]:
        """First and last address an instance may have in the subnet (the rest is reserved)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<provider {self.NAME}>"
