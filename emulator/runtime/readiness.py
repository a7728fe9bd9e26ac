"""Ready means every bridge holds the flows the controller must install: polled, never a sleep."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from controllers.flows import flows_for
from emulator.errors import RuntimeFailure
from emulator.plan import Plan
from emulator.runtime.commands import run

FLOW_TIMEOUT_S = 30.0
_COUNT = re.compile(r"flow_count=(\d+)")


def installed_flow_count(bridge: str, cookie: int | None = None) -> int:
    """Flows on `bridge`, or only those carrying `cookie` (a plan generation); -1 if unknown."""
    argv = ["ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", bridge]
    if cookie is not None:
        argv.append(f"cookie={cookie:#x}/-1")
    found = _COUNT.search(run(argv, check=False, timeout=10).stdout)
    return int(found.group(1)) if found else -1


def wait_for_flows(plan: Plan, *, timeout: float = FLOW_TIMEOUT_S, explain: Callable[[], str] = lambda: "",
                   count: Callable[..., int] = installed_flow_count) -> dict[str, int]:
    """Wait until each bridge holds exactly this plan's flows (all with its generation); return the counts."""
    expected = {node.name: len(flows_for(node)) for node in plan.switches()}
    deadline = time.monotonic() + timeout
    while True:
        seen = {name: count(name) for name in expected}
        current = {name: count(name, plan.generation) for name in expected}
        if seen == expected == current:
            return seen
        if time.monotonic() > deadline:
            missing = ", ".join(f"{name} has {seen[name]} flows ({current[name]} of generation {plan.generation}), "
                                f"expected {want}" for name, want in expected.items()
                                if seen[name] != want or current[name] != want)
            raise RuntimeFailure(f"the controller did not install all flows within {timeout:.0f} s: {missing}\n"
                                 f"{explain()}")
        time.sleep(0.05)
