"""Delay, jitter and loss on the leased line, as configured and as measured. Prints figures, asserts nothing.

One live network (the default scenario, the router interfaces ideal) whose line values change between tests
through the same path as the lab's `line set`. Shows which mechanism this kernel uses (netem or the
userspace delay line) and, for the delay line, its own ceiling: UDP with 16-byte datagrams offered without
limit through the line with no delay and no shaping, received packets per second and Mbit/s with 1400 bytes.

Usage: sudo .venv/bin/python bench/bench_impairment.py [--duration S]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator import runner, scenario, session  # noqa: E402
from emulator.checks import throughput  # noqa: E402

SHIPPED = ROOT / "scenarios" / "multi_vpc_leased_line.yaml"


def prepared_with(folder: Path, latency: float, jitter: float = 0.0, loss: float = 0.0) -> session.Prepared:
    text = re.sub(r"    latency_ms: 2\n    jitter_ms: 0.2\n",
                  f"    latency_ms: {latency}\n    jitter_ms: {jitter}\n    loss_percent: {loss}\n", SHIPPED.read_text())
    path = folder / "line.yaml"
    path.write_text(text.replace("        latency_ms: 14\n", ""))
    return session.prepare(scenario.load(str(path)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the benchmark builds real networks: run it with sudo", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="bench-impairment-"))
    prepared = prepared_with(folder, 0)
    line = next(link for link in prepared.plan.links if link.cloud_id == "pc-AAA")
    with runner.live_network(prepared, adjustable_lines=True) as live:
        node_name = {node.id: node.name for node in prepared.plan.nodes}
        server = node_name["idc-server-1"]
        spawn = lambda node_id, argv: live.processes.spawn(node_name[node_id], argv)  # noqa: E731

        def apply(latency: float, jitter: float = 0.0, loss: float = 0.0) -> session.Prepared:
            current = prepared_with(folder, latency, jitter, loss)
            live.apply(current)
            return current

        def rtts(count: int = 200) -> list[float]:
            out = live.network.run_in(server, ["ping", "-c", str(count), "-i", "0.01", "-W", "1", "10.10.1.10"],
                                      check=False, timeout=120).stdout
            return [float(v) for v in re.findall(r"time=([0-9.]+) ms", out)][5:]

        def iperf(current: session.Prepared, **options) -> dict:
            return throughput.run_iperf(current.expected[("idc-server-1", "i-vpca-1")], args.duration, spawn, **options)

        env = live.environment
        print(f"mechanism on this machine: {env.impairment_mechanism}, OVS {env.datapath} datapath, kernel "
              f"{os.uname().release} ({os.cpu_count()} cores); path idc-server-1 -> i-vpca-1 across pc-AAA "
              "(100 Mbit/s); CLOUD_EMULATOR_IMPAIRMENT=delay-line forces the delay line where netem exists")
        live.network.shape_link(line, None)
        values = rtts()
        print(f"the path's own RTT (line unshaped, no delay): mean {statistics.mean(values):.2f} ms, "
              f"min {min(values):.2f}, max {max(values):.2f}")
        live.network.shape_link(line, line.bandwidth_mbps)
        print("delay fidelity (200 echoes at 10 ms, RTT in ms):")
        for latency in (0, 1, 5, 20, 50):
            apply(latency)
            values = rtts()
            mean = statistics.mean(values)
            print(f"  {latency:3d} ms one way: expected {2 * latency:5.1f}  mean {mean:7.2f}  min {min(values):7.2f}  "
                  f"max {max(values):7.2f}  error {mean - 2 * latency:+.2f}")
        for jitter in (2, 5):
            apply(20, jitter)
            values = rtts()
            print(f"  20 ms +- {jitter} ms jitter: RTT mean {statistics.mean(values):.2f}, "
                  f"stdev {statistics.pstdev(values):.2f} (expected {(2 * jitter ** 2 / 3) ** 0.5:.2f})")
            print(f"    iperf3 UDP jitter: {iperf(prepared_with(folder, 20, jitter), udp=True, bandwidth_bps=10_000_000, length=1400)['jitter_ms']:.2f} ms")
        print("throughput (TCP, and UDP 1400 bytes at 95 Mbit/s):")
        for latency in (0, 20):
            current = apply(latency)
            tcp = iperf(current)
            udp = iperf(current, udp=True, bandwidth_bps=95_000_000, length=1400)
            print(f"  {latency:3d} ms: TCP {tcp['received_mbps']:6.1f} Mbit/s; UDP received {udp['received_mbps']:6.1f} "
                  f"Mbit/s, loss {udp['lost_percent']:.3f}% of {udp['packets']}")
        print("loss fidelity (UDP 1400 bytes at 60 Mbit/s):")
        for loss in (1, 5):
            current = apply(20, 0, loss)
            udp = iperf(current, udp=True, bandwidth_bps=60_000_000, length=1400)
            if udp.get("error"):
                print(f"  {loss}% configured: iperf3 failed: {udp['error']}")
                continue
            print(f"  {loss}% configured: {udp['lost_percent']:.2f}% measured over {udp['packets']} datagrams")
        current = apply(0)
        live.network.shape_link(line, None)
        if live.network.delay_lines:
            small = iperf(current, udp=True, bandwidth_bps=0, length=16)
            big = iperf(current, udp=True, bandwidth_bps=0, length=1400)
            pps = (small["packets"] - small["lost_packets"]) / args.duration
            print(f"delay line ceiling (line unshaped, no delay): {pps:,.0f} packets/s received with 16-byte datagrams "
                  f"(offered {small['packets'] / args.duration:,.0f}/s); {big['received_mbps']:.0f} Mbit/s with 1400 bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
