"""The performance test as people read it: a terminal table, a JSON file, a PNG with per-second throughput and RTT."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emulator.perf_model import PerfReport


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def show(console: Console, report: PerfReport) -> None:
    rate = f"{report.configured_mbps} Mbit/s configured" if report.configured_mbps else "nothing shaped on the path"
    table = Table(title=f"{report.scenario}: {report.src} -> {report.dst} ({rate}), {report.duration_s} s per test")
    for column in ("test", "offered", "target", "iperf3", "counters", "pps", "jitter ms", "loss %", "unshaped",
                   "verdict"):
        table.add_column(column, justify="left" if column in ("test", "verdict") else "right")
    for result in report.results:
        counters = result.receiver_counters
        table.add_row(result.test.name, _number(result.test.offered_mbps), _number(result.test.target_mbps),
                      _number(result.measured_mbps), _number(counters.mbps if counters else None),
                      _number(result.pps, 0), _number(result.jitter_ms, 3), _number(result.loss_percent, 2),
                      _number(result.unshaped_mbps),
                      ("[green]" if result.passed and not result.host_limited else "[yellow]" if result.passed
                       else "[red]") + result.verdict())
    console.print(table)
    console.print("Mbit/s of payload except `counters` (the receiver's interface, whole frames, ACKs and all); "
                  "`unshaped`: the same test with every shaper removed")
    if report.rtt:
        summary = report.rtt.summary()
        console.print(f"ping RTT ms: min {summary['min']} avg {summary['avg']} max {summary['max']} "
                      f"mdev {summary['mdev']} ({summary['received']}/{summary['sent']} replies)")


def write_json(report: PerfReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2) + "\n")


def plot(report: PerfReport, path: Path) -> None:
    """Per-second throughput of every test (one panel per protocol) and the RTT series, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")     # no display: files only
    from matplotlib import pyplot

    figure, (tcp_axes, udp_axes, rtt_axes) = pyplot.subplots(3, 1, figsize=(10, 11))
    for axes, protocol in ((tcp_axes, "tcp"), (udp_axes, "udp")):
        for result in report.results:
            if result.test.protocol != protocol or not result.intervals_mbps:
                continue
            seconds = range(1, len(result.intervals_mbps) + 1)
            label = result.test.name + (" (host-limited)" if result.host_limited else "")
            axes.plot(seconds, result.intervals_mbps, marker="o", label=label)
        if report.configured_mbps:
            axes.axhline(report.configured_mbps, color="grey", linestyle="--", label="configured rate")
        axes.set_title(f"{protocol.upper()}: per-second throughput at the receiver, --from {report.src} "
                       f"--to {report.dst}")
        axes.set_xlabel("second of the test")
        axes.set_ylabel("Mbit/s")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    samples = report.rtt.samples_ms if report.rtt else ()
    rtt_axes.plot(range(1, len(samples) + 1), samples, marker=".", color="tab:purple")
    rtt_axes.set_title("ping RTT series")
    rtt_axes.set_xlabel("echo")
    rtt_axes.set_ylabel("ms")
    rtt_axes.grid(True, alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
