"""Bandwidth shaping with HTB, built as argument lists first and run later.

Mininet's TCLink ignores rates above 1000 Mbit/s, and specifications go up to
10 Gbit/s (Xlarge.1), so the emulator sets up tc itself.

The ceiling burst matters as much as the rate: HTB's class has a second
bucket (`ceil`, equal to the rate here) whose burst `cburst` defaults to about
one packet. Above ~200 Mbit/s every packet then waits for HTB's watchdog
timer, and a Large.1 (1000 Mbit/s) link between two Open vSwitch userspace
ports let only ~45% of its rate through. `burst` and `cburst` both of one
millisecond at the rate (never below Mininet's 15 kB) give ~95% of the rate as
TCP goodput at every specification (bench/bench_shaping.py).
"""

from __future__ import annotations

MIN_BURST_BYTES = 15_000          # Mininet's HTB burst (15k), right for rates up to ~100 Mbit/s
BURST_SECONDS = 0.001             # one millisecond of the rate in each bucket
HTB_HANDLE = "5:"


def burst_bytes(rate_mbps: float) -> int:
    return max(MIN_BURST_BYTES, int(rate_mbps * 1_000_000 / 8 * BURST_SECONDS))


def htb_commands(interface: str, rate_mbps: float, parent_handle: str = HTB_HANDLE) -> list[list[str]]:
    """A root HTB with one default class at `rate_mbps` (class <handle>1, where netem hangs when there is one)."""
    burst = str(burst_bytes(rate_mbps))
    rate = f"{rate_mbps:g}mbit"
    return [
        ["tc", "qdisc", "add", "dev", interface, "root", "handle", parent_handle, "htb", "default", "1"],
        ["tc", "class", "add", "dev", interface, "parent", parent_handle, "classid", f"{parent_handle}1", "htb",
         "rate", rate, "ceil", rate, "burst", burst, "cburst", burst],
    ]


def clear_command(interface: str) -> list[str]:
    """Remove any root qdisc (fails harmlessly where there is none)."""
    return ["tc", "qdisc", "del", "dev", interface, "root"]


def offload_commands(interface: str) -> list[list[str]]:
    """The userspace datapath needs checksums and segmentation done in software, or TCP stalls."""
    return [["ethtool", "-K", interface, "rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro", "off"]]
