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
FLOW_TIMEOUT_PER_BRIDGE_S = 0.2     # a 250-VPC border gateway has 251 bridges and about 64,000 flows
_COUNT = re.compile(r"flow_count=(\d+)")


def installed_flow_count(bridge: str, cookie: int | None = None) -> int:
    """Flows on `bridge`, or only those carrying `cookie` (a plan generation); -1 if unknown."""
    argv = ["ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", bridge]
    if cookie is not None:
        argv.append(f"cookie={cookie:#x}/-1")
    found = _COUNT.search(run(argv, check=False, timeout=10).stdout)
    return int(found.group(1)) if found else -1


def wait_for_flows(plan: Plan, *, timeout: float | None = None, explain: Callable[[], str] = lambda: "",
                   count: Callable[..., int] = installed_flow_count) -> dict[str, int]:
    """Wait until each bridge holds exactly this plan's flows (all with its generation); return the counts.

    A bridge found complete is not asked again: a plan's generation only ever gains its own flows and loses the
    older ones, so with 251 bridges each round of two `ovs-ofctl` calls per bridge would otherwise cost seconds.
    """
    expected = {node.name: len(flows_for(node)) for node in plan.switches()}
    if timeout is None:
        timeout = FLOW_TIMEOUT_S + FLOW_TIMEOUT_PER_BRIDGE_S * len(expected)
    pending = dict(expected)
    seen: dict[str, int] = {}
    current: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while True:
        for name, want in list(pending.items()):
            seen[name], current[name] = count(name), count(name, plan.generation)
            if seen[name] == want == current[name]:
                del pending[name]
        if not pending:
            return {name: seen[name] for name in expected}
        if time.monotonic() > deadline:
            missing = ", ".join(f"{name} has {seen[name]} flows ({current[name]} of generation {plan.generation}), "
                                f"expected {want}" for name, want in pending.items())
            raise RuntimeFailure(f"the controller did not install all flows within {timeout:.0f} s: {missing}\n"
                                 f"{explain()}")
        time.sleep(0.05)
