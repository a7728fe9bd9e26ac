"""The topology picture: every shipped scenario in every format, without root; what a person must see on it."""

import html
import re

import pytest

from emulator import scenario, session
from emulator.report import graph

SCENARIOS = scenario.available_scenarios()


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_draws_in_every_format(call, tmp_path, name):
    prepared = session.prepare(scenario.load(name))
    for fmt in graph.FORMATS:
        target = tmp_path / f"{name}.{'mmd' if fmt == 'mermaid' else fmt}"
        code, out, err = call("graph", name, "--format", fmt, "-o", str(target))
        assert code == 0, err
        data = target.read_bytes()
        if fmt == "png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
            continue
        text = html.unescape(data.decode())      # SVG writes "-" as &#45;
        for node_id, node in prepared.network.nodes.items():
            if node_id.endswith("@ap"):
                continue                  # an access point is drawn by its console name
            if node.kind in graph.HELPERS:
                assert node_id not in text, (fmt, node_id)      # the emulator's own helper, not the design's
                continue
            assert node_id in text, (fmt, node_id)
        if fmt == "mermaid":
            assert text.startswith("flowchart LR")


def test_the_leased_line_picture_says_what_matters():
    dot = graph.to_dot(session.prepare(scenario.load("multi_vpc_leased_line"))).source
    assert "802.1Q VLAN 1000" in dot and "leased line pc-AAA, 100 Mbit/s" in dot
    assert "ri-AAA/ri-BBB Large.1, 1000 Mbit/s, Active" in dot
    assert "access point Beijing-Daxing-A" in dot
    assert "cluster_account_12345678" in dot and "cluster_account_87654321" in dot
    assert "cn-hangzhou" in dot and "cluster_idc_" in dot


def test_an_inactive_router_interface_is_drawn_dashed_and_red():
    loaded = scenario.load("multi_vpc_leased_line")
    loaded.cloud.deactivate_router_interface(ri_id="ri-AAA")
    prepared = session.prepare(loaded)
    dot = graph.to_dot(prepared).source
    line = next(row for row in dot.splitlines() if "ri-AAA/ri-BBB" in row)
    assert "Inactive" in line and "dashed" in line
    assert "-.-" in graph.to_mermaid(prepared)


def test_explain_draws_the_path_and_the_hop_where_it_breaks(call, tmp_path):
    target = tmp_path / "why.dot"
    code, out, _ = call("explain", "multi_vpc_leased_line", "i-vpca-1", "i-vpcb-1", "--graph", str(target))
    assert code == 1 and "picture written" in out
    dot = target.read_text()
    assert "NO_ROUTE at vrt-12345678" in dot
    broken = re.search(r'"vrt-12345678" \[[^\]]*\]', dot).group(0)      # one node statement, over two lines
    assert "xlabel=NO_ROUTE" in broken and "#d93025" in broken
    reachable = tmp_path / "ok.mmd"
    assert call("explain", "multi_vpc_leased_line", "idc-server-1", "i-vpcb-1", "--graph", str(reachable))[0] == 0
    assert "stroke:#1a73e8" in reachable.read_text()


def test_dot_and_mermaid_print_without_a_file_and_a_bad_suffix_is_refused(call, tmp_path):
    code, out, _ = call("graph", "vpc_peering", "--format", "dot")
    assert code == 0 and out.startswith("graph vpc_peering {")
    code, _, err = call("graph", "vpc_peering", "-o", str(tmp_path / "picture.jpeg"))
    assert code == 2 and "cannot tell the picture format" in err


def _svg(name: str) -> str:
    return html.unescape(graph.render(session.prepare(scenario.load(name)), "svg").decode())


def test_bgp_sessions_bfd_and_health_checks_are_drawn_and_the_helpers_are_not():
    """Issue 25, section 6: the BGP scenario's picture showed no session, ASN or BFD, but the speaker and prober
    nodes (`vbr-line1@bgp ... (cebgp1)`) as if they were part of the design."""
    text = _svg("redundant_leased_lines_bgp")
    assert text.count("BGP AS 65001 - AS 45104, BFD 300 ms x 3") == 2
    assert text.count("health check every 2 s, 8 lost: faulty") == 2
    assert "@bgp" not in text and "@hc" not in text and "cebgp" not in text and "cehc" not in text
    assert "BGP AS 65001 - AS 65000" in _svg("multi_vpc_border_gateway_bgp")       # JD's border gateway


def test_each_attachment_says_what_it_propagates():
    """JD's tutorial: VPC-3 keeps a subnet to itself; the picture must show it."""
    text = _svg("multi_vpc_border_gateway")
    assert "propagates 10.2.1.0/24" in text and text.count("propagates all its subnets") == 3


def _numbers(text: str) -> list[float]:
    return [float(value) for value in re.findall(r"-?[\d.]+", text)]


def _edge_points(d: str, samples: int = 12) -> list[tuple[float, float]]:
    """Points along an edge's path (Graphviz writes `M x,y C x1,y1 x2,y2 x3,y3 ...`: cubic Bezier pieces)."""
    values = _numbers(d)
    pairs = list(zip(values[0::2], values[1::2], strict=False))
    points, start = [], pairs[0]
    for index in range(1, len(pairs) - 2, 3):
        c1, c2, end = pairs[index:index + 3]
        for step in range(samples + 1):
            t = step / samples
            points.append(tuple((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3
                                for p0, p1, p2, p3 in zip(start, c1, c2, end, strict=True)))
        start = end
    return points


@pytest.mark.parametrize("name", ["multi_vpc_leased_line", "multi_vpc_border_gateway", "multi_vpc_border_gateway_bgp",
                                  "redundant_leased_lines"])
def test_no_link_runs_through_a_box_it_does_not_belong_to(name):
    """Issue 25, section 6: in the border gateway's picture the attachment edges crossed VPC-2 and VPC-3 to
    reach VPC-1 and VPC-4, and the ri-CCC/ri-DDD edge ran through VPC-A's title. Read off the rendered SVG: no
    link passes through a group box (a VPC, an account, the IDC) that holds neither of its ends."""
    import xml.etree.ElementTree as ElementTree
    prepared = session.prepare(scenario.load(name))
    groups = graph._groups(prepared)

    def members(key: str) -> set[str]:
        found = set(groups[key][2])
        for child, (_label, parent, _members) in groups.items():
            if parent == key:
                found |= members(child)
        return found

    root = ElementTree.fromstring(graph.render(prepared, "svg"))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    boxes = {}
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        if group.get("class") == "cluster":
            key = group.find("svg:title", ns).text.removeprefix("cluster_")
            xs_ys = _numbers(group.find("svg:path", ns).get("d"))
            xs, ys = xs_ys[0::2], xs_ys[1::2]
            boxes[key] = (min(xs) + 2, min(ys) + 2, max(xs) - 2, max(ys) - 2)
    ids = set(prepared.network.nodes)
    crossings = []
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        if group.get("class") != "edge":
            continue
        title = group.find("svg:title", ns).text
        ends = next((title[:i], title[i + 2:]) for i in range(len(title)) if title[:i] in ids and title[i + 2:] in ids)
        for key, (left, top, right, bottom) in boxes.items():
            if set(ends) & members(key):
                continue
            inside = [p for p in _edge_points(group.find("svg:path", ns).get("d")) if left < p[0] < right
                      and top < p[1] < bottom]
            if inside:
                crossings.append((ends, key))
    assert not crossings, crossings
