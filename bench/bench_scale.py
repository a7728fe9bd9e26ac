"""Scale benchmark: the JD Cloud border gateway with N VPCs, next to plain Mininet; prints figures.

For each N (default 4, 16, 64, 128 and 250, the largest a scenario file may
hold): `python -m emulator run` on the generated scenario, timed from the
command to its exit, with the run's own timings from its JSON report (build,
all flows installed, checks: the N*(N-1)-pair ping matrix and a traceroute,
teardown) and the peak memory of its process tree and of ovs-vswitchd, sampled
every half second. Then a plain Mininet script builds the same number of
namespaces (N), bridges (N+1) and links (2N) in the same run, on the same
machine: the ratio is what the emulator's control plane, controller and checks
cost on top of Mininet itself.

Usage: sudo .venv/bin/python bench/bench_scale.py [--vpcs 4 16 64 128 250]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run_bench import _tree_rss_kib  # noqa: E402
from emulator import generate  # noqa: E402
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
    """One whole `run`, as a user types it; its timings and the peak memory seen while it ran."""
    with tempfile.TemporaryDirectory() as folder:
        path, report = Path(folder) / f"bgw{vpcs}.yaml", Path(folder) / "report.json"
        path.write_text(generate.border_gateway(vpcs))
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "emulator", "run", str(path), "--json", str(report)],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, text=True)
        tree_kib, vswitchd_mib = 0, 0.0
        while process.poll() is None:
            tree_kib = max(tree_kib, _tree_rss_kib(process.pid))
            vswitchd_mib = max(vswitchd_mib, _vswitchd_rss_mib())
            time.sleep(0.5)
        command_s = time.monotonic() - started
        if process.returncode != 0 or not report.exists():
            raise SystemExit(f"the {vpcs}-VPC run failed ({process.returncode}): {process.stderr.read()[-2000:]}")
        data = json.loads(report.read_text())
    timings = data["timings_s"]
    pings = [check for check in data["checks"] if check["kind"] == "ping"]
    return {"command_s": command_s, "build_s": timings["build_s"], "ready_s": timings["ready_s"],
            "checks_s": timings["checks_s"], "teardown_s": timings["total_s"] - timings["ready_s"] - timings["checks_s"],
            "pairs": len(pings), "reached": sum(check["reachable"] for check in pings),
            "retried": sum(check["retried"] for check in pings), "passed": data["passed"],
            "tree_mib": tree_kib / 1024, "vswitchd_mib": vswitchd_mib}


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
    parser.add_argument("--vpcs", type=int, nargs="+", default=[4, 16, 64, 128, generate.MAX_VPCS])
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the benchmark builds real networks: run it with sudo", file=sys.stderr)
        return 2
    print(f"border gateway with N VPCs, {os.cpu_count()} cores; times in s, memory in MiB (peak RSS of the run's "
          "process tree and of ovs-vswitchd)")
    header = (f"{'N':>3} | {'command':>7} {'build':>6} {'ready':>6} {'checks':>6} {'down':>5} {'pairs':>6} "
              f"{'tree':>5} {'vswd':>5} | {'mn build':>8} {'tree':>5} {'vswd':>5} | {'ready/mn':>8}")
    print(header)
    print("-" * len(header))
    datapath = "user" if not Path("/sys/module/openvswitch").exists() else "kernel"
    for vpcs in args.vpcs:
        emulated = emulator_figures(vpcs)
        plain = plain_mininet_figures(vpcs, datapath)
        print(f"{vpcs:>3} | {emulated['command_s']:7.1f} {emulated['build_s']:6.1f} {emulated['ready_s']:6.1f} "
              f"{emulated['checks_s']:6.1f} {emulated['teardown_s']:5.1f} {int(emulated['pairs']):>6} "
              f"{emulated['tree_mib']:5.0f} {emulated['vswitchd_mib']:5.0f} | "
              f"{plain['build_s']:8.2f} {plain['tree_mib']:5.0f} {plain['vswitchd_mib']:5.0f} | "
              f"{emulated['ready_s'] / plain['build_s']:8.2f}", flush=True)
        if emulated["reached"] != emulated["pairs"] or not emulated["passed"]:
            print(f"    note: {int(emulated['reached'])} of {int(emulated['pairs'])} pairs answered; "
                  f"passed={emulated['passed']}")
        if emulated["retried"]:
            print(f"    note: {int(emulated['retried'])} pairs needed the second ping pass")
    left = cleanup.leftovers()
    if not left.empty():
        print(f"leftovers found and removed: {cleanup.sweep().summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
