"""One self-contained HTML page for a run (`run --report DIR`): opens offline, nothing fetched.

The topology picture (inline SVG, with the first traceroute's path drawn on
it), the ping matrix as a coloured grid whose unreachable cells carry their
reason and fix, traceroute, throughput, the leased-line performance tests,
BGP sessions, the links' delay, jitter and loss and how each is emulated, the
tutorial's steps as the control plane accepted them, route tables, captures,
environment notes and timings.
The JSON report is written beside it. Jinja2 escapes every value taken from
the scenario file; only Graphviz's own SVG goes in as markup.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from emulator.captures import OPEN_HINT
from emulator.checks.results import (RTT_NOTE, BgpDetail, FailoverDetail, PerformanceDetail, PingDetail, ThroughputDetail,
                                     TracerouteDetail)
from emulator.report import graph, json_report
from emulator.report.terminal import timings_in_words
from emulator.session import RunOutcome

TEMPLATES = Environment(loader=PackageLoader("emulator.report", "templates"),
                        autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _matrix(outcome: RunOutcome) -> dict[tuple[str, str], dict[str, Any]]:
    cells = {}
    for check in outcome.checks:
        detail = check.detail
        if not isinstance(detail, PingDetail):
            continue
        why = check.explanation
        css = "wrong" if not check.passed else "reach" if detail.reachable else "blocked"
        text = ("reachable" if detail.reachable else "unreachable") + ("" if check.passed else " (NOT as expected)")
        rtt = detail.rtt_ms
        cells[(check.src, check.dst)] = {
            "css": css, "text": text, "title": f"{detail.replies}/{detail.sent} replies" + (
                f"; RTT min {rtt['min']} avg {rtt['avg']} max {rtt['max']} mdev {rtt['mdev']} ms "
                f"({rtt['received']}/{rtt['sent']} echoes)" if rtt else ""),
            "rtt": f"RTT {rtt['avg']:.1f} ms" if rtt and detail.reachable else "",
            "code": why.code if why else "", "hop": why.hop if why else "",
            "message": why.message if why else "", "fix": why.fix if why else ""}
    return cells


def _rtt_echoes(outcome: RunOutcome) -> int:
    """How many echoes the ping checks' round trips were measured from (0: no pair answered)."""
    return max((c.detail.rtt_ms["sent"] for c in outcome.checks
                if isinstance(c.detail, PingDetail) and c.detail.rtt_ms), default=0)


TOPOLOGY_FILE = "topology.svg"     # beside report.html: the picture alone, full size


def _picture(outcome: RunOutcome) -> bytes:
    """The topology as SVG, with the first traceroute's path drawn on it."""
    prepared = outcome.prepared
    traced = prepared.scenario.traceroutes[0] if prepared.scenario.traceroutes else None
    pair = prepared.expected.get((traced.src, traced.dst)) if traced else None
    return graph.render(prepared, "svg", pair)


SMALLEST_SCALE = 0.75    # of the picture's own size: its node text stays at 11 px or more


def _sized(svg: str) -> str:
    """The page's width, but never below SMALLEST_SCALE of the picture's own size nor above it: a wide picture
    scrolls in its box on a phone instead of shrinking its text to 3 px."""
    found = re.match(r'<svg width="([\d.]+)pt"', svg)
    if found is None:
        return svg
    natural_px = float(found.group(1)) * 4 / 3
    style = f"width: clamp({SMALLEST_SCALE * natural_px:.0f}px, 100%, {natural_px:.0f}px)"
    return svg.replace("<svg ", f'<svg style="{style}" ', 1)


def render(outcome: RunOutcome, folder: Path, svg: bytes | None = None) -> str:
    prepared = outcome.prepared
    data = json_report.build(outcome)
    traced = prepared.scenario.traceroutes[0] if prepared.scenario.traceroutes else None
    picture = (svg or _picture(outcome)).decode()
    picture = _sized(picture[picture.index("<svg"):])   # inline: no XML prolog or DOCTYPE inside HTML
    steps = [{"text": line, "title": line.startswith("Step ")} for line in prepared.scenario.steps]
    traceroutes = [{"src": c.src, "dst": c.dst, "passed": c.passed,
                    "hops": " > ".join(f"{hop or '*'} ({node})" for hop, node in zip(c.detail.hops, c.detail.hop_nodes,
                                                                                    strict=False)),
                    "expected": " > ".join(c.detail.expected_hops)}
                   for c in outcome.checks if isinstance(c.detail, TracerouteDetail)]
    throughputs = [{"src": c.src, "dst": c.dst, "passed": c.passed, "measured_mbps": c.detail.measured_mbps,
                    "configured_mbps": c.detail.configured_mbps, "ratio": c.detail.ratio,
                    "unshaped_mbps": c.detail.unshaped_mbps, "host_limited": c.detail.host_limited}
                   for c in outcome.checks if isinstance(c.detail, ThroughputDetail)]
    sessions = [{"src": c.src, "dst": c.dst, "passed": c.passed, "peer": c.detail.peer,
                 "state": f"customer {c.detail.session_state['customer']}, {c.dst} {c.detail.session_state['cloud']}",
                 "expected": c.detail.expected_state,
                 "received": f"{c.dst} {len(c.detail.received_prefixes['cloud'])} (installed {len(c.detail.installed_prefixes)}"
                             + (f", discarded {c.detail.discarded_prefixes}" if c.detail.discarded_prefixes else "")
                             + f"), customer device {len(c.detail.received_prefixes['customer'])}",
                 "times": " / ".join("-" if t is None else f"{t:.1f} s"
                                     for t in (c.detail.established_s, c.detail.converged_s)),
                 "reason": c.detail.reason, "notification": c.detail.last_notification}
                for c in outcome.checks if isinstance(c.detail, BgpDetail)]
    performance = [{"src": c.src, "dst": c.dst, "passed": c.passed, "configured_mbps": c.detail.configured_mbps,
                    "tests": [_perf_row(test) for test in c.detail.tests], "rtt": c.detail.rtt_ms, "error": c.detail.error}
                   for c in outcome.checks if isinstance(c.detail, PerformanceDetail)]
    failovers = [_failover_row(c) for c in outcome.checks if isinstance(c.detail, FailoverDetail)]
    plots = sorted({os.path.relpath(c.detail.plot, folder) for c in outcome.checks
                    if isinstance(c.detail, FailoverDetail) and c.detail.plot})
    links = [_link_row(link) for link in data["environment"].get("links", [])]
    captures = [{**capture.to_json(), "href": os.path.relpath(capture.path, folder)} for capture in outcome.captures]
    failed = sum(not check.passed for check in outcome.checks)
    return TEMPLATES.get_template("report.html.j2").render(
        title=data["title"] or data["scenario"], reference=prepared.scenario.reference, scenario=data["scenario"],
        report_version=data["report_version"], passed=outcome.passed,
        verdict=f"all {len(outcome.checks)} checks passed" if outcome.passed
        else f"{failed} of {len(outcome.checks)} checks failed",
        picture=picture, picture_file=TOPOLOGY_FILE, traced=f"{traced.src} -> {traced.dst}" if traced else "",
        hosts=prepared.network.hosts, matrix=_matrix(outcome), rtt_note=RTT_NOTE, rtt_sent=_rtt_echoes(outcome),
        traceroutes=traceroutes, throughputs=throughputs,
        bgp_sessions=sessions, performance=performance, failovers=failovers, failover_plots=plots, links=links, steps=steps, route_tables=data["route_tables"], captures=captures, open_hint=OPEN_HINT, notes=data["notes"],
        environment_rows=_environment_rows(data["environment"]), timings_text=timings_in_words(data["timings_s"]),
        cleanup=data["cleanup"])


