"""What this machine can emulate: detected, never assumed.

The CI machines have no openvswitch kernel module (so the userspace datapath),
no sch_netem (no delay or loss) and no 802.1Q module (VLAN tags are added by
the access point's OpenFlow flows instead); a stock Ubuntu kernel has all three.
Probes run in a throwaway network namespace (`unshare --net`), so they touch
nothing on the host.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from emulator.capabilities import Environment
from emulator.runtime.commands import run

REQUIRED_TOOLS = ("ovs-vsctl", "ovs-ofctl", "mnexec", "tc", "ip", "ethtool", "ping", "fping", "unshare")


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


def _probe(commands: str) -> bool:
    """Run `ip -batch` commands in a fresh network namespace; True if all succeed."""
    result = run(["unshare", "--net", "--", "ip", "-batch", "-"], check=False, stdin=commands, timeout=10)
    return result.returncode == 0


def _probe_tc(qdisc: list[str]) -> bool:
    result = run(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", *qdisc], check=False,
                 timeout=10)
    return result.returncode == 0


def kernel_has_ovs_module() -> bool:
    if Path("/sys/module/openvswitch").exists():
        return True
    if shutil.which("modprobe") is None:
        return False
    return run(["modprobe", "-q", "openvswitch"], check=False, timeout=10).returncode == 0


def detect() -> Environment:
    """The machine's capabilities. Two variables force the fallbacks on a kernel that has the real thing, so
    that both paths can be measured side by side on one kernel (bench/bench_impairment.py, the VM lane):
    CLOUD_EMULATOR_DATAPATH=user (OVS's userspace datapath) and CLOUD_EMULATOR_IMPAIRMENT=delay-line."""
    ovs_module = kernel_has_ovs_module()
    forced = os.environ.get("CLOUD_EMULATOR_DATAPATH")   # "user" forces the userspace datapath
    datapath = forced if forced in ("user", "kernel") else ("kernel" if ovs_module else "user")
    netem = os.environ.get("CLOUD_EMULATOR_IMPAIRMENT") != "delay-line" and _probe_tc(["netem", "delay", "1ms"])
    return Environment(
        datapath=datapath,
        kernel_ovs_module=ovs_module,
        netem=netem,
        vlan_8021q=_probe("link add d0 type dummy\nlink add link d0 name d0.10 type vlan id 10\n"),
        htb=_probe_tc(["handle", "1:", "htb"]),
        delay_line=_probe_packet_socket(),
    )


def _probe_packet_socket() -> bool:
    """The delay line reads and writes frames with AF_PACKET sockets; try to open one in a throwaway namespace."""
    import sys

    code = "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)).close()"
    return run(["unshare", "--net", "--", sys.executable, "-c", code], check=False, timeout=10).returncode == 0
