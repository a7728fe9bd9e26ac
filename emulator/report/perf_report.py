"""The performance test as people read it: a terminal table, a JSON file, a PNG with per-second throughput and RTT."""

from __future__ import annotations

import json
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from emulator.perf_model import PerfReport, PerfResult


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# Every column: header, cell of a result. A number is never cut: its column does not wrap, and where the whole
# table is wider than the terminal it is shown as two narrower ones (throughput; packets), each under 80 columns.
THROUGHPUT = ("test", "target", "iperf3", "counters", "unshaped", "verdict")
PACKETS = ("test", "offered", "pps", "jitter ms", "loss %")
ALL = ("test", "offered", "target", "iperf3", "counters", "pps", "jitter ms", "loss %", "unshaped", "verdict")


def _cells(result: PerfResult, verdict: str) -> dict[str, str]:
    counters = result.receiver_counters
    return {"test": result.test.name, "offered": _number(result.test.offered_mbps),
            "target": _number(result.test.target_mbps), "iperf3": _number(result.measured_mbps),
            "counters": _number(counters.mbps if counters else None), "pps": _number(result.pps, 0),
            "jitter ms": _number(result.jitter_ms, 3), "loss %": _number(result.loss_percent, 2),
            "unshaped": _number(result.unshaped_mbps), "verdict": verdict}


def _short_verdicts(report: PerfReport) -> tuple[list[str], list[str]]:
    """A word per test for the table (`host-limited (1)`), and the numbered reasons to print under it."""
    words, notes = [], []
    for result in report.results:
        if result.passed and not result.host_limited:
            words.append("[green]pass[/green]")
            continue
        notes.append(f"({len(notes) + 1}) {result.test.name}: {result.verdict()}")
        word = "error" if result.error else "host-limited" if result.host_limited else "below target"
        colour = "yellow" if result.passed else "red"
        words.append(f"[{colour}]{word} ({len(notes)})[/{colour}]")
    return words, notes


def _table(title: str, columns: tuple[str, ...], rows: list[dict[str, str]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for column in columns:
        numeric = column not in ("test", "verdict")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column != "verdict")
    for row in rows:
        table.add_row(*(row[column] for column in columns))
    return table


def tables(report: PerfReport, width: int) -> list[Table]:
    """The results as one table where it fits in `width` columns, else as two (throughput; packets)."""
    rate = f"{report.configured_mbps} Mbit/s configured" if report.configured_mbps else "nothing shaped on the path"
    words, _notes = _short_verdicts(report)
    rows = [_cells(result, word) for result, word in zip(report.results, words, strict=True)]
    title = f"{report.scenario}: {report.src} -> {report.dst} ({rate}), {report.duration_s} s per test"
    whole = _table(title, ALL, rows)
    if Console(width=10_000).measure(whole).maximum <= width:
        return [whole]
    return [_table(title + "\nthroughput, Mbit/s of payload", THROUGHPUT, rows),
            _table("packets (offered: the rate sent, Mbit/s)", PACKETS, rows)]


def show(console: Console, report: PerfReport) -> None:
    for table in tables(report, console.width):
        console.print(table)
    for note in _short_verdicts(report)[1]:
        console.print(escape(note))
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
    from matplotlib.ticker import MaxNLocator

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
        axes.set_xlabel("second of the test (after the omitted first second of a TCP test)")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
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
