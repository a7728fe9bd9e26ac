"""Bandwidth shaping with HTB, built as argument lists first and run later.

Mininet's TCLink ignores rates above 1000 Mbit/s, and specifications go up to
10 Gbit/s (Xlarge.1), so the emulator sets up tc itself with the same
parameters Mininet uses (HTB, burst 15k), which reach ~95% of the rate as TCP
goodput on these machines.
"""

from __future__ import annotations

HTB_BURST = "15k"


def htb_commands(interface: str, rate_mbps: int) -> list[list[str]]:
    return [
        ["tc", "qdisc", "add", "dev", interface, "root", "handle", "5:", "htb", "default", "1"],
        ["tc", "class", "add", "dev", interface, "parent", "5:", "classid", "5:1", "htb",
         "rate", f"{rate_mbps}mbit", "burst", HTB_BURST],
    ]


def clear_command(interface: str) -> list[str]:
    """Remove any root qdisc (fails harmlessly where there is none)."""
    return ["tc", "qdisc", "del", "dev", interface, "root"]


def offload_commands(interface: str) -> list[list[str]]:
    """The userspace datapath needs checksums and segmentation done in software, or TCP stalls."""
    return [["ethtool", "-K", interface, "rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro", "off"]]
