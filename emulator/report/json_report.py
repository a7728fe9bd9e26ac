"""The machine-readable report: scenario, passed, environment, checks (see docs/report-format.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulator.report.terminal import route_table_rows
from emulator.routing.model import NodeKind
from emulator.session import RunOutcome

REPORT_VERSION = 1


def build(outcome: RunOutcome) -> dict[str, Any]:
    prepared = outcome.prepared
    return {
        "report_version": REPORT_VERSION,
        "scenario": prepared.scenario.name,
        "title": prepared.scenario.title,
        "passed": outcome.passed,
        "environment": {**outcome.environment.to_json(),
                        "links": [link.to_json() for link in outcome.links],
                        "delay_line_ceiling": outcome.delay_line_ceiling},
        "notes": outcome.notes,
        "nodes": [{"name": n.name, "id": n.id, "role": n.role} for n in prepared.plan.nodes],
        "steps": list(prepared.scenario.steps),
        "route_tables": {node.id: {"owner": node.owner, "table": node.table,
                                   "routes": route_table_rows(prepared.network, node.id)}
                         for node in prepared.network.nodes.values() if node.kind is NodeKind.CLOUD_ROUTER},
        "checks": [check.to_json() for check in outcome.checks],
        "controller_restarts": [restart.to_json() for restart in outcome.controller_restarts],
        "captures": [capture.to_json() for capture in outcome.captures],
        "timings_s": {k: round(v, 3) for k, v in outcome.timings.items()},
        "cleanup": outcome.cleanup,
    }


def write(outcome: RunOutcome, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build(outcome), indent=2) + "\n")
