"""The lab's commands as plain values: what each does, how it is typed, an example with this scenario's own IDs,
whether this scenario can use it; the command list, per-command help, did-you-mean and completion candidates.

Pure (no terminal, no network), so the shell (lab_shell.py) only asks it; examples read the control plane as it
is now, so after a step that creates a VBR, `help route` names it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from emulator.cloud.control_plane import ControlPlane


@dataclass(frozen=True)
class LabIds:
    """The IDs a lab command can take, as the scenario has them now."""

    idc_hosts: tuple[str, ...]
    cloud_hosts: tuple[str, ...]
    routers: tuple[str, ...]           # VBRs, VRouters, border gateways, and VPCs (their route table's router)
    interfaces: tuple[str, ...]        # router interfaces
    lines: tuple[str, ...]             # physical connections (leased lines)
    links: tuple[str, ...]             # what `capture start` can record
    routes: tuple[tuple[str, str, str, str], ...]   # (router, destination, next hop type, next hop) static entries
    bgp: bool                          # the customer device speaks BGP

    @classmethod
    def of(cls, cloud: ControlPlane, hosts: tuple[str, ...]) -> "LabIds":
        idc = {server.id for place in cloud.idcs.values() for subnet in place.subnets for server in subnet.servers}
        routers = [*cloud.vbrs, *(vpc.vrouter_id for vpc in cloud.vpcs.values()), *cloud.border_gateways,
                   *cloud.vpcs]
        routes = []
        tables = [(vbr.id, vbr.route_table) for vbr in cloud.vbrs.values()]
        tables += [(vpc.vrouter_id, vpc.route_table) for vpc in cloud.vpcs.values()]
        for router, table in tables:
            routes += [(router, str(entry.destination), entry.next_hop_type.value, entry.next_hop_id)
                       for entry in table.entries if not entry.next_hop_list]
        return cls(idc_hosts=tuple(h for h in hosts if h in idc), cloud_hosts=tuple(h for h in hosts if h not in idc),
                   routers=tuple(routers), interfaces=tuple(cloud.router_interfaces),
                   lines=tuple(cloud.physical_connections),
                   links=(*cloud.physical_connections, *cloud.router_interfaces, *cloud.attachments,
                          *cloud.peerings, "all"),
                   routes=tuple(routes), bgp=cloud.customer_bgp is not None)

    def everything(self) -> tuple[str, ...]:
        return (*self.idc_hosts, *self.cloud_hosts, *self.routers, *self.interfaces, *self.lines, *self.links)

    def pair(self) -> tuple[str, str]:
        """Two hosts for an example: an IDC server and an instance where there are both."""
        first = (self.idc_hosts or self.cloud_hosts or ("SRC",))[0]
        second = next((h for h in (*self.cloud_hosts, *self.idc_hosts) if h != first), "DST")
        return first, second


def _first(values: tuple[str, ...], placeholder: str) -> str:
    return values[0] if values else placeholder


def _route_examples(ids: LabIds) -> list[str]:
    if not ids.routes:
        return [f"route add {_first(ids.routers, 'ROUTER')} 10.0.0.0/8 RouterInterface "
                f"{_first(ids.interfaces, 'RI_ID')}"]
    router, destination, kind, hop = ids.routes[-1]
    return [f"route del {router} {destination}", f"route add {router} {destination} {kind} {hop}"]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str                                   # one line, for the command list
    details: str                                   # for `help NAME`
    examples: Callable[[LabIds], list[str]]
    words: tuple[str, ...] = ()                    # sub-commands and keywords, for completion
    needs: Callable[[LabIds], bool] = lambda _ids: True


COMMANDS: tuple[Command, ...] = (
    Command("route", "route add ROUTER DEST TYPE NEXT_HOP_ID | route del ROUTER DEST",
            "add or delete a route entry",
            "A static route entry in a route table, refused or accepted as the console would. ROUTER: a VBR, a "
            "VRouter or a VPC (its VRouter's table); TYPE: RouterInterface, PhysicalConnection, BorderGateway, "
            "VpcPeering.", _route_examples,
            ("add", "del", "RouterInterface", "PhysicalConnection", "BorderGateway", "VpcPeering"),
            lambda ids: bool(ids.routers)),
    Command("ri", "ri deactivate|activate RI_ID", "take a router interface pair down or up",
            "Deactivate (or activate) a connected router interface; its routes become inactive and traffic over "
            "it stops.",
            lambda ids: [f"ri deactivate {_first(ids.interfaces, 'RI_ID')}",
                         f"ri activate {_first(ids.interfaces, 'RI_ID')}"],
            ("deactivate", "activate"), lambda ids: bool(ids.interfaces)),
    Command("line", "line down|up PC_ID | line fail|restore PC_ID | line set PC_ID [latency MS] [jitter MS] "
                    "[loss PERCENT]",
            "a leased line down or up, silently failed, or its delay and loss",
            "down/up: the provider's side goes down (the device loses carrier) and comes back. fail/restore: the "
            "provider's network drops every frame while the port stays up (only health checks or BFD notice). "
            "set: the line's one-way delay, jitter and loss, live within a second; values not named stay.",
            lambda ids: [f"line down {_first(ids.lines, 'PC_ID')}", f"line up {_first(ids.lines, 'PC_ID')}",
                         f"line set {_first(ids.lines, 'PC_ID')} latency 30 jitter 2 loss 1"],
            ("down", "up", "fail", "restore", "set", "latency", "jitter", "loss"), lambda ids: bool(ids.lines)),
    Command("bgp", "bgp down|up | bgp advertise|withdraw PREFIX | bgp show customer|vbr|bgw",
            "the customer device's BGP sessions and prefixes",
            "down/up: the customer device (FRR) shuts its BGP neighbours down and brings them back. "
            "advertise/withdraw: it starts or stops announcing PREFIX. show: the BGP table of the customer device "
            "(FRR) or what the cloud's speakers hold.",
            lambda ids: ["bgp withdraw 172.16.0.0/12", "bgp show vbr", "bgp advertise 172.16.0.0/12"],
            ("down", "up", "advertise", "withdraw", "show", "customer", "vbr", "bgw"), lambda ids: ids.bgp),
    Command("table", "table ROUTER", "a router's route table as the console shows it",
            "The route table of a VBR, VRouter or border gateway (or a VPC's), with each entry's state.",
            lambda ids: [f"table {_first(ids.routers, 'ROUTER')}"], (), lambda ids: bool(ids.routers)),
    Command("flows", "flows ROUTER [raw]", "the OpenFlow flows on a router's bridge",
            "The flows the controller installed for a router, as a table; `raw` prints ovs-ofctl's own lines.",
            lambda ids: [f"flows {_first(ids.routers, 'ROUTER')}"], ("raw",), lambda ids: bool(ids.routers)),
    Command("ping", "ping SRC DST", "three echoes between two hosts, with the round trip",
            "Hosts by cloud ID or address. The round trip leaves out the first echo, which can wait for ARP.",
            lambda ids: ["ping {} {}".format(*ids.pair())]),
    Command("explain", "explain SRC DST", "the path between two hosts, or where and why it breaks",
            "Each hop with the route it uses, both ways; a broken pair gets the provider's reason and a fix.",
            lambda ids: ["explain {} {}".format(*ids.pair())]),
    Command("check", "check", "the scenario's checks again, with real packets",
            "Ping matrix, traceroutes, throughput, BGP and failover checks as `run` does, on the network as it "
            "is now.", lambda ids: ["check"]),
    Command("steps", "steps", "the tutorial's steps, and how far the lab is",
            "Each step with [done] or [next].", lambda ids: ["steps"]),
    Command("step", "step", "apply the next tutorial step",
            "A step that adds routers or links says which and rebuilds the network; the others update the flows "
            "in place.", lambda ids: ["step"]),
    Command("capture", "capture start LINK | capture stop", "record a link into pcap files",
            "LINK by its console name (a leased line, a router interface, an attachment) or `all`: one pcap per "
            "link end, under the lab's --artifacts folder. `capture stop` closes them and says where they are.",
            lambda ids: [f"capture start {_first(ids.lines or ids.interfaces, 'all')}", "capture stop"],
            ("start", "stop")),
    Command("probe", "probe start SRC DST [INTERVAL_MS] | probe stop", "a live UDP echo stream, told each second",
            "A numbered echo every INTERVAL_MS (default 10): each second, how many came back, the round trip and "
            "which leased line carried them each way; each outage when it ends. It runs while you type.",
            lambda ids: ["probe start {} {}".format(*ids.pair()), "probe stop"], ("start", "stop")),
    Command("wait", "wait SECONDS", "let time pass", "For scripts that watch a probe across a change.",
            lambda ids: ["wait 5"]),
    Command("help", "help [COMMAND]", "this list, or one command in full", "", lambda ids: ["help line"]),
    Command("exit", "exit", "tear the network down and leave (or Ctrl-D)", "", lambda ids: ["exit"]),
)

MININET_WORDS = ("nodes", "net", "links", "dump", "py", "sh", "pingall", "iperf", "intfs")


def available(ids: LabIds) -> list[Command]:
    return [command for command in COMMANDS if command.needs(ids)]


def command_list(ids: LabIds) -> str:
    """The lab's reference: the commands this scenario can use, one line each."""
    commands = available(ids)
    width = max(len(command.name) for command in commands)
    lines = [f"  {command.name:<{width}}  {command.summary}" for command in commands]
    return ("Commands (`help COMMAND` for its usage and an example; Tab completes commands and IDs):\n"
            + "\n".join(lines)
            + "\nMininet's own commands work too, for those who know them: `nodes`, `net`, or a node's name and a "
              "command (`NODE ping ADDRESS`; `nodes` lists the names).")


