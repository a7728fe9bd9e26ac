"""Router interface specifications and their bandwidths, as the provider sells them."""

from __future__ import annotations

# Alibaba Cloud router interface specifications (Mbit/s).
SPEC_BANDWIDTH_MBPS: dict[str, int] = {
    "Mini.2": 2,
    "Mini.5": 5,
    "Small.1": 10,
    "Small.2": 20,
    "Small.5": 50,
    "Middle.1": 100,
    "Middle.2": 200,
    "Middle.5": 500,
    "Large.1": 1000,
    "Large.2": 2000,
    "Large.5": 5000,
    "Xlarge.1": 10000,
}

# The accepting side has no specification of its own: it carries the initiator's.
RECEIVER_SPEC = "Negative"

