"""`flows ROUTER` as a table people can read: ovs-ofctl's dump-flows lines parsed into table, priority, match,
actions and packets (the raw form stays one option away: `flows ROUTER raw`)."""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.table import Table
from rich.text import Text

_STATS = {"cookie", "duration", "table", "n_packets", "n_bytes", "idle_age", "hard_age", "idle_timeout",
          "hard_timeout", "importance", "send_flow_rem", "reset_counts", "no_packet_counts", "no_byte_counts"}


@dataclass(frozen=True)
class FlowLine:
    table: int
    priority: int
    match: str          # "any" when the flow matches every packet
    actions: str
    packets: int
    cookie: str


def parse_dump_flows(text: str) -> list[FlowLine]:
    """Each flow of `ovs-ofctl dump-flows`; a line that is not a flow (the OFPST_FLOW header) is skipped."""
    flows = []
    for line in text.splitlines():
        left, found, actions = line.strip().partition(" actions=")
        if not found:
            continue
        fields: dict[str, str] = {}
        match: list[str] = []
        for chunk in left.split(", "):
            for token in chunk.split(","):
                key, _, value = token.partition("=")
                if key in _STATS or key == "priority":
                    fields[key] = value
                elif token:
                    match.append(token)
        flows.append(FlowLine(int(fields.get("table", 0)), int(fields.get("priority", 32768)),
                              ",".join(match) or "any", actions, int(fields.get("n_packets", 0)),
                              fields.get("cookie", "")))
    return sorted(flows, key=lambda flow: (flow.table, -flow.priority))


def _spaced(text: str) -> str:
    """"a,b(c,d)" -> "a, b(c,d)": room to wrap after each top-level comma, none inside an action's arguments."""
    out, depth = [], 0
    for char in text:
        depth += (char in "([") - (char in ")]")
        out.append(", " if char == "," and depth == 0 else char)
    return "".join(out)


def flows_table(title: str, flows: list[FlowLine]) -> Table:
    """The match and the actions wrap at their commas' words; table, priority and packets never wrap."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column, justify in (("table", "right"), ("priority", "right"), ("match", "left"), ("actions", "left"),
                            ("packets", "right")):
        table.add_column(column, justify=justify, no_wrap=column not in ("match", "actions"),
                         overflow="fold")
    for flow in flows:
        table.add_row(str(flow.table), str(flow.priority), Text(_spaced(flow.match)), Text(_spaced(flow.actions)),
                      f"{flow.packets:,}")
    return table
