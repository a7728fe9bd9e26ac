"""The running health checks: one prober process per check, in its own node, and what they say.

The verdicts are read from the probers' state files; the runner (runner.py)
carries a changed verdict into the control plane and a new plan generation.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from emulator.cloud.resources import HealthCheck
from emulator.plan import Plan
from emulator.routing.topology import prober_id
from emulator.runtime.commands import in_namespace, python_module, spawn, terminate


@dataclass(frozen=True)
class Reading:
    """One prober's latest state: its verdict, when the verdict last changed (wall clock), its counters."""

    healthy: bool
    changed_at: float
    sent: int
    answered: int


@dataclass
class Prober:
    ri_id: str
    node: str
    pid: int
    config: dict
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def state_path(self) -> Path:
        return self.directory / f"{self.node}.state.json"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config_path = self.directory / f"{self.node}.config.json"
        config_path.write_text(json.dumps(self.config))
        with open(self.directory / f"{self.node}.log", "a") as log:     # a restart keeps why the last one died
            self.process = spawn(
                in_namespace(self.pid, python_module("emulator.runtime.health_prober", str(config_path),
                                                     str(self.state_path))),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def restart(self) -> None:
        """After it died: a new prober carries on from the verdict the last one gave (not healthy by default,
        which would bring a faulty line back into the routes)."""
        reading = self.reading()
        if reading is not None:
            self.config = {**self.config, "healthy": reading.healthy}
        self.start()

    def reading(self) -> Reading | None:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None
        return Reading(state["healthy"], state["changed_at"], state["sent"], state["answered"])

    def stop(self) -> None:
        terminate(self.process)


def probers(checks: dict[str, HealthCheck], plan: Plan, pids: dict[str, int], directory: Path) -> list[Prober]:
    """A prober per health check: its node's interface and MAC, and the MAC of the VBR's port facing it."""
    found = []
    for ri_id, check in checks.items():
        node = plan.node(prober_id(ri_id))
        intf = node.interfaces[0]
        link = next(link for link in plan.links if link.b_node == node.name)
        vbr = plan.node(link.a_node)
        facing = next(i for i in vbr.interfaces if i.name == link.a_intf)
        config = {"interface": intf.name, "src_mac": intf.mac, "dst_mac": facing.mac, "source": str(check.source_ip),
                  "target": str(check.target_ip), "rate_ms": check.rate_ms, "threshold": check.threshold}
        found.append(Prober(ri_id, node.name, pids[node.name], config, directory))
    return found
