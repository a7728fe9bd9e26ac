"""BGP convergence on the leased line: 1, 50 and 110 prefixes from the customer device. Prints, asserts nothing.

For each count, the shipped BGP scenario with the customer device advertising the IDC's block plus N-1 /24s
is built (with `--runs` repetitions). Times run from the moment every bridge has its flows, as in the bgp
check: the daemons start, the session reaches Established (both FRR and os-ken say so), and converged is
when the VBR's flows hold every prefix and the device has received the VPCs' blocks. The difference is what
the VBR's speaker, the plan and the controller take for N prefixes.

Usage: sudo .venv/bin/python bench/bench_bgp.py [--runs N]
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

SHIPPED = ROOT / "scenarios" / "multi_vpc_leased_line_bgp.yaml"


def prepared_with(folder: Path, prefixes: int) -> session.Prepared:
    extra = [f"172.17.{i}.0/24" for i in range(prefixes - 1)]
    text = SHIPPED.read_text().replace("      networks: [172.16.0.0/12]",
                                       f"      networks: [{', '.join(['172.16.0.0/12', *extra])}]")
    path = folder / f"bgp_{prefixes}.yaml"
    path.write_text(text)
    return session.prepare(scenario.load(str(path)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'prefixes':>8}  {'established s (median, min-max)':>32}  {'converged s (median, min-max)':>30}  installed")
    with tempfile.TemporaryDirectory() as folder:
        for prefixes in (1, 50, 110):
            established, converged, installed = [], [], 0
            for _ in range(args.runs):
                prepared = prepared_with(Path(folder), prefixes)
                with runner.live_network(prepared) as live:
                    [watch] = live.bgp_convergence.watches
                    established.append(watch.established_s)
                    converged.append(watch.converged_s)
                    installed = len(live.learned.for_peer(watch.session)) if live.learned else 0
            print(f"{prefixes:>8}  {_spread(established):>32}  {_spread(converged):>30}  {installed}")
    return 0


def _spread(values: list[float | None]) -> str:
    done = [v for v in values if v is not None]
    if not done:
        return "never"
    return f"{statistics.median(done):.2f} ({min(done):.2f}-{max(done):.2f})" + \
        (f", {len(values) - len(done)} never" if len(done) < len(values) else "")


if __name__ == "__main__":
    sys.exit(main())
