"""Failover on redundant leased lines: each variant's outage per direction against its prediction. Prints, asserts
nothing.

The three shipped variants are run as they are (`--runs` times each): redundant_leased_lines (ECMP, line 2 cut),
redundant_leased_lines_standby (active/standby, line 1 cut) and redundant_leased_lines_bgp (BGP with BFD, line 1
failing silently). For the first event of each (the fault) it prints, per direction, the measured outage
(median, min-max) and the prediction (health check 8 x 2 s, BFD 3 x 300 ms, or 0), and how long after the fault
the health check's verdict reached the flows.

Usage: sudo .venv/bin/python bench/bench_failover.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator import runner, scenario, session  # noqa: E402
from emulator.checks.results import FailoverDetail  # noqa: E402

VARIANTS = ("redundant_leased_lines", "redundant_leased_lines_standby", "redundant_leased_lines_bgp")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'variant':<32} {'direction':<13} {'outage s (median, min-max)':>28} {'expected s':>10} "
          f"{'flows moved s':>14} passed")
    for name in VARIANTS:
        figures: dict[str, list[float]] = {}
        expected: dict[str, float] = {}
        flows: list[float] = []
        passed = 0
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                outcome = runner.execute(session.prepare(scenario.load(name)), artifacts=Path(folder))
            fault = next(c for c in outcome.checks if isinstance(c.detail, FailoverDetail))
            passed += fault.passed
            for direction, values in (fault.detail.directions or {}).items():
                figures.setdefault(direction, []).append(values["outage_s"])
                expected[direction] = values["expected_outage_s"]
            flows += [float(text.split("flows ")[1].split(" s")[0]) for text in fault.detail.health_checks
                      if "faulty" in text]
        for direction, values in figures.items():
            moved = f"{statistics.median(flows):.2f}" if flows and direction == "cloud_to_idc" else "-"
            print(f"{name:<32} {direction:<13} {_spread(values):>28} {expected[direction]:>10.2f} {moved:>14} "
                  f"{passed}/{args.runs}")
    return 0


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    sys.exit(main())
