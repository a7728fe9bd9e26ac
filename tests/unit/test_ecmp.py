"""ECMP route entries (CreateRouteEntry's NextHopList): the provider's rules, the plan's entry, the multipath flows."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from controllers.flows import ECMP_TABLE, EcmpSet, ecmp_sets_for, flows_for, route_tables
from emulator import scenario
from emulator.errors import CloudError
from emulator.plan import Plan, make_plan
from emulator.routing.model import RouteKind
from emulator.routing.reachability import evaluate
from emulator.routing.topology import build_network
from emulator.scenario import SCENARIO_DIR

IDC = IPv4Network("172.16.0.0/12")


@pytest.fixture
def data() -> dict:
    return yaml.safe_load((SCENARIO_DIR / "redundant_leased_lines.yaml").read_text())


def _ecmp_entry(data: dict) -> dict:
    step = next(s for s in data["steps"] if s["title"].startswith("Route entries"))
    return next(e for e in step["route_entries"] if "next_hop_list" in e)


def _load(write_scenario, data):
    return scenario.load(str(write_scenario(data)))


def _vrouter_entry(plan: Plan):
    node = plan.node("vrt-12345678")
    return node, next(e for e in node.forwarding if e.prefix == str(IDC))


def test_the_entry_becomes_one_route_per_next_hop_and_the_plan_one_ecmp_entry():
    loaded = scenario.load("redundant_leased_lines")
    [entry] = [e for e in loaded.cloud.vpcs["vpc-12345678"].route_table.entries if e.next_hop_list]
    assert entry.next_hops == ("ri-line1-vpc", "ri-line2-vpc")
    network = build_network(loaded.cloud)
    routes = [r for r in network.nodes["vrt-12345678"].routes if r.prefix == IDC]
    assert [(r.kind, r.port, r.ecmp) for r in routes] == [(RouteKind.CUSTOM, "ri-line1-vpc", True),
                                                         (RouteKind.CUSTOM, "ri-line2-vpc", True)]
    node, forwarding = _vrouter_entry(make_plan(network, "ecmp", 1))
    ports = {node.interface("ri-line1-vpc").port_no, node.interface("ri-line2-vpc").port_no}
    assert {port for port, _mac in forwarding.ecmp} == ports and forwarding.port_no in ports
    assert evaluate(network, "i-vpca-1", "idc-server-1").reachable


def test_the_flow_hashes_the_packet_onto_one_next_hop_flow_per_line():
    node, _forwarding = _vrouter_entry(make_plan(build_network(scenario.load("redundant_leased_lines").cloud), "e", 1))
    [ecmp] = ecmp_sets_for(node)
    assert isinstance(ecmp, EcmpSet) and len(ecmp.buckets) == 2
    flows = flows_for(node)
    # From the instance's port: TTL first, then the hash over the set's 2 next hops, then the ECMP table. From a
    # router interface (the same transit group as both next hops) the entry drops: Express Connect is not
    # transitive.
    routed = [f for f in flows if dict(f.match).get("ipv4_dst") == (str(IDC.network_address), str(IDC.netmask))]
    by_table = {f.table: f for f in routed}
    assert by_table[route_tables(node)[""]].actions == (("dec_ttl",), ("multipath", ecmp.index, 2))
    assert by_table[route_tables(node)[""]].goto == ECMP_TABLE
    assert by_table[route_tables(node)["router_interface"]].actions == ()
    next_hops = {f.match_dict()["ecmp_link"]: f.actions[-1] for f in flows
                 if f.table == ECMP_TABLE and f.match_dict()["ecmp_set"] == ecmp.index}
    assert next_hops == {0: ("output", node.interface("ri-line1-vpc").port_no),
                         1: ("output", node.interface("ri-line2-vpc").port_no)}


def test_the_plan_survives_its_json_round_trip():
    plan = make_plan(build_network(scenario.load("redundant_leased_lines").cloud), "e", 1)
    again = Plan.from_json(plan.to_json())
    assert _vrouter_entry(again)[1] == _vrouter_entry(plan)[1]


def test_a_next_hop_whose_interface_is_down_leaves_the_group(write_scenario, data):
    data["steps"].append({"title": "Deactivate line 2's pair",
                          "deactivate": [{"account": 12345678, "router_interface": "ri-line2-vbr"}]})
    network = build_network(_load(write_scenario, data).cloud)
    node, forwarding = _vrouter_entry(make_plan(network, "e", 1))
    assert forwarding.ecmp == () and forwarding.port_no == node.interface("ri-line1-vpc").port_no
    assert ecmp_sets_for(node) == [] and not [f for f in flows_for(node) if f.table == ECMP_TABLE]
    hop = network.nodes["vrt-12345678"].best_route(IPv4Address("172.16.1.10"))
    assert hop.port == "ri-line1-vpc"


@pytest.mark.parametrize("change, words", [
    (lambda e: e["next_hop_list"].pop(), "2 to 4 different router interfaces"),
    (lambda e: e["next_hop_list"].append(dict(e["next_hop_list"][0])), "2 to 4 different router interfaces"),
    (lambda e: e.update(next_hop_type="RouterInterface", next_hop_id="ri-line1-vpc"), "not both"),
    (lambda e: e["next_hop_list"][1].update(next_hop_id="ri-line2-vbr"), "belongs to vbr-line2"),
])
def test_the_provider_refuses_bad_lists(write_scenario, data, change, words):
    change(_ecmp_entry(data))
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, data)
    assert words in refused.value.message


def test_a_vbr_takes_no_ecmp_route(write_scenario, data):
    entry = _ecmp_entry(data)
    entry.update(router_id="vbr-line1", destination_cidr="10.20.0.0/16")
    entry["next_hop_list"] = [{"next_hop_id": "ri-line1-vbr"}, {"next_hop_id": "ri-line1-vbr"}]
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, data)
    assert refused.value.code == "InvalidParameter.NextHopList" and "VBR" in refused.value.message
    assert "next_hop_list" in refused.value.message      # pinned to the field, with its line


def test_an_entry_needs_a_next_hop(write_scenario, data):
    entry = _ecmp_entry(data)
    del entry["next_hop_list"]
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, data)
    assert refused.value.code == "MissingParameter.NextHop"
