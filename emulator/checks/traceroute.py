"""Traceroute from a host with scapy, compared hop by hop with the path the routing tables give."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from emulator.checks.results import CheckResult
from emulator.routing.model import Network
from emulator.routing.reachability import trace
from emulator.runtime.commands import python_module

PROBE_TIMEOUT_S = 2.0


def run_traceroute(network: Network, src: str, dst: str,
                   spawn: Callable[[list[str]], subprocess.Popen]) -> CheckResult:
    verdict = trace(network, src, network.address_of(dst))
    expected = [str(address) for address in verdict.traceroute_hops()]
    nodes = [hop.node for hop in verdict.hops[1:]]
    argv = python_module("emulator.checks.trace_probe", str(network.address_of(dst)),
                         "--max-hops", str(len(expected) + 3), "--timeout", str(PROBE_TIMEOUT_S))
    process = spawn(argv)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    try:
        measured = json.loads(out)
    except (json.JSONDecodeError, TypeError):
        return CheckResult("traceroute", src, dst, False,
                           {"hops": [], "expected_hops": expected, "hop_nodes": nodes,
                            "error": (err or "no output from the probe").strip()[-500:]})
    hops = measured["hops"]
    passed = hops == expected and measured["reached"] == verdict.reached
    return CheckResult("traceroute", src, dst, passed,
                       {"hops": hops, "expected_hops": expected, "hop_nodes": nodes, "reached": measured["reached"]})
