"""The topology as the cloud console would draw it: DOT (and SVG/PNG through Graphviz) and mermaid text.

Nodes by role (IDC servers, the customer's access device, access points, VBRs,
VRouters, border gateways, instances), grouped by IDC, account and VPC (with
its region); links labelled with what matters (VLAN, line bandwidth, router
interface pair with specification and state). Links that do not carry traffic
(an inactive router interface, a line that is down) are dashed and red. A pair
from `explain` can be drawn on it: its hops in blue, the hop where it breaks in
red with the reason code.

Built from the prepared run (pure data); only `render` runs Graphviz's `dot`.
"""

from __future__ import annotations

from dataclasses import dataclass

import graphviz

from emulator.errors import EnvironmentProblem
from emulator.routing.model import Link, LinkKind, Node, NodeKind
from emulator.routing.reachability import PairResult
from emulator.session import Prepared

FORMATS = ("svg", "png", "dot", "mermaid")
TEXT_FORMATS = ("dot", "mermaid")


@dataclass(frozen=True)
class Look:
    shape: str
    fill: str


LOOKS = {
    "IDC server": Look("box", "#e8f0fe"), "access device": Look("box3d", "#d2e3fc"),
    "access point": Look("cds", "#fef7e0"), "VBR": Look("doubleoctagon", "#fce8b2"),
    "VRouter": Look("octagon", "#ceead6"), "VPC router": Look("octagon", "#ceead6"),
    "border gateway": Look("hexagon", "#fad2cf"), "ECS instance": Look("box", "#ffffff"),
    "VM instance": Look("box", "#ffffff"),
}
# A role worded by another provider looks like what the node is.
KIND_LOOKS = {NodeKind.HOST: Look("box", "#ffffff"), NodeKind.LINUX_ROUTER: Look("box3d", "#d2e3fc"),
              NodeKind.CLOUD_ROUTER: Look("octagon", "#ceead6"), NodeKind.ACCESS_POINT: Look("cds", "#fef7e0")}
DOWN = {"style": "dashed", "color": "#d93025", "fontcolor": "#d93025"}
BGP = {"style": "dotted", "color": "#7b1fa2", "fontcolor": "#7b1fa2", "penwidth": "2", "constraint": "false"}
# The emulator's own helpers, not part of the design: a VBR's BGP speaker and a health check's prober. The
# picture shows what they do instead (a BGP session between the device and the router, a health check on its
# router interface pair).
HELPERS = (NodeKind.BGP_SPEAKER, NodeKind.HEALTH_PROBER)
PATH = {"color": "#1a73e8", "penwidth": "3"}


def _node_label(node: Node, prepared: Prepared) -> str:
    address = next((str(p.address.ip) for p in node.ports if p.address is not None), "")
    if node.kind is NodeKind.HOST:
        return f"{node.id}\n{node.role} {address}"
    plan_name = prepared.plan.node(node.id).name
    if node.kind is NodeKind.ACCESS_POINT:     # its console name, not the emulator's node ID
        return f"{node.label}\n({plan_name})"
    return f"{node.id}\n{node.label} ({plan_name})"


def link_label(link: Link, prepared: Prepared) -> str:
    """What a person needs on a link: VLAN, bandwidth, the router interface pair with its specification."""
    cloud = prepared.scenario.cloud
    state = "" if link.active else " (down)"
    if link.kind is LinkKind.LEASED_LINE:
        return f"leased line {link.cloud_id.split(':')[0]}, {link.bandwidth_mbps} Mbit/s{state}"
    if link.kind is LinkKind.LEASED_LINE_TRUNK:
        return f"802.1Q VLAN {link.vlan}{state}"
    if link.kind is LinkKind.ROUTER_INTERFACE:
        initiator = cloud.router_interfaces.get(link.cloud_id.split("/")[0])
        spec = f" {initiator.spec}" if initiator is not None else ""
        status = initiator.status.value if initiator is not None else ("Active" if link.active else "down")
        check = next((ri.health_check for ri in map(cloud.router_interfaces.get, link.cloud_id.split("/"))
                      if ri is not None and ri.health_check is not None), None)
        watched = "" if check is None else (f"\nhealth check every {check.rate_ms / 1000:g} s, {check.threshold} "
                                            f"lost: faulty" + ("" if check.healthy else " (faulty now)"))
        return f"{link.cloud_id}{spec}, {link.bandwidth_mbps} Mbit/s, {status}{watched}"
    if link.kind is LinkKind.PEERING:
        return f"VPC peering {link.cloud_id}{state}"
    if link.kind is LinkKind.ATTACHMENT:
        attachment = cloud.attachments.get(link.cloud_id)
        shares = "" if attachment is None else (
            "\npropagates all its subnets" if attachment.all_segments
            else "\npropagates " + (", ".join(map(str, attachment.segments)) or "nothing"))
        return f"attachment {link.cloud_id}{state}{shares}"
    return link.cloud_id if link.kind is LinkKind.VSWITCH else ""


