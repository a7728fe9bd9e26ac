"""Run inside a host's namespace: an ICMP traceroute with scapy, printed as JSON.

`python -m emulator.checks.trace_probe DST --max-hops N --timeout S`
prints {"hops": [address or null, ...], "reached": bool}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trace_probe")
    parser.add_argument("dst")
    parser.add_argument("--max-hops", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args(argv)

    from scapy.all import ICMP, IP, conf, sr  # scapy reads this namespace's routes at import

    conf.verb = 0
    ident = os.getpid() & 0xFFFF
    probes = [IP(dst=args.dst, ttl=ttl) / ICMP(id=ident, seq=ttl) for ttl in range(1, args.max_hops + 1)]
    answered, _ = sr(probes, timeout=args.timeout, verbose=0)
    by_ttl: dict[int, tuple[str, int]] = {}
    for sent, received in answered:
        by_ttl[sent[IP].ttl] = (received[IP].src, received[ICMP].type if ICMP in received else -1)
    hops: list[str | None] = []
    reached = False
    for ttl in range(1, args.max_hops + 1):
        src, icmp_type = by_ttl.get(ttl, (None, None))
        hops.append(src)
        if icmp_type == 0 and src == args.dst:
            reached = True
            break
    json.dump({"hops": hops, "reached": reached}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
