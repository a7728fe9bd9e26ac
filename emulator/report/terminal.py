"""The summary a person reads: the tutorial's steps, the nodes, and each check with its result."""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from emulator.captures import OPEN_HINT
from emulator.checks import results
from emulator.checks.results import (BgpDetail, CheckResult, FailoverDetail, PerformanceDetail, PingDetail,
                                     TracerouteDetail)
from emulator.perf_model import HOST_HEADROOM, host_limit_reason
from emulator.plan import Plan
from emulator.routing.model import Network, NodeKind, RouteKind
from emulator.routing.reachability import PairResult, Verdict
from emulator.routing.topology import INTERCONNECT_POOL
from emulator.session import Prepared, RunOutcome
from emulator.scenario import Scenario


def _mark(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def hanging(lead: str, text: str, style: str = "") -> Table:
    """`lead`, then `text` whose wrapped lines stay under its first word (at 80 columns a note or a step takes
    two or three lines: they must not run back to the left edge)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column()
    grid.add_row(Text(lead, style), Text(text, style))
    return grid


def progress_printer(console: Console) -> Callable[[str], None]:
    """What `run`, `perf` and `lab` say while they build: `- ` and the line, as plain text (never markup)."""
    return lambda line: console.print(hanging("-", line, "dim"))


def show_steps(console: Console, scenario: Scenario) -> None:
    console.print(Text(scenario.title or scenario.name, "bold"))
    if scenario.reference:
        console.print(Text(scenario.reference, "dim"))
    number = 0
    for line in scenario.steps:
        if line.startswith("Step "):
            console.print(Text(line, "bold"))
        else:
            number += 1
            console.print(hanging(f"  {number:2}.", line))
    if not scenario.complete:
        console.print(f"[yellow]stopped after step {scenario.steps_applied} of {scenario.steps_total}: "
                      f"the scenario's own expectations are not checked[/yellow]")


def nodes_table(plan: Plan) -> Table:
    table = Table(title="Nodes (Linux name <-> cloud ID)", title_justify="left")
    for column in ("node", "cloud ID", "role", "addresses"):
        table.add_column(column)
    for node in plan.nodes:
        addresses = ", ".join(i.address for i in node.interfaces if i.address)
        table.add_row(node.name, node.id, node.role, addresses)
    return table


def forwarding_tables(plan: Plan) -> list[Table]:
    tables = []
    for node in plan.nodes:
        if not node.forwarding and not node.linux_routes:
            continue
        table = Table(title=f"{node.id} ({node.name}, {node.role})", title_justify="left")
        for column in ("destination", "out port", "next-hop MAC / via", "why"):
            table.add_column(column)
        ports = {i.port_no: i for i in node.interfaces}
        for entry in node.forwarding:
            port = f"{entry.port_no} ({ports[entry.port_no].logical})" if entry.port_no else "drop"
            table.add_row(entry.prefix, port, entry.dst_mac or "-", entry.why)
        for route in node.linux_routes:
            table.add_row(route.prefix, route.dev, route.via, "ip route")
        tables.append(table)
    return tables


def expected_table(hosts: tuple[str, ...], expected: dict[tuple[str, str], PairResult]) -> Table:
    table = Table(title="Expected reachability (row pings column)", title_justify="left")
    table.add_column("from \\ to")
    for host in hosts:
        table.add_column(host)
    for src in hosts:
        row = []
        for dst in hosts:
            if src == dst:
                row.append("-")
            else:
                result = expected[(src, dst)]
                row.append("yes" if result.reachable else f"no ({result.explanation.code})"
                           if result.explanation else "no")
        table.add_row(src, *row)
    return table


def show_plan(console: Console, prepared: Prepared) -> None:
    show_steps(console, prepared.scenario)
    console.print(nodes_table(prepared.plan))
    for table in forwarding_tables(prepared.plan):
        console.print(table)
    console.print(expected_table(prepared.network.hosts, prepared.expected))


def show_outcome(console: Console, outcome: RunOutcome) -> None:
    console.print(nodes_table(outcome.prepared.plan))
    route_tables(console, outcome.prepared.network)
    show_checks(console, outcome.checks)
    for capture in outcome.captures:
        console.print(f"capture {capture.end.link} at {capture.end.node_id} ({capture.end.interface}): {capture.path}, "
                      f"{capture.packets} packets")
    if outcome.captures:
        console.print(f"[dim]{OPEN_HINT}[/dim]")
    console.print(f"[dim]{escape(timings_in_words(outcome.timings))}[/dim]")
    console.print(f"[dim]cleanup: {escape(str(outcome.cleanup))}[/dim]")
    failed = [c for c in outcome.checks if not c.passed]
    if outcome.passed:
        console.print(f"[bold green]all {len(outcome.checks)} checks passed[/bold green]")
    else:
        console.print(f"[bold red]{len(failed)} of {len(outcome.checks)} checks failed[/bold red]")


MATRIX_ROWS_SHOWN = 40


def show_checks(console: Console, checks: list[CheckResult]) -> None:
    """One row per check; the pair in one column that never wraps, the details wrapped beside it (at 80 columns a
    ping is two lines, not eight)."""
    table = Table(title="Checks", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("from -> to", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("details")
    pings = [c for c in checks if isinstance(c.detail, PingDetail)]
    if len(pings) > MATRIX_ROWS_SHOWN:
        # A large matrix: one summary row, then only the pairs worth reading.
        passed = sum(c.passed for c in pings)
        reachable = sum(c.detail.reachable for c in pings)
        table.add_row("ping", f"matrix of {len(pings)} pairs", _mark(passed == len(pings)),
                      f"{passed} as expected, {reachable} reachable; listed below: failed or unreachable pairs")
        checks = [c for c in checks if not isinstance(c.detail, PingDetail) or not c.passed or not c.detail.reachable]
    for check in checks:
        table.add_row(check.kind.value, f"{check.src}\n-> {check.dst}", _mark(check.passed), escape(_details(check)))
    console.print(table)
    timed = [c.detail.rtt_ms for c in checks if isinstance(c.detail, PingDetail) and c.detail.rtt_ms]
    if timed:
        console.print(hanging("RTT:", results.RTT_NOTE.format(most=max(rtt["sent"] for rtt in timed)), "dim"))



def _details(check: CheckResult) -> str:
    d = check.detail
    if isinstance(d, PingDetail):
        details = _ping_details(check, d)
    elif isinstance(d, TracerouteDetail):
        details = "hops " + " > ".join(
            f"{hop or '*'} ({d.hop_nodes[i]})" if i < len(d.hop_nodes) else (hop or "*") for i, hop in enumerate(d.hops))
        if not check.passed:
            details += "\nexpected " + " > ".join(d.expected_hops)
        if d.error:
            details += f"\n{d.error}"
    elif isinstance(d, BgpDetail):
        details = (f"{d.peer}: customer {d.session_state['customer']}, {check.dst} {d.session_state['cloud']} "
                   f"(expected {d.expected_state})")
        if d.established_s is not None:
            details += f"; Established after {d.established_s:.1f} s"
        if d.converged_s is not None:
            details += f", converged after {d.converged_s:.1f} s"
        details += (f"\n{check.dst} received {len(d.received_prefixes['cloud'])}, installed {len(d.installed_prefixes)}"
                    + (f", discarded {d.discarded_prefixes} (beyond its limit)" if d.discarded_prefixes else "")
                    + f"; customer device received {len(d.received_prefixes['customer'])}: "
                    + (", ".join(d.received_prefixes["customer"][:4]) or "nothing"))
        if d.reason:
            details += f"\n{d.reason}"
        if d.last_notification:
            details += f"\nFRR: {d.last_notification}"
    elif isinstance(d, PerformanceDetail):
        limited = sum(1 for test in d.tests if test["host_limited"])
        failed = [test["name"] for test in d.tests if not test["passed"]]
        details = (f"{len(d.tests)} tests: {len(d.tests) - limited - len(failed)} pass, {limited} host-limited"
                   + (f", below target: {', '.join(failed)}" if failed else "")
                   + (f"; RTT avg {d.rtt_ms['avg']} ms" if d.rtt_ms.get("avg") is not None else ""))
        details += "".join(f"\n{test['name']}: {test['measured_mbps']} Mbit/s of {test['target_mbps']}"
                           for test in d.tests)
        if d.error:
            details = d.error
    elif isinstance(d, FailoverDetail):
        details = _failover_details(d)
    else:
        details = (f"{d.protocol.upper()} {d.measured_mbps} Mbit/s measured, "
                   f"{d.configured_mbps} Mbit/s configured bottleneck")
        if d.ratio is not None:
            details += f" ({d.ratio:.0%})"
        if d.host_limited:
            details += (f"\nhost-limited: {host_limit_reason(d.configured_mbps, d.unshaped_mbps, d.cpu_idle_percent, HOST_HEADROOM)}"
                        " (not counted as a failure)")
        elif d.unshaped_mbps is not None:
            details += f"\nunshaped, the same path carries {d.unshaped_mbps} Mbit/s: the shaping is short"
        if d.error:
            details += f"\n{d.error}"
    return details


def _ping_details(check: CheckResult, d: PingDetail) -> str:
    """"reachable, as expected (2/2 replies, RTT 9.9 ms)"; an expected-unreachable pair names its reason's code,
    a failed one the reason in full. Whose expectation: the scenario file's where it states one, else the
    route tables'."""
    seen = "reachable" if d.reachable else "unreachable"
    whose = "the scenario expects" if d.stated_expectation is not None else "the route tables predict"
    wanted = "reachable" if d.expected else "unreachable"
    details = f"{seen}, as {whose}" if check.passed else f"{seen}, but {whose} {wanted}"
    if d.reachable or d.replies:
        details += (f" ({d.replies}/{d.sent} replies{', retried' if d.retried else ''}"
                    + (f", RTT {d.rtt_ms['avg']:.1f} ms" if d.rtt_ms else "") + ")")
    if d.answered_by:
        details += f"; answered by {d.answered_by} (same address)"
    if check.explanation:
        details += (f": {check.explanation.code}" if check.passed
                    else f"\n{check.explanation.code}: {check.explanation.message}")
    return details


def _failover_details(d: FailoverDetail) -> str:
    if d.error:
        return f"{d.event}: {d.error}"
    details = f"{d.event}: round trips lost {d.lost_packets} of {d.sent_packets}, longest gap {d.outage_s:.2f} s"
    for direction, figures in (d.directions or {}).items():
        details += (f"\n{direction.replace('_', ' ')}: outage {figures['outage_s']:.2f} s, expected "
                    f"{figures['expected_outage_s']:.2f} s ({figures['prediction']}), accepted "
                    f"{figures['accepted_s'][0]:.1f}-{figures['accepted_s'][1]:.1f} s"
                    + ("" if figures["passed"] else " [FAIL]"))
    for when, path in (("before", d.path_before), ("after", d.path_after)):
        details += (f"\n{when}: to the IDC over {', '.join(path.get('cloud_to_idc', [])) or 'nothing'}, from it over "
                    f"{', '.join(path.get('idc_to_cloud', [])) or 'nothing'}")
    if d.health_checks:
        details += "\nhealth checks: " + "; ".join(d.health_checks)
    if d.tcp_survived is not None:
        details += f"\nTCP transfer {'survived' if d.tcp_survived else 'did not survive'}"
    return details


def _path_table(network: Network, verdict: Verdict, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("hop", "node", "role", "entered by", "route used"):
        table.add_column(column)
    destination = verdict.dst
    for index, hop in enumerate(verdict.hops):
        node = network.nodes[hop.node]
        route = node.best_route(destination) if not node.owns(destination) else None
        used = f"{route.prefix} -> {route.target or route.port}" if route else ("destination" if node.owns(
            destination) else "-")
        if node.kind is NodeKind.CLOUD_ROUTER and route is not None:
            used += f" ({route.table or node.table})"
        table.add_row(str(index), hop.node, node.role, str(hop.ingress) if hop.ingress else "-", used)
    return table


def show_explanation(console: Console, network: Network, result: PairResult) -> None:
    console.print(_path_table(network, result.forward, f"{result.src} -> {result.dst}: request"))
    if result.back is not None:
        console.print(_path_table(network, result.back, f"{result.dst} -> {result.src}: reply"))
    if result.reachable:
        console.print(f"[green]REACHABLE[/green]: {result.src} and {result.dst} can ping each other")
        return
    e = result.explanation
    assert e is not None
    console.print(f"[red]{escape(e.code)}[/red] at {escape(e.hop)}: {escape(e.message)}")
    console.print(f"  fix: {escape(e.fix)}")


ROUTE_KIND = {RouteKind.CUSTOM: "static", RouteKind.LOCAL: "local", RouteKind.CONNECTED: "local (interconnect)",
              RouteKind.PROPAGATED: "propagated", RouteKind.BGP: "BGP"}     # the console's names


def route_table_rows(network: Network, router_id: str) -> list[dict]:
    """A cloud router's route table as the console lists it (host routes of instances left out)."""
    node = network.nodes[router_id]
    rows = []
    for route in sorted(node.routes, key=lambda r: (r.rank, -r.prefix.prefixlen, str(r.prefix))):
        if route.kind is RouteKind.HOST or (route.kind is RouteKind.CONNECTED
                                            and route.prefix.subnet_of(INTERCONNECT_POOL)):
            continue   # the emulator's own plumbing, not something the console shows
        row = {"destination": str(route.prefix), "next_hop": route.target or "-",
               "type": ROUTE_KIND.get(route.kind, route.kind.value), "priority": route.priority,
               "state": "invalid" if not route.valid else "available" if route.usable else "inactive"}
        if route.next_hop_rank:     # a JD border gateway compares the next hop's type first
            row["next_hop_priority"] = route.next_hop_rank
        rows.append(row)
    return rows


def route_table(network: Network, router_id: str) -> Table:
    node = network.nodes[router_id]
    table = Table(title=f"{node.owner or router_id}: route table {node.table}", title_justify="left")
    for column in ("destination", "next hop", "type", "priority", "state"):
        table.add_column(column)
    for row in route_table_rows(network, router_id):
        priority = str(row["priority"])
        if "next_hop_priority" in row:
            priority = f"{row['next_hop_priority']} / {priority}"
        table.add_row(row["destination"], row["next_hop"], row["type"], priority, row["state"])
    return table


def route_tables(console: Console, network: Network) -> None:
    for node in network.nodes.values():
        if node.kind is NodeKind.CLOUD_ROUTER:
            console.print(route_table(network, node.id))


TIMING_WORDS = {"build_s": "network built", "ready_s": "flows ready", "bgp_s": "BGP converged",
                "checks_s": "checks", "total_s": "in all"}


def timings_in_words(timings: dict[str, float]) -> str:
    """The run's phases as a person reads them (the JSON report keeps the keys): `time: network built 1.0 s, ...`."""
    parts = [f"{TIMING_WORDS.get(key, key.removesuffix('_s').replace('_', ' '))} {seconds:.1f} s"
             for key, seconds in timings.items()]
    return "time: " + ", ".join(parts)
