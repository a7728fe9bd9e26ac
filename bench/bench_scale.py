"""Scale benchmark: the JD Cloud border gateway with N VPCs, next to plain Mininet; prints figures.

For N = 4, 16 and 64 (or --vpcs): the emulator's build time, time until every
bridge holds its flows, ping-matrix time (N*(N-1) pairs) and memory, then a
plain Mininet script that builds the same number of namespaces (N), bridges
(N+1) and links (2N) in the same run, on the same machine. The ratio is the
figure: what the emulator's control plane, controller and checks cost on top
of Mininet itself.

Usage: sudo .venv/bin/python bench/bench_scale.py [--vpcs 4 16 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run_bench import _tree_rss_kib  # noqa: E402
from emulator import generate, runner, scenario, session  # noqa: E402
from emulator.checks import ping  # noqa: E402
from emulator.runtime import cleanup  # noqa: E402
from emulator.runtime.commands import run  # noqa: E402
from emulator.runtime.network import OWNER_KEY  # noqa: E402


def _vswitchd_rss_mib() -> float:
    pid = run(["pidof", "ovs-vswitchd"], check=False).stdout.split()
    if not pid:
        return float("nan")
    for line in Path(f"/proc/{pid[0]}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def emulator_figures(vpcs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bgw{vpcs}.yaml"
        path.write_text(generate.border_gateway(vpcs))
        started = time.monotonic()
        prepared = session.prepare(scenario.load(str(path)))
        plan_s = time.monotonic() - started
    figures: dict[str, float] = {"plan_s": plan_s}
    with runner.live_network(prepared) as live:
        figures["build_s"] = live.timings["build_s"]   # OVS check, capability probes, controller, Mininet
        figures["ready_s"] = live.timings["ready_s"]
        figures["tree_mib"] = _tree_rss_kib(os.getpid()) / 1024
        figures["vswitchd_mib"] = _vswitchd_rss_mib()
        net = prepared.network
        names = {node.id: node.name for node in prepared.plan.nodes}
        pairs = [(names[s], d, str(net.address_of(d))) for s in net.hosts for d in net.hosts if s != d]
        started = time.monotonic()
        echoes = ping.ping_matrix(pairs, live.processes.spawn)
        figures["ping_s"] = time.monotonic() - started
        figures["pairs"] = len(pairs)
        figures["reached"] = sum(1 for pair in echoes.values() if pair.received > 0)
    return figures


def plain_mininet_figures(vpcs: int, datapath: str) -> dict[str, float]:
    """The same namespaces, bridges and links with Mininet alone: no control plane, no flows, no checks."""
    from mininet import log
    from mininet.net import Mininet
    from mininet.node import OVSSwitch

    log.setLogLevel("error")
    started = time.monotonic()
    net = Mininet(topo=None, build=False, controller=None, autoSetMacs=True, waitConnected=False)
    gateway = net.addSwitch("cebgw1", cls=OVSSwitch, dpid="%016x" % 0xce0000, datapath=datapath,
                            failMode="standalone", batch=True)
    for index in range(1, vpcs + 1):
        router = net.addSwitch(f"cevr{index}", cls=OVSSwitch, dpid="%016x" % (0xce0000 + index), datapath=datapath,
                               failMode="standalone", batch=True)
        host = net.addHost(f"cevm{index}", ip=f"10.{index}.1.10/24")
        net.addLink(host, router)
        net.addLink(router, gateway)
    figures: dict[str, float] = {}
    try:
        net.build()
        net.start()
        for switch in net.switches:   # mark them, so that `emulator clean` finds them if this is killed
            run(["ovs-vsctl", "set", "bridge", switch.name, f"external-ids:{OWNER_KEY}={switch.name}"])
        figures["build_s"] = time.monotonic() - started
        figures["tree_mib"] = _tree_rss_kib(os.getpid()) / 1024
        figures["vswitchd_mib"] = _vswitchd_rss_mib()
    finally:
        net.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vpcs", type=int, nargs="+", default=[4, 16, 64])
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the benchmark builds real networks: run it with sudo", file=sys.stderr)
        return 2
    print(f"border gateway with N VPCs, {os.cpu_count()} cores; times in s, memory in MiB "
          "(RSS of this process and its children, and of ovs-vswitchd, with the network up)")
    header = (f"{'N':>3} | {'emu build':>9} {'ready':>6} {'ping':>6} {'pairs':>5} {'tree':>6} {'vswd':>6} | "
              f"{'mn build':>8} {'tree':>6} {'vswd':>6} | {'ready/mn':>8}")
    print(header)
    print("-" * len(header))
    for vpcs in args.vpcs:
        emulated = emulator_figures(vpcs)
        datapath = "user" if not Path("/sys/module/openvswitch").exists() else "kernel"
        plain = plain_mininet_figures(vpcs, datapath)
        print(f"{vpcs:>3} | {emulated['build_s']:9.2f} {emulated['ready_s']:6.2f} {emulated['ping_s']:6.1f} "
              f"{int(emulated['pairs']):>5} {emulated['tree_mib']:6.0f} {emulated['vswitchd_mib']:6.0f} | "
              f"{plain['build_s']:8.2f} {plain['tree_mib']:6.0f} {plain['vswitchd_mib']:6.0f} | "
              f"{emulated['ready_s'] / plain['build_s']:8.2f}", flush=True)
        if emulated["reached"] != emulated["pairs"]:
            print(f"    note: {int(emulated['reached'])} of {int(emulated['pairs'])} pairs answered")
    left = cleanup.leftovers()
    if not left.empty():
        print(f"leftovers found and removed: {cleanup.sweep().summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
