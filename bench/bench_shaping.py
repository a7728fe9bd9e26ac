"""Does a router interface's shaping give its specification? Prints figures, asserts nothing.

On the default scenario's path IDC server -> VPC-B instance (customer router,
access point, VBR, VPC-B's VRouter: three Open vSwitch userspace bridges
here), the leased line's shaping is removed so that the router interface
pair ri-AAA/ri-BBB is the bottleneck, and it is shaped to each specification
in turn. Between specifications the same path is measured with no shaping at
all (the unshaped ceiling), so both figures see the same machine load.

A specification is met when TCP goodput >= 0.95 x 95.6% of its rate (95.6%:
Ethernet, IP and TCP headers of 1500-byte frames). Where 95.6% of the rate is
above the unshaped ceiling, the machine, not the shaper, is the limit: the
line says host-limited.

Usage: sudo .venv/bin/python bench/bench_shaping.py [--duration S] [--rounds N] [--specs Mini.2,Large.1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator import runner, scenario, session  # noqa: E402
from emulator.checks import throughput  # noqa: E402
from emulator.cloud.specs import SPEC_BANDWIDTH_MBPS  # noqa: E402
from emulator.routing.model import LinkKind  # noqa: E402

SCENARIO = "multi_vpc_leased_line"
GOODPUT_LIMIT = 0.956     # TCP payload / line rate for 1500-byte frames
GOAL = 0.95               # of that limit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each spec (median shown)")
    parser.add_argument("--specs", default="Mini.2,Mini.5,Small.1,Small.2,Small.5,Middle.1,Middle.2,Middle.5,"
                                           "Large.1,Large.2")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the benchmark builds real networks: run it with sudo", file=sys.stderr)
        return 2
    specs = [spec.strip() for spec in args.specs.split(",") if spec.strip()]
    prepared = session.prepare(scenario.load(SCENARIO))
    plan = prepared.plan
    line = next(link for link in plan.links if link.kind is LinkKind.LEASED_LINE)
    pair_link = next(link for link in plan.links if link.cloud_id == "ri-AAA/ri-BBB")
    node_name = {node.id: node.name for node in plan.nodes}
    expected = prepared.expected[("idc-server-1", "i-vpcb-1")]
    print(f"{SCENARIO}: TCP idc-server-1 -> i-vpcb-1 through ri-AAA/ri-BBB, {args.duration} s per test, "
          f"{os.cpu_count()} cores; leased line unshaped")
    print(f"{'spec':9} {'rate':>7} {'goodput':>9} {'of rate':>8} {'goal':>8} {'ceiling':>9}  verdict")
    with runner.live_network(prepared) as live:
        live.network.shape_link(line, None)

        def measure() -> float:
            check = throughput.run_throughput(expected, args.duration,
                                              lambda node_id, argv: live.processes.spawn(node_name[node_id], argv))
            return check.detail.measured_mbps or 0.0

        ceilings: list[float] = []
        for spec in specs:
            rate = SPEC_BANDWIDTH_MBPS[spec]
            goodputs = []
            for _ in range(args.rounds):
                live.network.shape_link(pair_link, None)
                ceilings.append(measure())
                live.network.shape_link(pair_link, rate)
                goodputs.append(measure())
            goodput, ceiling = statistics.median(goodputs), statistics.median(ceilings)
            goal = GOAL * GOODPUT_LIMIT * rate
            if goodput >= goal:
                verdict = "met"
            elif GOODPUT_LIMIT * rate > ceiling:
                verdict = "host-limited (the unshaped path carries less than the spec)"
            else:
                verdict = "MISSED"
            print(f"{spec:9} {rate:7d} {goodput:9.1f} {goodput / rate:8.1%} {goal:8.1f} {ceiling:9.1f}  {verdict}",
                  flush=True)
    print(f"unshaped ceiling, all {len(ceilings)} samples: {sorted(ceilings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
