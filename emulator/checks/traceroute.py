"""Traceroute from a host with scapy, compared hop by hop with the path the routing tables give.

The expected path comes in with the pair's expectation (derived once, when first asked for: Prepared.expected).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from emulator.checks.results import CheckResult, TracerouteDetail
from emulator.routing.reachability import PairResult
from emulator.runtime.commands import finish, python_module

PROBE_TIMEOUT_S = 2.0


def run_traceroute(expected_pair: PairResult, spawn: Callable[[list[str]], subprocess.Popen]) -> CheckResult:
    verdict = expected_pair.forward
    src, dst = expected_pair.src, expected_pair.dst
    expected = tuple(str(address) for address in verdict.traceroute_hops())
    nodes = tuple(hop.node for hop in verdict.hops[1:])
    argv = python_module("emulator.checks.trace_probe", str(verdict.dst),
                         "--max-hops", str(len(expected) + 3), "--timeout", str(PROBE_TIMEOUT_S))
    process = spawn(argv)
    out, err = finish(process, 30)
    try:
        measured = json.loads(out)
    except (json.JSONDecodeError, TypeError):
        return CheckResult(src, dst, False, TracerouteDetail(
            hops=(), expected_hops=expected, hop_nodes=nodes,
            error=(err or "no output from the probe").strip()[-500:]))
    hops = tuple(measured["hops"])
    passed = hops == expected and measured["reached"] == verdict.reached
    return CheckResult(src, dst, passed, TracerouteDetail(hops=hops, expected_hops=expected, hop_nodes=nodes,
                                                          reached=measured["reached"]))
