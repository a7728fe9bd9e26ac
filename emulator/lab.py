"""The lab: a built network plus a shell where the console's actions change it while it runs.

`Lab` holds the logic (every action goes through the control plane's rules,
then the new plan reaches the controller and the Linux nodes without a
restart); `LabShell` is Mininet's CLI with the console's verbs added. Steps
that add routers or links rebuild the network, keeping the commands still to run.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emulator.checks.results import CheckResult
from emulator.cloud.resources import NextHopType
from emulator.errors import EmulatorError, ScenarioError
from emulator.routing.reachability import PairResult
from emulator.runner import Live, live_network, run_checks
from emulator.session import Prepared, explain_pair, prepare
from emulator.runtime.commands import run

NEEDS_REBUILD = "rebuild"


class Lab:
    """Console actions on a running network. Each returns a line to show, or raises EmulatorError."""

    def __init__(self, prepared: Prepared, live: Live) -> None:
        self.prepared = prepared
        self.live = live
        self.changed = False
        self.last_update_s = 0.0

    @property
    def cloud(self):
        return self.prepared.scenario.cloud

    def _change(self, action: Callable[[], object], done: str) -> str:
        action()                                 # refused with the provider's code, nothing changed
        self.changed = True
        renewed = prepare(self.prepared.scenario, generation=self.prepared.plan.generation + 1)
        if renewed.plan.structure() != self.prepared.plan.structure():
            self.prepared = renewed
            return NEEDS_REBUILD
        self.last_update_s = self.live.apply(renewed)
        self.prepared = renewed
        return f"{done} (flows updated in {self.last_update_s * 1000:.0f} ms)"

    def _router(self, name: str) -> str:
        """A router by its own ID, or by its VPC's ID (the console lists route tables under the VPC)."""
        vpc = self.cloud.vpcs.get(name)
        return vpc.vrouter_id if vpc is not None else name

    def add_route(self, router: str, destination: str, next_hop_type: str, next_hop_id: str) -> str:
        router = self._router(router)
        prefix, kind = _network(destination), _next_hop_type(next_hop_type)
        return self._change(lambda: self.cloud.add_route_entry(router_id=router, destination=prefix,
                                                               next_hop_type=kind, next_hop_id=next_hop_id),
                            f"route entry {prefix} -> {next_hop_id} added to {router}")

    def delete_route(self, router: str, destination: str) -> str:
        router = self._router(router)
        prefix = _network(destination)
        return self._change(lambda: self.cloud.delete_route_entry(router_id=router, destination=prefix),
                            f"route entry {prefix} deleted from {router}")

    def deactivate(self, ri_id: str) -> str:
        return self._change(lambda: self.cloud.deactivate_router_interface(ri_id=ri_id), f"{ri_id} is Inactive")

    def activate(self, ri_id: str) -> str:
        return self._change(lambda: self.cloud.activate_router_interface(ri_id=ri_id), f"{ri_id} is Active")

    def line(self, pc_id: str, up: bool) -> str:
        return self._change(lambda: self.cloud.set_physical_connection_state(pc_id=pc_id, up=up),
                            f"leased line {pc_id} is {'up' if up else 'down'}")

    def step(self) -> str:
        scenario = self.prepared.scenario
        return self._change(scenario.apply_next_step,
                            f"step {scenario.steps_applied + 1} of {scenario.steps_total} applied")

    def explain(self, src: str, dst: str) -> PairResult:
        return explain_pair(self.prepared, src, dst)

    def ping(self, src: str, dst: str) -> bool:
        self.explain(src, dst)
        node = self.prepared.plan.node(src).name
        address = str(self.prepared.network.address_of(dst))
        result = self.live.network.run_in(node, ["ping", "-n", "-c", "1", "-W", "1", address], check=False)
        return result.returncode == 0

    def check(self) -> list[CheckResult]:
        return run_checks(self.prepared, self.live.network, self.live.processes, lambda _line: None,
                          use_stated=not self.changed)

    def route_table(self, router: str) -> Table:
        from emulator.report.terminal import route_table

        router = self._router(router)
        node = self.prepared.network.nodes.get(router)
        if node is None or not node.table:
            routers = [n.id for n in self.prepared.network.nodes.values() if n.table]
            raise ScenarioError(f"{router} is not a VBR, VRouter or border gateway", fix="routers are: " +
                                ", ".join(routers))
        return route_table(self.prepared.network, router)

    def flows(self, node_id: str) -> str:
        try:
            node = self.prepared.plan.node(self._router(node_id))
        except StopIteration:
            raise ScenarioError(f"no node {node_id}", fix="give a VBR or VRouter ID, or a node name") from None
        if node.dpid is None:
            raise ScenarioError(f"{node_id} is not an OpenFlow bridge", fix="give a VBR or VRouter ID")
        return run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", node.name]).stdout


def _network(text: str) -> IPv4Network:
    try:
        return IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ScenarioError(f"{text} is not a CIDR block ({exc})", fix="write it like 172.16.0.0/12") from None


def _next_hop_type(text: str) -> NextHopType:
    try:
        return NextHopType(text)
    except ValueError:
        raise ScenarioError(f"unknown next hop type {text}",
                            fix="use one of: " + ", ".join(kind.value for kind in NextHopType)) from None


def run_lab(prepared: Prepared, console: Console, script: Path | None = None) -> int:
    """Build, open the shell, rebuild when a step adds routers or links; tear down at the end."""
    from emulator.lab_shell import LabShell
    from emulator.report import terminal

    queued: list[str] | None = None
    if script is not None:
        try:
            queued = [line.strip() for line in script.read_text().splitlines()
                      if line.strip() and not line.lstrip().startswith("#")] + ["EOF"]
        except OSError as exc:
            raise EmulatorError(f"cannot read the lab script {script}: {exc.strerror}") from None
    terminal.show_steps(console, prepared.scenario)
    while True:
        with live_network(prepared, progress=lambda line: console.print(f"[dim]- {line}[/dim]")) as live:
            lab = Lab(prepared, live)
            shell = LabShell(lab, console, queued)
            shell.start()
            if not shell.rebuild:
                return 0
            prepared, queued = lab.prepared, shell.cmdqueue or None
            console.print("[yellow]this step adds routers or links: rebuilding the network[/yellow]")