def _groups(prepared: Prepared) -> dict[str, tuple[str, str | None, list[str]]]:
    """cluster key -> (label, parent cluster key or None, node IDs): IDCs, accounts, VPCs inside accounts."""
    cloud, network = prepared.scenario.cloud, prepared.network
    groups: dict[str, tuple[str, str | None, list[str]]] = {}
    for idc in cloud.idcs.values():
        members = [idc.device_id] + [s.id for subnet in idc.subnets for s in subnet.servers]
        groups[f"idc_{idc.id}"] = (f"IDC {idc.name or idc.id} ({idc.cidr})", None, members)
    for account in cloud.accounts:
        groups[f"account_{account}"] = (f"account {account}", None, [])
    for vpc in cloud.vpcs.values():
        instances = [i.id for vsw in vpc.vswitches.values() for i in vsw.instances.values()]
        groups[f"vpc_{vpc.id}"] = (f"{vpc.name or vpc.id} {vpc.id} ({vpc.cidr}, {vpc.region})",
                                   f"account_{vpc.account}", [vpc.vrouter_id, *instances])
    placed = {member for _label, _parent, members in groups.values() for member in members}
    for node in network.nodes.values():
        if node.kind in HELPERS:
            continue
        if node.id not in placed and node.account and f"account_{node.account}" in groups:
            groups[f"account_{node.account}"][2].append(node.id)   # VBRs, border gateways
    return groups


def bgp_sessions(prepared: Prepared) -> list[tuple[str, str, str, bool]]:
    """(customer device, cloud router, label, up) per BGP neighbour of the customer device: the session the
    picture draws where the emulator runs a speaker node."""
    cloud = prepared.scenario.cloud
    bgp = cloud.customer_bgp
    if bgp is None:
        return []
    device = cloud.idcs[bgp.idc_id].device_id
    ends = {vbr.local_gateway.ip: vbr.id for vbr in cloud.vbrs.values()}
    ends |= {pvi.local_gateway.ip: pvi.border_gateway_id for pvi in cloud.private_virtual_interfaces.values()}
    sessions = []
    for neighbor in bgp.neighbors:
        router = ends.get(neighbor.ip)
        if router is None:
            continue
        label = f"BGP AS {bgp.asn} - AS {neighbor.remote_asn}"
        if neighbor.bfd is not None:
            label += f", BFD {neighbor.bfd.min_tx_ms} ms x {neighbor.bfd.multiplier}"
        if neighbor.shutdown:
            label += " (shut down)"
        sessions.append((device, router, label, not neighbor.shutdown))
    return sessions


def _highlight(result: PairResult | None) -> tuple[set[str], set[str], str | None, str]:
    """(nodes on the path, link IDs on it, the node where it breaks, the reason) for `result`."""
    if result is None:
        return set(), set(), None, ""
    verdict = result.forward if result.reachable or result.explanation is None else result.explanation
    nodes = {hop.node for hop in verdict.hops}
    links = {link.id for link in verdict.links}
    if result.reachable:
        back = result.back
        if back is not None:
            nodes |= {hop.node for hop in back.hops}
            links |= {link.id for link in back.links}
        return nodes, links, None, ""
    explanation = result.explanation
    return nodes, links, explanation.hop if explanation else None, explanation.code if explanation else ""


