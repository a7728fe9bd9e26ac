"""The command line: verbs that do one thing each. The only place that exits.

  list                 scenarios shipped in scenarios/
  validate SCENARIO    check a scenario file against the schema and the provider's rules
  plan SCENARIO        routers, forwarding tables, links and expected reachability (no root)
  explain SCENARIO SRC DST   the path hop by hop, or where and why it breaks, with the fix (no root)
  graph SCENARIO       the topology as a picture: SVG, PNG, DOT or mermaid (no root)
  run SCENARIO         build it, send real packets, report, tear down (root)
  lab SCENARIO         build it and open a shell where the console's actions change the running network (root)
  generate border-gateway --vpcs N   write an N-VPC border gateway scenario (scale tests)
  schema               the scenario file's JSON schema (for editors and CI linting)
  clean                remove what a killed run left behind (root; never `mn -c`)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from emulator import scenario as scenario_module
from emulator.errors import CloudError, EmulatorError, ScenarioError

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator",
                                     description="Packet-level emulator of cloud hybrid networking.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="list the scenarios shipped in scenarios/")
    def scenario_verb(name: str, text: str) -> argparse.ArgumentParser:
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("scenario", help="a name from scenarios/ or a path to a YAML file")
        verb.add_argument("--until-step", type=int, metavar="N", help="apply only the first N tutorial steps")
        return verb

    scenario_verb("validate", "check a scenario without building anything")
    scenario_verb("plan", "show routers, forwarding tables, links and expected reachability")
    explain = scenario_verb("explain", "walk the forwarding tables from SRC to DST and say where and why it breaks")
    explain.add_argument("src", help="an IDC server or instance ID")
    explain.add_argument("dst", help="an IDC server or instance ID")
    explain.add_argument("--graph", type=Path, metavar="PATH",
                         help="also draw the topology with this pair's path to PATH (.svg, .png, .dot or .mmd)")
    graph = scenario_verb("graph", "draw the topology as the cloud console would (no root)")
    graph.add_argument("--format", choices=["svg", "png", "dot", "mermaid"], default=None,
                       help="picture format (default: from -o's suffix, else svg)")
    graph.add_argument("-o", "--output", type=Path, metavar="PATH",
                       help="write to PATH (default: SCENARIO.FORMAT here; dot and mermaid print without -o)")
    run = scenario_verb("run", "build the network, run the checks, report and tear down (root)")
    run.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON to PATH")
    run.add_argument("--artifacts", type=Path, metavar="DIR",
                     help="keep the plan and the controller's log in DIR")
    run.add_argument("--report", type=Path, metavar="DIR",
                     help="write DIR/report.html (self-contained: topology, ping matrix, checks), DIR/report.json and "
                          "DIR/topology.svg (the picture alone)")
    run.add_argument("--ideal-links", action="store_true",
                     help="where neither sch_netem nor the userspace delay line works, run with ideal links "
                          "instead of stopping (the notes say so)")
    run.add_argument("--capture", action="append", metavar="LINK",
                     help="record LINK (its console name: pc-AAA, ri-AAA, an attachment; or all) into "
                          "DIR/captures, one pcap per link end (DIR: --artifacts, default ./artifacts); repeatable")
    perf = scenario_verb("perf", "the provider's leased-line performance test between two hosts: TCP 1 and N "
                                 "streams, UDP 1400 and 16 bytes, both directions, RTT series (root)")
    perf.add_argument("--from", dest="src", required=True, metavar="HOST", help="an IDC server or instance (ID or address)")
    perf.add_argument("--to", dest="dst", required=True, metavar="HOST", help="an IDC server or instance (ID or address)")
    perf.add_argument("--duration", type=int, default=3, choices=range(1, 61), metavar="S",
                      help="seconds per test (1..60, default 3)")
    perf.add_argument("--streams", type=int, default=4, choices=range(1, 17), metavar="N",
                      help="parallel TCP streams of the multi-stream test (1..16, default 4)")
    perf.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    perf.add_argument("--plot", type=Path, metavar="PATH", help="also draw per-second throughput and RTT to PATH (PNG)")
    perf.add_argument("--ideal-links", action="store_true", help="as for run")
    lab = scenario_verb("lab", "build the network and open an interactive shell to change it live (root)")
    lab.add_argument("--script", type=Path, metavar="FILE", help="run the lab commands in FILE instead of asking")
    lab.add_argument("--artifacts", type=Path, metavar="DIR", default=Path("artifacts"),
                     help="write captures to DIR/captures and the probe's files to DIR/probe (default ./artifacts)")
    generate = verbs.add_parser("generate", help="write a generated scenario (for scale tests)")
    generate.add_argument("kind", choices=["border-gateway"])
    generate.add_argument("--vpcs", type=int, required=True, metavar="N", help="number of VPCs (2..250)")
    generate.add_argument("--output", type=Path, metavar="PATH", help="write to PATH instead of printing")
    verbs.add_parser("schema", help="print the scenario file's JSON schema")
    clean = verbs.add_parser("clean", help="remove what a killed run left behind (root)")
    clean.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    return parser


def main(argv: list[str] | None = None) -> int:
    from emulator.stdin import ensure_stdin_open

    ensure_stdin_open()
    args = _parser().parse_args(argv)
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    try:
        return _dispatch(args, console)
    except (ScenarioError, CloudError) as exc:
        errors.print(f"[red]error[/red] {exc.render()}", markup=True, soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        errors.print("interrupted; the network was torn down")
        return EXIT_INTERRUPTED
    except EmulatorError as exc:
        from emulator.runner import Interrupted

        errors.print(f"[red]error[/red] {exc.render()}", soft_wrap=True)
        return EXIT_INTERRUPTED if isinstance(exc, Interrupted) else EXIT_ENVIRONMENT


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    if args.verb == "list":
        for name in scenario_module.available_scenarios():
            console.print(name)
        return EXIT_OK
    if args.verb == "clean":
        return _clean(args, console)
    if args.verb == "generate":
        return _generate(args, console)
    if args.verb == "schema":
        from emulator.schema import json_schema

        sys.stdout.write(json_schema())
        return EXIT_OK

    from emulator import session
    from emulator.report import terminal

    loaded = scenario_module.load(args.scenario, until_step=args.until_step)
    prepared = session.prepare(loaded)
    if args.verb in ("validate", "run"):
        session.require_measurable_checks(prepared)
    if args.verb == "validate":
        operations = sum(1 for line in loaded.steps if not line.startswith("Step "))
        console.print(f"{loaded.path}: valid ({operations} operations accepted in {loaded.steps_applied} of "
                      f"{loaded.steps_total} steps; {len(prepared.plan.nodes)} nodes, "
                      f"{len(prepared.network.hosts)} hosts)")
        from emulator.routing.health import health_check_problems

        for problem in health_check_problems(loaded.cloud, prepared.network).values():
            console.print(f"note: {problem}")
        return EXIT_OK
    if args.verb == "plan":
        terminal.show_plan(console, prepared)
        return EXIT_OK
    if args.verb == "explain":
        for text in (args.src, args.dst):
            note = session.resolve_host(prepared, text)[1]
            if note:
                console.print(f"[dim]{note}[/dim]")
        result = session.explain_pair(prepared, args.src, args.dst)
        terminal.show_explanation(console, prepared.network, result)
        if args.graph is not None:
            _draw(prepared, args.graph, None, console, result)
        return EXIT_OK if result.reachable else EXIT_CHECKS_FAILED
    if args.verb == "graph":
        return _draw(prepared, args.output, args.format, console)
    if args.verb == "lab":
        from emulator.lab_shell import run_lab

        return run_lab(prepared, console, script=args.script, artifacts=args.artifacts)

    if args.verb == "perf":
        return _perf(args, prepared, console)

    from emulator import runner
    from emulator.report import json_report

    terminal.show_steps(console, loaded)
    outcome = runner.execute(prepared, progress=terminal.progress_printer(console),
                             artifacts=args.artifacts, capture=args.capture, ideal_links=args.ideal_links)
    terminal.show_outcome(console, outcome)
    if args.json is not None:
        try:
            json_report.write(outcome, args.json)
        except OSError as exc:
            raise EmulatorError(f"cannot write the JSON report to {args.json}: {exc.strerror}",
                                fix="choose a writable path for --json") from None
        console.print(f"JSON report written to {args.json}")
    if args.report is not None:
        from emulator.report import html_report

        try:
            page = html_report.write(outcome, args.report)
        except OSError as exc:
            raise EmulatorError(f"cannot write the report to {args.report}: {exc.strerror}",
                                fix="choose a writable directory for --report") from None
        console.print(f"HTML report written to {page} (opens offline)")
    return EXIT_OK if outcome.passed else EXIT_CHECKS_FAILED


def _perf(args: argparse.Namespace, prepared, console: Console) -> int:
    from emulator import runner, session
    from emulator.checks.performance import require_reachable, run_performance
    from emulator.report import perf_report, terminal

    src, _ = session.resolve_host(prepared, args.src)
    dst, _ = session.resolve_host(prepared, args.dst)
    if src == dst:
        raise ScenarioError(f"--from and --to are the same host ({src})", fix="name two different hosts")
    require_reachable(prepared, src, dst)
    for target in (args.json, args.plot):      # refuse an unwritable path before minutes of tests
        if target is not None and not os.access(target.parent if str(target.parent) else Path("."), os.W_OK):
            raise EmulatorError(f"cannot write {target}: its directory is missing or not writable",
                                fix="choose a writable path")
    progress = terminal.progress_printer(console)
    with runner.live_network(prepared, progress=progress, ideal_links=args.ideal_links) as live:
        report = run_performance(prepared, live.network, live.processes, src, dst, args.duration, args.streams,
                                 progress, environment=live.environment_json())
    perf_report.show(console, report)
    try:
        if args.json is not None:
            perf_report.write_json(report, args.json)
            console.print(f"JSON written to {args.json}")
        if args.plot is not None:
            perf_report.plot(report, args.plot)
            console.print(f"plot written to {args.plot}")
    except OSError as exc:
        raise EmulatorError(f"cannot write the results: {exc.strerror}", fix="choose a writable path") from None
    return EXIT_OK if report.passed else EXIT_CHECKS_FAILED


def _draw(prepared, output: Path | None, fmt: str | None, console: Console, result=None) -> int:
    """Write the topology picture; dot and mermaid go to standard output when no file is named."""
    from emulator.report import graph

    if fmt is None:
        fmt = graph.format_of(str(output)) if output is not None else "svg"
        if fmt is None:
            raise ScenarioError(f"cannot tell the picture format from {output}",
                                fix="end the file name in .svg, .png, .dot or .mmd, or give --format")
    picture = graph.render(prepared, fmt, result)
    if output is None and fmt in graph.TEXT_FORMATS:
        sys.stdout.write(picture.decode())
        return EXIT_OK
    target = output or Path(f"{prepared.scenario.name}.{fmt if fmt != 'mermaid' else 'mmd'}")
    try:
        target.write_bytes(picture)
    except OSError as exc:
        raise EmulatorError(f"cannot write the picture to {target}: {exc.strerror}",
                            fix="choose a writable path with -o") from None
    console.print(f"{fmt} picture written to {target}")
    return EXIT_OK


def _generate(args: argparse.Namespace, console: Console) -> int:
    from emulator import generate

    try:
        text = generate.border_gateway(args.vpcs)
    except ValueError as exc:
        raise ScenarioError(str(exc), fix="choose another --vpcs") from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text)
        except OSError as exc:
            raise EmulatorError(f"cannot write {args.output}: {exc.strerror}",
                                fix="choose a writable path for --output") from None
        console.print(f"wrote {args.output}")
    return EXIT_OK


def _clean(args: argparse.Namespace, console: Console) -> int:
    import os

    from emulator.runtime import cleanup, lock

    if os.geteuid() != 0:
        raise EmulatorError("clean needs root", fix="sudo .venv/bin/python -m emulator clean")
    if args.dry_run:
        left = cleanup.leftovers()
        console.print("nothing to clean" if left.empty() else f"would remove: {left.summary()[len('removed '):]}")
        return EXIT_OK
    with lock.exclusive("clean"):
        console.print(cleanup.sweep().summary())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
