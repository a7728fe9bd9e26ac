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
        for node_id in prepared.network.nodes:
            if node_id.endswith("@ap"):
                continue                  # an access point is drawn by its console name
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
