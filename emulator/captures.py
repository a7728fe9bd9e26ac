"""Which link ends a capture records, and what a capture file is: pure, so reports can hold them as values.

Links are named as the console names them: `pc-AAA` names both halves of a
leased line (customer device -> access point, and the 802.1Q trunk from the
access point to the VBR), `ri-AAA` the router interface pair it belongs to,
`vsw-...`/`subnet-...` an instance's link, an attachment or peering its link;
`all` every link. runtime/capture.py runs tcpdump on the ends chosen here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from emulator.errors import ScenarioError
from emulator.plan import Plan, PlanLink

CAPTURE_PACKETS = 20_000      # per link end: at most about 30 MB of full-size frames


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


OPEN_HINT = "open a capture with: wireshark FILE, or tcpdump -r FILE -e -nn (shows the 802.1Q tags)"