def to_dot(prepared: Prepared, result: PairResult | None = None) -> graphviz.Graph:
    """The topology as a Graphviz graph (clusters by IDC, account and VPC)."""
    path_nodes, path_links, broken, reason = _highlight(result)
    title = prepared.scenario.title or prepared.scenario.name
    if result is not None:
        title += f"\n{result.src} -> {result.dst}: " + ("reachable" if result.reachable else f"{reason} at {broken}")
    graph = graphviz.Graph(prepared.scenario.name, graph_attr={"label": title, "labelloc": "t", "fontsize": "16",
                                                                "rankdir": "LR", "fontname": "Helvetica",
                                                                "compound": "true", "nodesep": "0.4"},
                           node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    network = prepared.network
    groups = _groups(prepared)

    def add_node(target: graphviz.Graph, node: Node) -> None:
        look = LOOKS.get(node.role) or KIND_LOOKS.get(node.kind, Look("ellipse", "#f1f3f4"))
        attrs = {"shape": look.shape, "fillcolor": look.fill}
        if node.id in path_nodes:
            attrs.update(color=PATH["color"], penwidth=PATH["penwidth"])
        if node.id == broken:
            attrs.update(color="#d93025", penwidth="3", xlabel=reason, fontcolor="#000000")
        target.node(node.id, _node_label(node, prepared), **attrs)

    def add_cluster(parent: graphviz.Graph, key: str) -> None:
        label, _parent, members = groups[key]
        with parent.subgraph(name=f"cluster_{key}") as cluster:
            cluster.attr(label=label, style="rounded", color="#9aa0a6", fontsize="11")
            for member in members:
                if member in network.nodes:
                    add_node(cluster, network.nodes[member])
            for child, (_label, child_parent, _members) in groups.items():
                if child_parent == key:
                    add_cluster(cluster, child)

    for key, (_label, parent, _members) in groups.items():
        if parent is None:
            add_cluster(graph, key)
    grouped = {member for _label, _parent, members in groups.values() for member in members}
    hidden = {node.id for node in network.nodes.values() if node.kind in HELPERS}
    idc_side = {member for key, (_label, _parent, members) in groups.items() if key.startswith("idc_")
                for member in members}
    for node in network.nodes.values():
        if node.id not in grouped and node.id not in hidden:
            add_node(graph, node)
    for device, router, label, up in bgp_sessions(prepared):
        graph.edge(device, router, label=label, **(BGP if up else {**BGP, **DOWN, "constraint": "false"}))
    for link in network.links:
        if link.a[0] in hidden or link.b[0] in hidden:
            continue
        attrs = {"label": link_label(link, prepared)}
        if not link.active:
            attrs.update(DOWN)
        if link.id in path_links:
            attrs.update(PATH)
        tail, head = link.a[0], link.b[0]
        if network.nodes[tail].kind is NodeKind.HOST and tail not in idc_side:
            tail, head = head, tail        # an instance right of its router: edges then run outwards, not across
        graph.edge(tail, head, **attrs)
    return graph


def to_mermaid(prepared: Prepared, result: PairResult | None = None) -> str:
    """The same picture as mermaid text, for pasting into Markdown."""
    path_nodes, path_links, broken, reason = _highlight(result)
    network = prepared.network
    ids = {node_id: f"n{index}" for index, node_id in enumerate(network.nodes)}
    groups = _groups(prepared)

    def text(value: str) -> str:
        return value.replace('"', "#quot;").replace("\n", "<br/>")

    lines = ["flowchart LR"]

    def emit_group(key: str, indent: str) -> None:
        label, _parent, members = groups[key]
        lines.append(f'{indent}subgraph {key.replace("-", "_")}["{text(label)}"]')
        for member in members:
            if member in network.nodes:
                lines.append(f'{indent}  {ids[member]}["{text(_node_label(network.nodes[member], prepared))}"]')
        for child, (_label, parent, _members) in groups.items():
            if parent == key:
                emit_group(child, indent + "  ")
        lines.append(f"{indent}end")

    for key, (_label, parent, _members) in groups.items():
        if parent is None:
            emit_group(key, "  ")
    grouped = {member for _label, _parent, members in groups.values() for member in members}
    hidden = {node.id for node in network.nodes.values() if node.kind in HELPERS}
    for node in network.nodes.values():
        if node.id not in grouped and node.id not in hidden:
            lines.append(f'  {ids[node.id]}["{text(_node_label(node, prepared))}"]')
    styles = []
    shown = [link for link in network.links if link.a[0] not in hidden and link.b[0] not in hidden]
    for index, link in enumerate(shown):
        label = link_label(link, prepared)
        arrow = "-.-" if not link.active else "---"
        lines.append(f'  {ids[link.a[0]]} {arrow}|"{text(label)}"| {ids[link.b[0]]}' if label
                     else f"  {ids[link.a[0]]} {arrow} {ids[link.b[0]]}")
        if link.id in path_links:
            styles.append(f"  linkStyle {index} stroke:#1a73e8,stroke-width:3px")
        elif not link.active:
            styles.append(f"  linkStyle {index} stroke:#d93025")
    for index, (device, router, label, _up) in enumerate(bgp_sessions(prepared), start=len(shown)):
        lines.append(f'  {ids[device]} -.-|"{text(label)}"| {ids[router]}')
        styles.append(f"  linkStyle {index} stroke:#7b1fa2,stroke-dasharray:3")
    lines += styles
    for node_id in sorted(path_nodes):
        lines.append(f"  style {ids[node_id]} stroke:#1a73e8,stroke-width:3px")
    if broken is not None:
        lines.append(f"  style {ids[broken]} stroke:#d93025,stroke-width:3px")
        lines.append(f"  %% {reason} at {broken}")
    return "\n".join(lines) + "\n"


def render(prepared: Prepared, fmt: str, result: PairResult | None = None) -> bytes:
    """The picture in `fmt` (svg, png, dot, mermaid) as bytes."""
    if fmt == "mermaid":
        return to_mermaid(prepared, result).encode()
    graph = to_dot(prepared, result)
    if fmt == "dot":
        return graph.source.encode()
    try:
        return graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise EnvironmentProblem("Graphviz's `dot` is not installed, so SVG and PNG cannot be drawn",
                                 fix="run `make install` (Debian package graphviz), or use --format dot or "
                                     "mermaid") from None


def format_of(path: str) -> str | None:
    """The format a file name asks for (.svg, .png, .dot/.gv, .mmd/.mermaid), or None."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {"svg": "svg", "png": "png", "dot": "dot", "gv": "dot", "mmd": "mermaid", "mermaid": "mermaid"}.get(suffix)
