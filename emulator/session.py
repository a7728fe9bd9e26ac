"""What a run carries from the pure pipeline to the reports: `Prepared` before anything is built, `RunOutcome` after.

Pure: `plan`, `explain` and `validate` use it without importing the runtime,
and the reports render these values without depending on the orchestrator
(emulator/runner.py), which builds the network between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from emulator.capabilities import Environment
from emulator.captures import CaptureFile
from emulator.checks.results import CheckResult
from emulator.errors import ScenarioError
from emulator.impairment import Impairment
from emulator.plan import Plan, make_plan
from emulator.routing.bgp import Learned
from emulator.routing.model import Network
from emulator.routing.reachability import Expectations, PairResult, evaluate
from emulator.routing.topology import build_network
from emulator.scenario import Scenario, host_hint


@dataclass
class Prepared:
    """The pure part of a run: everything known before anything is built; each expectation derived once, when
    something first asks for it."""

    scenario: Scenario
    network: Network
    plan: Plan
    expected: Mapping[tuple[str, str], PairResult]


def prepare(scenario: Scenario, generation: int = 1, learned: Learned | None = None) -> Prepared:
    """Expectations from the network with every BGP session converged as predicted; the plan to build from what
    the VBRs have `learned` so far (nothing, before the daemons start): their BGP routes come from real sessions."""
    network = build_network(scenario.cloud)
    built = build_network(scenario.cloud, learned or Learned.nothing()) if scenario.cloud.has_bgp() else network
    plan = make_plan(built, scenario.name, generation)
    return Prepared(scenario, network, plan, Expectations(network))


def require_measurable_checks(prepared: Prepared) -> None:
    """A performance check between two hosts the route tables do not join is refused before anything is built, at
    its line, as `perf` refuses the pair (a file applied only up to a step is not held to its checks yet)."""
    loaded = prepared.scenario
    if loaded.steps_applied < loaded.steps_total:
        return
    for i, test in enumerate(loaded.model.checks.performance):
        pair = prepared.expected.get((test.src, test.dst))
        if pair is not None and not pair.reachable:
            why = pair.explanation
            raise ScenarioError(f"checks.performance[{i}]: {test.src} does not reach {test.dst}, so there is nothing "
                                "to measure" + (f": {why.code} at {why.hop}" if why else ""),
                                where=loaded.source.where(("checks", "performance", i)),
                                fix=(why.fix if why else "") + " (or remove the check; `explain` says why)")


def resolve_host(prepared: Prepared, name_or_address: str) -> tuple[str, str]:
    """A host of the scenario by its cloud ID or by its address: (host ID, a note saying how it was found)."""
    hosts = prepared.network.hosts
    if name_or_address in hosts:
        return name_or_address, ""
    try:
        address = IPv4Address(name_or_address)
    except ValueError:
        raise ScenarioError(f"{name_or_address[:80]} is not an IDC server or an instance of {prepared.scenario.name}",
                            fix=host_hint(name_or_address, hosts)) from None
    owner = next((host for host in hosts if prepared.network.address_of(host) == address), None)
    if owner is not None:
        return owner, f"{address} is {owner}"
    raise ScenarioError(f"no host of {prepared.scenario.name} has the address {address}: "
                        f"{_where_address_falls(prepared.scenario, address)}",
                        fix="give a host's ID or address: " + ", ".join(
                            f"{host} ({prepared.network.address_of(host)})" for host in hosts))


def _where_address_falls(scenario: Scenario, address: IPv4Address) -> str:
    cloud = scenario.cloud
    for vpc in cloud.vpcs.values():
        for vswitch in vpc.vswitches.values():
            if address in vswitch.cidr:
                return f"it is in {vswitch.id} ({vswitch.cidr}) of {vpc.id}, where no instance has it"
        if address in vpc.cidr:
            return f"it is in {vpc.id} ({vpc.cidr}), outside its {cloud.provider.SUBNETS_KEY}"
    for idc in cloud.idcs.values():
        for subnet in idc.subnets:
            if address in subnet.cidr:
                return f"it is in the IDC subnet {subnet.cidr} of {idc.id}, where no server has it"
        if address in idc.cidr:
            return f"it is in the IDC's range {idc.cidr}, outside its subnets"
    return "it is in no VPC, vSwitch or IDC subnet of this scenario"


def explain_pair(prepared: Prepared, src: str, dst: str) -> PairResult:
    """The reachability of two hosts of the scenario, named by their cloud IDs or addresses (explain, the lab)."""
    src, _ = resolve_host(prepared, src)
    dst, _ = resolve_host(prepared, dst)
    if src == dst:
        raise ScenarioError(f"from and to are the same host ({src})", fix="name two different hosts")
    return evaluate(prepared.network, src, dst)


@dataclass(frozen=True)
class ControllerRestart:
    """One death and recovery of the controller, as the report tells it."""

    died_at: str                  # wall clock (UTC, ISO 8601) when the death was noticed
    exit_status: str              # "killed by SIGKILL", "exit 1"
    slow_path_unavailable_s: float   # from the death noticed to every bridge's flows confirmed again
    new_pid: int

    def note(self) -> str:
        return (f"the controller died at {self.died_at} ({self.exit_status}) and was restarted (pid {self.new_pid}); "
                f"the slow path (ARP and ICMP of router addresses, time exceeded) was unavailable for "
                f"{self.slow_path_unavailable_s:.2f} s; transit traffic kept its flows")

    def to_json(self) -> dict:
        return {"died_at": self.died_at, "exit_status": self.exit_status,
                "slow_path_unavailable_s": round(self.slow_path_unavailable_s, 3), "new_pid": self.new_pid}


@dataclass(frozen=True)
class LinkPhysics:
    """A link with delay, jitter or loss: its values, how they were made, and what the delay line counted."""

    link: str                     # the console's name: pc-AAA, ri-AAA/ri-BBB
    kind: str
    impairment: Impairment
    mechanism: str                # "netem", "delay line", or "none" (accepted as ideal with --ideal-links)
    counters: dict | None = None  # the delay line's, per direction, and frames the kernel dropped before it read them

    def to_json(self) -> dict:
        return {"link": self.link, "kind": self.kind, **self.impairment.to_json(), "mechanism": self.mechanism,
                "delay_line_counters": self.counters}


@dataclass
class RunOutcome:
    prepared: Prepared
    environment: Environment
    checks: list[CheckResult]
    timings: dict[str, float] = field(default_factory=dict)
    cleanup: str = ""
    controller_restarts: list[ControllerRestart] = field(default_factory=list)
    captures: list[CaptureFile] = field(default_factory=list)    # one per link end, with its packet count
    links: list[LinkPhysics] = field(default_factory=list)        # links with delay, jitter or loss
    extra_notes: list[str] = field(default_factory=list)
    delay_line_ceiling: dict | None = None     # what the userspace delay line forwards here (None: not used)

    @property
    def notes(self) -> list[str]:
        return (self.environment.notes() + [restart.note() for restart in self.controller_restarts]
                + self.extra_notes)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)