def help_for(name: str, ids: LabIds) -> str | None:
    """`help NAME`: usage, what it does, examples with this scenario's IDs; None for no such lab command."""
    command = next((c for c in available(ids) if c.name == name), None)
    if command is None and name in MININET_WORDS:
        return (f"`{name}` is one of Mininet's own commands, kept for those who know them: Mininet's documentation "
                "describes it (`nodes` lists the node names a `NODE COMMAND` line takes)")
    if command is None:
        return None
    text = f"usage: {command.usage}\n{command.summary[0].upper()}{command.summary[1:]}."
    if command.details:
        text += f" {command.details}"
    return text + "\nfor example:\n" + "\n".join(f"  {example}" for example in command.examples(ids))


def unavailable_reason(name: str, ids: LabIds) -> str | None:
    """Why a lab command this scenario cannot use is missing (None: it is not one of ours, or it is available)."""
    command = next((c for c in COMMANDS if c.name == name), None)
    if command is None or command.needs(ids):
        return None
    if command.name == "bgp":
        return "this scenario runs no BGP on the customer device (try multi_vpc_leased_line_bgp)"
    return "this scenario has nothing for it yet (a later step may add it)"


def suggest(word: str, ids: LabIds, extra: tuple[str, ...] = ()) -> list[str]:
    """Lab commands (and `extra` names) close to a mistyped `word`."""
    names = [command.name for command in available(ids)] + list(MININET_WORDS) + list(extra)
    return difflib.get_close_matches(word, names, n=3, cutoff=0.6)


def completions(before_cursor: str, ids: LabIds, node_names: tuple[str, ...] = ()) -> list[str]:
    """What may follow the text before the cursor: a command first, then its words and the scenario's IDs."""
    words = before_cursor.split()
    current = "" if before_cursor.endswith(" ") or not words else words[-1]
    if len(words) == 0 or (len(words) == 1 and current):
        names = [command.name for command in available(ids)] + list(node_names)
    else:
        command = next((c for c in available(ids) if c.name == words[0]), None)
        if command is None:
            return []
        if command.name == "help":          # help COMMAND: the commands, not the IDs
            names = [c.name for c in available(ids)] if len(words) - bool(current) == 1 else []
        else:
            names = list(command.words) + list(dict.fromkeys(ids.everything()))
    return [name for name in names if name.startswith(current) and name != current]
