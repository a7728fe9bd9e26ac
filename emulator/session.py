"""What a run carries from the pure pipeline to the reports: `Prepared` before anything is built, `RunOutcome` after.

Pure: `plan`, `explain` and `validate` use it without importing the runtime,
and the reports render these values without depending on the orchestrator
(emulator/runner.py), which builds the network between the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.capabilities import Environment
from emulator.checks.results import CheckResult
from emulator.errors import ScenarioError
from emulator.plan import Plan, make_plan
from emulator.routing.model import Network
from emulator.routing.reachability import PairResult, evaluate, expected_matrix
from emulator.routing.topology import build_network
from emulator.scenario import Scenario, host_hint


@dataclass
class Prepared:
    """The pure part of a run: everything known before anything is built, every expectation computed once."""

    scenario: Scenario
    network: Network
    plan: Plan
    expected: dict[tuple[str, str], PairResult]


def prepare(scenario: Scenario, generation: int = 1) -> Prepared:
    network = build_network(scenario.cloud)
    plan = make_plan(network, scenario.name, generation)
    return Prepared(scenario, network, plan, expected_matrix(network))


def explain_pair(prepared: Prepared, src: str, dst: str) -> PairResult:
    """The reachability of two hosts of the scenario, named by their cloud IDs (explain, the lab)."""
    hosts = prepared.network.hosts
    for host in (src, dst):
        if host not in hosts:
            raise ScenarioError(f"{host} is not an IDC server or an instance of {prepared.scenario.name}",
                                fix=host_hint(host, hosts))
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


@dataclass
class RunOutcome:
    prepared: Prepared
    environment: Environment
    checks: list[CheckResult]
    timings: dict[str, float] = field(default_factory=dict)
    cleanup: str = ""
    controller_restarts: list[ControllerRestart] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return self.environment.notes() + [restart.note() for restart in self.controller_restarts]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)
