"""Does netem's jitter reorder frames, and what does that cost TCP? Prints figures, asserts nothing. Needs sch_netem.

Two namespaces joined by a veth, HTB at the line's rate and netem below it on both ends (as the emulator
builds a leased line on a stock kernel), iperf3 TCP between them, side by side in one run:
  - delay only;
  - delay with jitter, as netem queues it: each frame's own random delay, so a frame may leave before the one
    sent ahead of it (its time-ordered queue);
  - delay with jitter and netem's `rate` far above the line's: with a rate, netem schedules each frame after
    the one before it, so frames keep their order, as on a real line and in the emulator's delay line.
Reordered segments look like losses to TCP (duplicate ACKs, spurious retransmissions).

Usage: sudo .venv/bin/python bench/bench_netem_order.py [--rate 100] [--delay 16] [--jitter 0.2] [--duration 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

A, B = "cebencho1", "cebencho2"       # the emulator's prefix: `clean` would recognise nothing else of ours


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True)


def in_ns(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *argv, check=check)


def shape(rate_mbps: float, delay_ms: float, jitter_ms: float, order_rate: bool) -> None:
    for ns, dev in ((A, "a0"), (B, "b0")):
        in_ns(ns, "tc", "qdisc", "del", "dev", dev, "root", check=False)
        in_ns(ns, "tc", "qdisc", "add", "dev", dev, "root", "handle", "5:", "htb", "default", "1")
        in_ns(ns, "tc", "class", "add", "dev", dev, "parent", "5:", "classid", "5:1", "htb", "rate",
              f"{rate_mbps}mbit", "ceil", f"{rate_mbps}mbit", "burst", "15000", "cburst", "15000")
        netem = ["netem", "limit", "10000", "delay", f"{delay_ms}ms"] + ([f"{jitter_ms}ms"] if jitter_ms else [])
        if order_rate:
            netem += ["rate", "100gbit"]
        in_ns(ns, "tc", "qdisc", "add", "dev", dev, "parent", "5:1", "handle", "10:", *netem)


def tcp(duration: int) -> tuple[float, int]:
    server = subprocess.Popen(["ip", "netns", "exec", B, "iperf3", "-s", "-1", "-B", "10.99.0.2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    out = in_ns(A, "iperf3", "-c", "10.99.0.2", "-t", str(duration), "-O", "1", "-J", check=False).stdout
    server.wait(timeout=10)
    end = json.loads(out)["end"]
    return end["sum_received"]["bits_per_second"] / 1e6, end["sum_sent"].get("retransmits", 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--delay", type=float, default=16)
    parser.add_argument("--jitter", type=float, default=0.2)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the benchmark makes namespaces: run it with sudo", file=sys.stderr)
        return 2
    try:
        for ns in (A, B):
            sh("ip", "netns", "add", ns)
            in_ns(ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "a0", "netns", A, "type", "veth", "peer", "name", "b0", "netns", B)
        in_ns(A, "ip", "addr", "add", "10.99.0.1/24", "dev", "a0")
        in_ns(B, "ip", "addr", "add", "10.99.0.2/24", "dev", "b0")
        for ns, dev in ((A, "a0"), (B, "b0")):
            in_ns(ns, "ip", "link", "set", dev, "up")
        if in_ns(A, "tc", "qdisc", "add", "dev", "a0", "root", "netem", "delay", "1ms", check=False).returncode:
            print("this kernel has no sch_netem: nothing to measure", file=sys.stderr)
            return 3
        print(f"kernel {os.uname().release}; HTB {args.rate:g} Mbit/s + netem {args.delay:g} ms one way on both "
              f"ends; iperf3 TCP {args.duration} s after 1 s omitted; {args.rounds} rounds, side by side")
        cases = [("delay only", 0.0, False), (f"jitter {args.jitter:g} ms", args.jitter, False),
                 (f"jitter {args.jitter:g} ms + rate (order kept)", args.jitter, True)]
        for round_no in range(1, args.rounds + 1):
            for name, jitter, order in cases:
                shape(args.rate, args.delay, jitter, order)
                mbps, retransmits = tcp(args.duration)
                print(f"  round {round_no}  {name:34} {mbps:7.1f} Mbit/s ({mbps / args.rate:5.1%} of the rate), "
                      f"{retransmits} retransmits")
    finally:
        for ns in (A, B):
            sh("ip", "netns", "del", ns, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
