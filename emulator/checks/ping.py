"""The ping matrix: every ordered pair of hosts, real ICMP echo, compared with the expected matrix."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from emulator.checks.results import CheckResult
from emulator.routing.reachability import PairResult

PING_COUNT = 2
PARALLEL = 16
_RECEIVED = re.compile(r"(\d+) (?:packets )?received")


def ping_argv(dst_ip: str) -> list[str]:
    return ["ping", "-n", "-q", "-c", str(PING_COUNT), "-i", "0.2", "-W", "1", "-w", "4", dst_ip]


def parse_received(output: str) -> int:
    found = _RECEIVED.search(output)
    return int(found.group(1)) if found else 0


def ping_matrix(pairs: list[tuple[str, str, str]], spawn: Callable[[str, list[str]], subprocess.Popen],
                ) -> dict[tuple[str, str], int]:
    """Ping `dst_ip` from each `src` (a node name), PARALLEL at a time; return replies received per pair."""
    received: dict[tuple[str, str], int] = {}
    for start in range(0, len(pairs), PARALLEL):
        batch = pairs[start:start + PARALLEL]
        running = [(src, dst, spawn(src, ping_argv(dst_ip))) for src, dst, dst_ip in batch]
        for src, dst, process in running:
            try:
                out, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            received[(src, dst)] = parse_received(out or "")
    return received


def ping_result(src: str, dst: str, replies: int, expected: PairResult, stated: bool | None) -> CheckResult:
    reachable = replies > 0
    passed = reachable == expected.reachable and (stated is None or stated == reachable)
    detail = {"expected": expected.reachable, "reachable": reachable, "replies": replies, "sent": PING_COUNT,
              "stated_expectation": stated}
    explanation = None
    if not reachable and expected.explanation is not None:
        e = expected.explanation
        explanation = {"code": e.code, "hop": e.hop, "message": e.message, "fix": e.fix}
    elif not reachable:
        explanation = {"code": "UNEXPECTED_LOSS", "hop": "",
                       "message": "the forwarding tables say this pair is reachable, but no reply came back",
                       "fix": "look at the controller log and the installed flows (ovs-ofctl dump-flows)"}
    return CheckResult("ping", src, dst, passed, detail, explanation)
