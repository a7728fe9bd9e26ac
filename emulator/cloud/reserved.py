"""Address blocks nothing in a scenario may use or route to, with why (pure values, shared by the control plane's
operations: VPCs, IDC ranges, route entries, customer routes, BGP networks)."""

from __future__ import annotations

from ipaddress import IPv4Network

PROVIDER_RESERVED = IPv4Network("100.64.0.0/10")   # route entries may not point into it
# Blocks no VPC, IDC or route may use. CreateVpc refuses 100.64.0.0/10, 224.0.0.0/4, 127.0.0.0/8, 169.254.0.0/16
# and blocks starting with 0 (its API reference); 240.0.0.0/4 (class E, and the broadcast address) routes nowhere.
RESERVED_BLOCKS: dict[IPv4Network, str] = {
    IPv4Network("0.0.0.0/8"): "'this network' (a block may not start with 0)",
    PROVIDER_RESERVED: "kept by the provider for its own links",
    IPv4Network("127.0.0.0/8"): "loopback",
    IPv4Network("169.254.0.0/16"): "link-local",
    IPv4Network("224.0.0.0/4"): "multicast",
    IPv4Network("240.0.0.0/4"): "reserved (class E) and broadcast",
}


def reserved_container(block: IPv4Network) -> tuple[IPv4Network, str] | None:
    """The reserved block `block` lies inside (a route there reaches nothing), with why; None if none."""
    return next(((reserved, why) for reserved, why in RESERVED_BLOCKS.items() if block.subnet_of(reserved)), None)


def reserved_overlap(block: IPv4Network) -> tuple[IPv4Network, str] | None:
    """The reserved block `block` overlaps, with why it is reserved; None if it is clear of all."""
    return next(((reserved, why) for reserved, why in RESERVED_BLOCKS.items() if block.overlaps(reserved)), None)
