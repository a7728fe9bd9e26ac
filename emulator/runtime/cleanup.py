"""Remove what the emulator created, and only that: never `mn -c`.

Found by marks the emulator leaves: bridges with external_ids:cloud-emulator,
node shells named `mininet:ce...` (Mininet's naming) in namespaces other than
the host's, every process in those namespaces (iperf3, probes), controllers
started on a plan under the state directory, delay lines reading parameters
from there, BGP daemons (FRR, the VBRs' speakers) whose files are in a run's
`bgp` folder there, and root-namespace interfaces
named like the emulator's (`ce<kind><n>-eth<n>`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from emulator.plan import NAME_PREFIX, SHORT_KINDS
from emulator.runtime.commands import run
from emulator.runtime.lock import STATE_DIR
from emulator.runtime.network import OWNER_KEY

DELAY_LINE_MODULE = "emulator.runtime.delay_line"
BGP_FOLDER = "bgp"          # a run's BGP daemons (FRR, the VBRs' speakers) keep their files in RUN_DIR/bgp
INTERFACE_PATTERN = re.compile(rf"^{NAME_PREFIX}({'|'.join(SHORT_KINDS)})\d+-eth\d+$")
SHELL_MARK = f"mininet:{NAME_PREFIX}"


@dataclass
class Sweep:
    processes: list[int] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    run_dirs: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.processes or self.bridges or self.interfaces or self.run_dirs)

    def summary(self) -> str:
        if self.empty():
            return "nothing left behind by the emulator"
        parts = []
        for label, items in (("processes", self.processes), ("OVS bridges", self.bridges),
                             ("interfaces", self.interfaces), ("run directories", self.run_dirs)):
            if items:
                parts.append(f"{len(items)} {label} ({', '.join(map(str, items[:8]))}{', ...' if len(items) > 8 else ''})")
        return "removed " + "; ".join(parts)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _netns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def emulator_processes() -> list[int]:
    """Node shells in their own namespaces, everything else in those namespaces, and our controllers."""
    me = os.getpid()
    host_ns = _netns(1) or _netns(me)
    marked_ns = set()
    found = set()
    pids = _all_pids()
    for pid in pids:
        args = _cmdline(pid)
        if any(arg.startswith(SHELL_MARK) for arg in args):
            ns = _netns(pid)
            if ns is not None and ns != host_ns:
                marked_ns.add(ns)
                found.add(pid)
        elif "controllers" in args and "--plan" in args:
            plan = args[args.index("--plan") + 1] if args.index("--plan") + 1 < len(args) else ""
            if plan.startswith(str(STATE_DIR)):
                found.add(pid)
        elif DELAY_LINE_MODULE in args and "--params" in args:
            # A delay line outlives its node's shell when a run is killed: found by its parameters file.
            params = args[args.index("--params") + 1] if args.index("--params") + 1 < len(args) else ""
            if params.startswith(str(STATE_DIR)):
                found.add(pid)
        elif any(_in_a_runs_bgp_folder(arg) for arg in args):
            # FRR's daemons detach themselves and a speaker is the run's child: both outlive a killed run's shells.
            found.add(pid)
    for pid in pids:
        if pid != me and _netns(pid) in marked_ns:
            found.add(pid)
    found.discard(me)
    return sorted(found)


def _in_a_runs_bgp_folder(arg: str) -> bool:
    path = Path(arg)
    return path.is_absolute() and len(path.parts) > len(STATE_DIR.parts) + 2 and \
        path.parts[:len(STATE_DIR.parts)] == STATE_DIR.parts and \
        path.parts[len(STATE_DIR.parts)].startswith("run-") and path.parts[len(STATE_DIR.parts) + 1] == BGP_FOLDER


def emulator_switch_shells() -> list[int]:
    """Mininet's shells for bridges live in the host namespace; they hold nothing but are ours."""
    host_ns = _netns(1)
    return [pid for pid in _all_pids()
            if any(arg.startswith(SHELL_MARK) for arg in _cmdline(pid)) and _netns(pid) == host_ns]


def emulator_bridges() -> list[str]:
    result = run(["ovs-vsctl", "--timeout=5", "--format=json", "--columns=name,external_ids", "list", "Bridge"],
                 check=False, timeout=15)
    if result.returncode != 0:
        return []
    bridges = []
    for name, external_ids in json.loads(result.stdout).get("data", []):
        pairs = dict(external_ids[1]) if isinstance(external_ids, list) and external_ids[0] == "map" else {}
        if OWNER_KEY in pairs:
            bridges.append(name)
    return sorted(bridges)


def emulator_interfaces() -> list[str]:
    result = run(["ip", "-o", "link", "show"], check=False, timeout=10)
    names = []
    for line in result.stdout.splitlines():
        parts = line.split(": ", 2)
        if len(parts) >= 2:
            name = parts[1].split("@", 1)[0]
            if INTERFACE_PATTERN.match(name):
                names.append(name)
    return sorted(names)


def _kill(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in alive):
            time.sleep(0.05)
        pids = [pid for pid in alive if Path(f"/proc/{pid}").exists()]


def sweep(*, remove_run_dirs: bool = True) -> Sweep:
    """Remove every resource the emulator created; return what was removed."""
    done = Sweep()
    done.processes = emulator_processes() + emulator_switch_shells()
    _kill(done.processes)
    done.bridges = emulator_bridges()
    for bridge in done.bridges:
        run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", bridge], check=False, timeout=20)
    done.interfaces = emulator_interfaces()
    for name in done.interfaces:
        run(["ip", "link", "del", name], check=False, timeout=10)
    if remove_run_dirs and STATE_DIR.is_dir():
        for run_dir in STATE_DIR.glob("run-*"):
            shutil.rmtree(run_dir, ignore_errors=True)
            done.run_dirs.append(run_dir.name)
    return done


def leftovers() -> Sweep:
    """What a sweep would remove, without removing it (for tests and `clean --dry-run`)."""
    return Sweep(processes=emulator_processes() + emulator_switch_shells(), bridges=emulator_bridges(),
                 interfaces=emulator_interfaces(),
                 run_dirs=[p.name for p in STATE_DIR.glob("run-*")] if STATE_DIR.is_dir() else [])