def _failover_row(check) -> dict:
    """One event for one pair; a row per direction, each with its outage against the prediction."""
    d = check.detail
    directions = []
    for name, figures in (d.directions or {}).items():
        low, high = figures["accepted_s"]
        lines = " / ".join(", ".join(path.get(name, [])) or "-" for path in (d.path_before, d.path_after))
        directions.append({"name": name.replace("_", " "), "outage": f"{figures['outage_s']:.2f} s",
                           "expected": f"{figures['expected_outage_s']:.2f} s ({low:.1f}-{high:.1f})",
                           "why": figures["prediction"] + ("" if figures["passed"] else " [FAIL]"), "lines": lines})
    return {"event": d.event, "src": check.src, "dst": check.dst, "passed": check.passed, "error": d.error,
            "directions": directions or [{"name": "-", "outage": "-", "expected": "-", "why": "", "lines": ""}],
            "lost": f"round trips lost {d.lost_packets} of {d.sent_packets}" if d.sent_packets else "",
            "tcp": "" if d.tcp_survived is None else ("TCP survived" if d.tcp_survived else "TCP did not survive"),
            "health": "; ".join(d.health_checks)}


def _perf_row(test: dict) -> dict:
    """One test of the provider's method as a table row (figures as `perf` prints them)."""
    def figure(value, unit: str = "") -> str:
        return "-" if value is None else f"{value}{unit}"

    return {"name": test.get("name", ""), "offered": figure(test.get("offered_mbps"), " Mbit/s"),
            "target": figure(test.get("target_mbps"), " Mbit/s"), "measured": figure(test.get("measured_mbps"), " Mbit/s"),
            "loss": figure(test.get("loss_percent"), " %"), "jitter": figure(test.get("jitter_ms"), " ms"),
            "unshaped": figure(test.get("unshaped_mbps"), " Mbit/s"), "verdict": test.get("verdict", ""),
            "passed": test.get("passed", False)}


def _link_row(link: dict) -> dict:
    """A link with delay, jitter or loss: what is configured, how this kernel emulates it, what the line did."""
    counters = link.get("delay_line_counters") or {}
    ways = list(counters.get("directions", {}).values())
    carried = (" / ".join(str(way.get("received", 0)) for way in ways) + " frames in, "
               + " / ".join(str(way.get("dropped_by_loss", 0)) for way in ways) + " dropped by loss (each direction)"
               if ways else "")
    return {"link": link.get("link", ""), "kind": link.get("kind", ""), "latency": link.get("latency_ms", 0),
            "jitter": link.get("jitter_ms", 0), "loss": link.get("loss_percent", 0),
            "mechanism": link.get("mechanism", ""), "carried": carried}


def write(outcome: RunOutcome, folder: Path) -> Path:
    """DIR/report.html, DIR/report.json and DIR/topology.svg (the picture alone); returns the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "report.html"
    svg = _picture(outcome)
    (folder / TOPOLOGY_FILE).write_bytes(svg)
    page.write_text(render(outcome, folder, svg))
    (folder / "report.json").write_text(json.dumps(json_report.build(outcome), indent=2) + "\n")
    return page


def _environment_rows(environment: dict[str, Any]) -> list[tuple[str, str]]:
    """The environment as rows a person reads: a nested value as `name value` pairs, never a Python dict."""
    def plain(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{key.replace('_', ' ')} {plain(item)}" for key, item in value.items())
        if isinstance(value, (list, tuple)):
            return ", ".join(plain(item) for item in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "-" if value is None else str(value)

    return [(key.replace("_", " "), plain(value)) for key, value in environment.items() if key != "links"]
