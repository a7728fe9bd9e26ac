"""Benchmark of the default scenario; prints figures, asserts nothing.

1. Time from command to "all checks ready" and peak memory, for
   `python -m emulator run multi_vpc_leased_line` as a user starts it.
2. TCP throughput IDC server -> VPC-B instance with the leased line shaped to
   its 100 Mbit/s and with the shaping removed, alternating in one live network
   so that both see the same machine load (the ratio is the figure).

Usage: sudo .venv/bin/python bench/run_bench.py [--rounds N] [--duration S]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator import runner, scenario, session  # noqa: E402
from emulator.checks import throughput  # noqa: E402

SCENARIO = "multi_vpc_leased_line"


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def time_to_ready() -> dict[str, float]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "250"}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "emulator", "run", SCENARIO], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready_s, tree_kib = float("nan"), 0
    for line in process.stdout:
        if "all checks ready" in line:
            ready_s = time.monotonic() - started
            tree_kib = _tree_rss_kib(process.pid)
    process.wait()
    total_s = time.monotonic() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"ready_s": ready_s, "total_s": total_s, "exit": process.returncode,
            "peak_rss_mib": peak_kib / 1024, "tree_rss_at_ready_mib": tree_kib / 1024}


def shaped_vs_unshaped(rounds: int, duration: int) -> dict[str, list[float]]:
    prepared = session.prepare(scenario.load(SCENARIO))
    line = next(link for link in prepared.plan.links if link.kind == "leased_line")
    results: dict[str, list[float]] = {"shaped": [], "unshaped": []}
    node_name = {node.id: node.name for node in prepared.plan.nodes}
    with runner.live_network(prepared) as live:

        def measure() -> float:
            check = throughput.run_throughput(prepared.expected[("idc-server-1", "i-vpcb-1")], duration,
                                              lambda node_id, argv: live.processes.spawn(node_name[node_id], argv))
            return check.detail.measured_mbps or 0.0

        for _ in range(rounds):
            results["shaped"].append(measure())
            live.network.shape_link(line, None)
            results["unshaped"].append(measure())
            live.network.shape_link(line, line.bandwidth_mbps)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the benchmark builds real networks: run it with sudo", file=sys.stderr)
        return 2
    startup = time_to_ready()
    print(f"scenario {SCENARIO} on {os.cpu_count()} cores")
    print(f"command -> all checks ready : {startup['ready_s']:.2f} s   (whole run {startup['total_s']:.2f} s, "
          f"exit {startup['exit']})")
    print(f"peak RSS of one process      : {startup['peak_rss_mib']:.1f} MiB (largest of emulator, controller, "
          f"workers)")
    print(f"RSS of the run's process tree: {startup['tree_rss_at_ready_mib']:.1f} MiB at ready (emulator, "
          f"controller, node shells)")
    figures = shaped_vs_unshaped(args.rounds, args.duration)
    shaped, unshaped = statistics.median(figures["shaped"]), statistics.median(figures["unshaped"])
    print(f"TCP idc-server-1 -> i-vpcb-1, {args.rounds} alternating rounds of {args.duration} s:")
    print(f"  leased line shaped to 100 Mbit/s : median {shaped:7.1f} Mbit/s  {figures['shaped']}")
    print(f"  line's shaping removed           : median {unshaped:7.1f} Mbit/s  {figures['unshaped']}")
    print(f"  shaped / configured = {shaped / 100:.2f}; unshaped / shaped = {unshaped / shaped:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
