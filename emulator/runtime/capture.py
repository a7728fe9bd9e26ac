"""Packet capture on links named as the console names them: one pcap per link end, bounded, always flushed.

`pc-AAA` names both halves of a leased line (customer device -> access point,
and the 802.1Q trunk from the access point to the VBR), `ri-AAA` the router
interface pair it belongs to, `vsw-...`/`subnet-...` an instance's link, an
attachment or peering its link; `all` every link. tcpdump runs on each end in
that end's namespace (the bridges' ends are in the host's), writes each packet
as it comes (-U), and stops after CAPTURE_PACKETS packets; teardown stops it
with SIGINT first, so the file is complete whatever ended the run.
"""

from __future__ import annotations

import difflib
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.errors import RuntimeFailure, ScenarioError
from emulator.plan import Plan, PlanLink

CAPTURE_PACKETS = 20_000      # per link end: at most about 30 MB of full-size frames
START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class LinkEnd:
    link: str          # the console name of the link (pc-AAA, ri-AAA/ri-BBB)
    node_id: str       # the cloud ID of the node at this end
    node_name: str     # its Linux name
    interface: str
    in_namespace: bool  # a Linux node's own namespace, else the host's (an OVS bridge's port)

    def file_name(self) -> str:
        return f"{self.link.replace('/', '+') or 'lan'}_{self.node_id}_{self.interface}.pcap"


@dataclass
class CaptureFile:
    """What the report lists: where the pcap is and how many packets it holds."""

    end: LinkEnd
    path: Path
    packets: int | None = None

    def to_json(self) -> dict:
        return {"link": self.end.link, "node": self.end.node_id, "interface": self.end.interface,
                "file": str(self.path), "packets": self.packets, "packet_limit": CAPTURE_PACKETS}


def link_names(plan: Plan) -> list[str]:
    """Every name a link answers to: its console ID and each router interface of a pair."""
    names = set()
    for link in plan.links:
        if link.cloud_id:
            names.add(link.cloud_id)
            names.update(link.cloud_id.split("/"))
    return sorted(names)


def select_ends(plan: Plan, wanted: list[str]) -> list[LinkEnd]:
    """The link ends to capture for console names (or `all`); an unknown name is refused with a suggestion."""
    known = link_names(plan)
    chosen: list[PlanLink] = []
    for name in wanted:
        if name == "all":
            chosen += list(plan.links)
            continue
        matches = [link for link in plan.links if name == link.cloud_id or name in link.cloud_id.split("/")]
        if not matches:
            close = difflib.get_close_matches(name, known, n=1)
            raise ScenarioError(f"no link is called {name[:80]} in {plan.scenario}",
                                fix=(f"did you mean {close[0]}? " if close else "") + "links: " + ", ".join(known)
                                + ", or all")
        chosen += matches
    ends, seen = [], set()
    for link in chosen:
        for node_name, intf in ((link.a_node, link.a_intf), (link.b_node, link.b_intf)):
            if intf in seen:
                continue
            seen.add(intf)
            node = plan.node(node_name)
            ends.append(LinkEnd(link.cloud_id, node.id, node.name, intf, node.dpid is None))
    return ends


def tcpdump_argv(interface: str, path: Path) -> list[str]:
    """Every packet handed over and written as it arrives (--immediate-mode, -U: a capture stopped a moment after
    a ping still holds it), as root (-Z root: the artefacts directory is root's)."""
    return ["tcpdump", "-i", interface, "-n", "--immediate-mode", "-U", "-Z", "root", "-c", str(CAPTURE_PACKETS),
            "-w", str(path)]


Spawn = Callable[[str, list[str]], subprocess.Popen]


class Captures:
    """The running tcpdumps of one run."""

    def __init__(self) -> None:
        self.running: list[tuple[CaptureFile, subprocess.Popen]] = []

    def start(self, ends: list[LinkEnd], folder: Path, spawn_in_node: Spawn) -> list[CaptureFile]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RuntimeFailure(f"cannot create the capture folder {folder}: {exc.strerror}",
                                 fix="choose a writable --artifacts DIR") from None
        started = []
        for end in ends:
            target = CaptureFile(end, folder / end.file_name())
            argv = tcpdump_argv(end.interface, target.path)
            process = spawn_in_node(end.node_name, argv) if end.in_namespace else subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
            self.running.append((target, process))
            started.append((target, process))
        for target, process in started:
            _wait_listening(target, process)
        return [target for target, _ in started]

    def stop(self) -> list[CaptureFile]:
        """SIGINT, so that tcpdump closes its file and counts; then the file holds every packet it saw."""
        stopped = [target for target, _ in self.running]
        for _target, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for target, process in self.running:
            try:
                _out, err = process.communicate(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                _out, err = process.communicate()
            target.packets = _packets_captured(err or "")
        self.running = []
        return stopped


def _wait_listening(target: CaptureFile, process: subprocess.Popen) -> None:
    """tcpdump says "listening on IF" once it captures: the checks must not start before that."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stderr.readline() if process.stderr is not None else ""
        if "listening on" in line:
            return
        if not line and process.poll() is not None:
            break
    raise RuntimeFailure(f"tcpdump could not capture on {target.end.interface} ({target.end.node_id})",
                         fix="check that tcpdump is installed (make install)")


def _packets_captured(stderr: str) -> int | None:
    for line in stderr.splitlines():
        if line.endswith("packets captured"):
            return int(line.split()[0])
    return None
