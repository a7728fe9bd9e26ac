"""What a lab action costs before anything is installed: the model, the plan, the structure check; prints figures.

For each N (default 16, 64, 250 VPCs on a generated JD Cloud border gateway) it applies what `route del` and
`route add` do in the lab (the same operations on the control plane, then `session.prepare` for the next
generation, then the structure comparison that decides between new flows and a rebuild) and times each part,
median of `--repeat` actions. The whole expected matrix, which each action derived until the expectations
became lazy, is timed beside it in the same run: that is what an action no longer waits for. Installing the
flows is not in these figures (it needs the network built; bench_scale.py builds it).

Usage: .venv/bin/python bench/bench_lab_action.py [--vpcs 16 64 250] [--repeat 5]   (no root needed)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from ipaddress import IPv4Network
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator import generate, scenario, session  # noqa: E402
from emulator.cloud.resources import NextHopType  # noqa: E402
from emulator.plan import make_plan  # noqa: E402
from emulator.routing.reachability import expected_matrix  # noqa: E402
from emulator.routing.topology import build_network  # noqa: E402


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def measure(vpcs: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bg{vpcs}.yaml"
        path.write_text(generate.border_gateway(vpcs))
        loaded = scenario.load(str(path))
    prepared = session.prepare(loaded)
    cloud = loaded.cloud
    vrouter = cloud.vpcs["vpc-g001"].vrouter_id
    gateway = next(iter(cloud.border_gateways))
    destination = IPv4Network("10.251.0.0/16")          # outside every generated VPC: `route add` then `route del`
    parts: dict[str, list[float]] = {"operation": [], "network": [], "plan": [], "structure": [], "action": []}
    for generation in range(2, 2 + 2 * repeat):
        if generation % 2:
            operation = lambda: cloud.delete_route_entry(router_id=vrouter, destination=destination)  # noqa: E731
        else:
            operation = lambda: cloud.add_route_entry(router_id=vrouter, destination=destination,  # noqa: E731
                                                      next_hop_type=NextHopType.BORDER_GATEWAY, next_hop_id=gateway)
        took_operation, _ = _timed(operation)
        took_network, network = _timed(lambda: build_network(cloud))
        took_plan, _plan = _timed(lambda net=network, gen=generation: make_plan(net, loaded.name, gen))
        took_action, renewed = _timed(lambda gen=generation: session.prepare(loaded, generation=gen))
        took_structure, _ = _timed(lambda r=renewed: r.plan.structure() != prepared.plan.structure())
        parts["operation"].append(took_operation)
        parts["network"].append(took_network)
        parts["plan"].append(took_plan)
        parts["structure"].append(took_structure)
        parts["action"].append(took_operation + took_action + took_structure)
    took_matrix, matrix = _timed(lambda: expected_matrix(build_network(cloud)))
    figures = {name: statistics.median(values) for name, values in parts.items()}
    figures["whole matrix"] = took_matrix
    figures["pairs"] = len(matrix)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vpcs", type=int, nargs="+", default=[16, 64, 250])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'VPCs':>5} {'pairs':>7} {'operation':>10} {'network':>8} {'plan':>7} {'structure':>10} "
          f"{'action':>8} | {'whole matrix (no longer per action)':>36}")
    for vpcs in args.vpcs:
        f = measure(vpcs, args.repeat)
        print(f"{vpcs:>5} {f['pairs']:>7,} {f['operation']:>9.3f}s {f['network']:>7.3f}s {f['plan']:>6.3f}s "
              f"{f['structure']:>9.3f}s {f['action']:>7.3f}s | {f['whole matrix']:>35.2f}s", flush=True)
    print("action = operation + session.prepare (network, plan, lazy expectations) + structure check; "
          "medians of --repeat route del/add actions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
