"""iperf3 TCP throughput between two hosts, against the bottleneck bandwidth configured on the path."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from emulator.checks.results import CheckResult, ThroughputDetail
from emulator.perf_model import HOST_HEADROOM, host_limit_reason
from emulator.routing.reachability import PairResult, bottleneck_mbps
from emulator.runtime.commands import finish, python_module

IPERF_PORT = 5201
# HTB gives ~95% of the rate as TCP goodput (Ethernet/IP/TCP headers); a shared,
# noisy machine can lose more. Above the rate means shaping does not work.
LOWER_RATIO = 0.70
UPPER_RATIO = 1.10


def judge(configured: int | None, measured: float | None) -> bool:
    if measured is None:
        return False
    if configured is None:
        return measured > 0
    return LOWER_RATIO * configured <= measured <= UPPER_RATIO * configured


# iperf3 sets up each UDP stream with one datagram each way and no retransmission (esnet/iperf issues 351 and
# 862): on a line with loss configured, a lost set-up datagram ends the test with "unable to read from stream
# socket" before anything is measured, or (the server's answer lost) the client waits for ever. As a person at
# the console would, such a test is stopped after its duration plus UDP_SETUP_GRACE_S and started again.
UDP_SETUP_ATTEMPTS = 3
UDP_SETUP_GRACE_S = 8
UDP_SETUP_LOST = ("stream socket", "no output from iperf3")


def run_iperf(expected_pair: PairResult, duration_s: int, spawn: Callable[[str, list[str]], subprocess.Popen],
              *, udp: bool = False, bandwidth_bps: int = 0, length: int = 0, streams: int = 1,
              reverse: bool = False, port: int = IPERF_PORT) -> dict:
    """One iperf3 test between the pair's hosts (server on the destination); iperf3's figures as a dict."""
    for _attempt in range(UDP_SETUP_ATTEMPTS if udp else 1):
        result = _iperf_once(expected_pair, duration_s, spawn, udp=udp, bandwidth_bps=bandwidth_bps, length=length,
                             streams=streams, reverse=reverse, port=port)
        if not any(sign in str(result.get("error") or "") for sign in UDP_SETUP_LOST):
            break
    return result


def _iperf_once(expected_pair: PairResult, duration_s: int, spawn: Callable[[str, list[str]], subprocess.Popen],
                *, udp: bool, bandwidth_bps: int, length: int, streams: int, reverse: bool, port: int) -> dict:
    src, dst = expected_pair.src, expected_pair.dst
    dst_ip = str(expected_pair.forward.dst)
    server = spawn(dst, python_module("emulator.checks.iperf_worker", "server", "--bind", dst_ip,
                                      "--port", str(port)))
    options = ["--streams", str(streams)] + (["--udp"] if udp else []) + (["--reverse"] if reverse else [])
    if bandwidth_bps:
        options += ["--bandwidth", str(bandwidth_bps)]
    if length:
        options += ["--length", str(length)]
    client = spawn(src, python_module("emulator.checks.iperf_worker", "client", "--server", dst_ip,
                                      "--port", str(port), "--duration", str(duration_s), *options))
    out, err = finish(client, duration_s + (UDP_SETUP_GRACE_S if udp else 30))
    finish(server, 5)
    try:
        return json.loads(out)
    except (json.JSONDecodeError, TypeError):
        return {"error": (err or "no output from iperf3").strip()[-500:]}


def run_throughput(expected_pair: PairResult, duration_s: int,
                   spawn: Callable[[str, list[str]], subprocess.Popen]) -> CheckResult:
    """iperf3 from the pair's source to its destination, judged against the path's bottleneck (known in advance)."""
    src, dst = expected_pair.src, expected_pair.dst
    configured = bottleneck_mbps(expected_pair.forward)
    before = cpu_times()
    result = run_iperf(expected_pair, duration_s, spawn)
    idle = idle_percent(before, cpu_times())
    measured = result.get("received_mbps")
    detail = ThroughputDetail(
        protocol="tcp", configured_mbps=configured,
        measured_mbps=round(measured, 1) if measured is not None else None,
        ratio=round(measured / configured, 3) if measured is not None and configured else None,
        duration_s=duration_s, accepted_range=(LOWER_RATIO, UPPER_RATIO), error=result.get("error") or None,
        cpu_idle_percent=idle)
    return CheckResult(src, dst, judge(configured, measured), detail)


def cpu_times(stat: str | None = None) -> tuple[int, int]:
    """(idle, total) CPU time of the whole machine since boot, in clock ticks, from /proc/stat's first line
    (namespaces share it: the figure covers every host, bridge and helper of the run)."""
    fields = [int(value) for value in (stat or Path("/proc/stat").read_text()).split("\n", 1)[0].split()[1:9]]
    return fields[3] + fields[4], sum(fields)      # idle + iowait; user .. steal


def idle_percent(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 1) if total > 0 else None


def short_of_the_rate(check: CheckResult) -> bool:
    """A TCP check that ran, measured something and fell below the accepted range: worth an unshaped run."""
    d = check.detail
    return (not check.passed and d.error is None and d.measured_mbps is not None and d.configured_mbps is not None
            and d.measured_mbps < LOWER_RATIO * d.configured_mbps)


def with_unshaped(check: CheckResult, unshaped: dict) -> CheckResult:
    """The check judged beside the same test with every shaper removed: host-limited when the bare path
    carries less than HOST_HEADROOM x the configured rate, or when the machine was saturated during the test."""
    d = check.detail
    figure = unshaped.get("received_mbps")
    limited = host_limit_reason(d.configured_mbps, figure, d.cpu_idle_percent, HOST_HEADROOM) is not None
    detail = replace(d, unshaped_mbps=round(figure, 1) if figure is not None else None, host_limited=limited)
    return replace(check, passed=check.passed or limited, detail=detail)
