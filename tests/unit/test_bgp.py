"""BGP on the leased line, the pure side: the provider's rules, the predicted sessions, routes, flows, FRR's file."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from controllers.flows import PRIO_TCP_FOR_SPEAKER, flows_for, lookup
from emulator import frr_config, scenario
from emulator.cloud.resources import NextHopType
from emulator.errors import CloudError
from emulator.plan import make_plan
from emulator.routing.bgp import Learned, accepted, sessions, speaker_id
from emulator.routing.model import RouteKind
from emulator.routing.reachability import evaluate
from emulator.routing.topology import build_network
from emulator.scenario import SCENARIO_DIR

BGP_SCENARIO = SCENARIO_DIR / "multi_vpc_leased_line_bgp.yaml"


@pytest.fixture
def bgp_data() -> dict:
    return yaml.safe_load(BGP_SCENARIO.read_text())


def _step(data: dict, title_start: str) -> dict:
    return next(step for step in data["steps"] if step["title"].startswith(title_start))


def _load(write_scenario, data):
    return scenario.load(str(write_scenario(data)))


def test_the_shipped_scenario_predicts_an_established_session_both_ways():
    loaded = scenario.load("multi_vpc_leased_line_bgp")
    [session] = sessions(loaded.cloud)
    assert session.expected_state == "Established"
    assert session.cloud_learns == (IPv4Network("172.16.0.0/12"),)
    assert set(session.customer_learns) == {IPv4Network("10.10.0.0/16"), IPv4Network("192.168.0.0/16")}


def test_expectations_come_from_the_converged_network_and_the_first_plan_has_no_bgp_route():
    from emulator.session import prepare

    prepared = prepare(scenario.load("multi_vpc_leased_line_bgp"))
    reachable = {pair for pair, result in prepared.expected.items() if result.reachable}
    assert reachable == {("idc-server-1", "i-vpca-1"), ("i-vpca-1", "idc-server-1"),
                         ("idc-server-1", "i-vpcb-1"), ("i-vpcb-1", "idc-server-1")}
    vbr = prepared.plan.node("vbr-12345678")
    assert "172.16.0.0/12" not in {entry.prefix for entry in vbr.forwarding}, "the VBR learns it from a real session"
    device = prepared.plan.node("customer-router")
    assert device.linux_routes == (), "FRR installs the device's BGP routes, not the runtime"


def test_learned_routes_reach_the_vbr_as_bgp_routes_and_a_static_route_wins():
    loaded = scenario.load("multi_vpc_leased_line_bgp")
    [session] = sessions(loaded.cloud)
    network = build_network(loaded.cloud, Learned({session.peer_id: (IPv4Network("172.16.0.0/12"),)}))
    route = network.nodes["vbr-12345678"].best_route(IPv4Address("172.16.1.10"))
    assert route.kind is RouteKind.BGP and route.next_hop == IPv4Address("10.100.0.2")
    loaded.cloud.add_route_entry(router_id="vbr-12345678", destination=IPv4Network("172.16.0.0/12"),
                                 next_hop_type=NextHopType.PHYSICAL_CONNECTION, next_hop_id="pc-AAA")
    network = build_network(loaded.cloud)
    route = network.nodes["vbr-12345678"].best_route(IPv4Address("172.16.1.10"))
    assert route.kind is RouteKind.CUSTOM, "a static route for the same prefix wins over BGP on the VBR"


def test_the_vbr_keeps_110_routes_per_peer_and_discards_the_rest():
    received = [IPv4Network(f"172.20.{i}.0/24") for i in range(111)]
    kept, discarded = accepted(received)
    assert len(kept) == 110 and discarded == 1
    assert IPv4Network("172.20.110.0/24") not in kept


def test_a_111th_prefix_is_explained(write_scenario, bgp_data):
    bgp = _step(bgp_data, "Configure BGP")["customer_bgp"]
    bgp["networks"] = [f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(1, 112)] + ["172.16.0.0/12"]
    loaded = _load(write_scenario, bgp_data)
    [session] = sessions(loaded.cloud)
    assert session.discarded == 2 and len(session.cloud_learns) == 110
    # The discarded are the last in address order: 172.16.111.0/24 is kept, the /12 (sorted first) is kept too.
    network = build_network(loaded.cloud)
    result = evaluate(network, "i-vpcb-1", "idc-server-1")
    assert result.reachable


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: _step(d, "Configure BGP")["bgp_groups"][0].update(peer_asn=65002), "expects peer AS 65002"),
    (lambda d: _step(d, "Configure BGP")["customer_bgp"]["neighbors"][0].update(remote_asn=45105),
     "expects AS 45105"),
    (lambda d: _step(d, "Configure BGP")["bgp_groups"][0].update(auth_key="secret1"), "MD5 keys do not match"),
])
def test_broken_sessions_are_predicted_with_their_reason(write_scenario, bgp_data, change, words):
    change(bgp_data)
    loaded = _load(write_scenario, bgp_data)
    [session] = sessions(loaded.cloud)
    assert session.expected_state == "not established"
    assert words in session.problem
    result = evaluate(build_network(loaded.cloud), "idc-server-1", "i-vpcb-1")
    assert not result.reachable
    assert result.explanation.code == "BGP_NOT_ESTABLISHED"
    assert words in result.explanation.message and result.explanation.fix


def test_a_prefix_nobody_advertises_names_add_bgp_network(write_scenario, bgp_data):
    _step(bgp_data, "Configure BGP")["bgp_networks"].pop(0)      # 192.168.0.0/16 no longer advertised
    loaded = _load(write_scenario, bgp_data)
    result = evaluate(build_network(loaded.cloud), "idc-server-1", "i-vpcb-1")
    assert result.explanation.code == "NOT_ADVERTISED"
    assert "192.168.0.0/16" in result.explanation.message
    assert "AddBgpNetwork on vbr-12345678" in result.explanation.fix
    assert evaluate(build_network(loaded.cloud), "idc-server-1", "i-vpca-1").reachable


def test_an_idc_block_not_advertised_names_the_customer_device(write_scenario, bgp_data):
    _step(bgp_data, "Configure BGP")["customer_bgp"]["networks"] = []
    loaded = _load(write_scenario, bgp_data)
    result = evaluate(build_network(loaded.cloud), "i-vpcb-1", "idc-server-1")
    assert result.explanation.code == "NOT_ADVERTISED"
    assert "customer_bgp.networks" in result.explanation.fix


@pytest.mark.parametrize(("group", "code"), [
    ({"local_asn": 65025}, "InvalidLocalAsn.Reserved"),
    ({"local_asn": 100}, "InvalidLocalAsn.Malformed"),
    ({"peer_asn": 45104}, "InvalidPeerAsn.SameAsLocal"),
    ({"router_id": "vrt-12345678"}, "InvalidRouterId.NotFound"),
])
def test_the_provider_refuses_bad_groups(write_scenario, bgp_data, group, code):
    _step(bgp_data, "Configure BGP")["bgp_groups"][0].update(group)
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, bgp_data)
    assert refused.value.code == code
    assert "scenario.yaml:" in refused.value.where


def test_only_the_idc_at_the_far_end_may_peer_and_at_most_8_peers(write_scenario, bgp_data):
    step = _step(bgp_data, "Configure BGP")
    step["bgp_peers"][0]["peer_ip_address"] = "10.100.0.3"
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, bgp_data)
    assert refused.value.code == "InvalidPeerIpAddress"
    loaded = scenario.load("multi_vpc_leased_line_bgp")
    with pytest.raises(CloudError) as refused:
        loaded.cloud.create_bgp_peer(peer_id="bgp-2", group_id="bgpg-12345678", peer_ip=IPv4Address("10.100.0.2"))
    assert refused.value.code == "InvalidPeerIpAddress.Duplicated"


def test_the_vbr_hands_tcp_for_its_address_to_its_speaker_whatever_the_ttl():
    loaded = scenario.load("multi_vpc_leased_line_bgp")
    network = build_network(loaded.cloud)
    plan = make_plan(network, "t")
    vbr = plan.node("vbr-12345678")
    speaker = plan.node(speaker_id("vbr-12345678"))
    assert vbr.speakers == (("10.100.0.1", vbr.interface("bgp").port_no, speaker.interfaces[0].mac),)
    flows = flows_for(vbr)
    line_table = 1 + 1 + sorted({i.transit_group for i in vbr.interfaces if i.transit_group}).index("leased_line")
    bgp = lookup(flows, line_table, {"eth_type": 0x0800, "ip_proto": 6, "ipv4_dst": "10.100.0.1", "nw_ttl": 1})
    assert bgp.priority == PRIO_TCP_FOR_SPEAKER
    assert ("output", vbr.interface("bgp").port_no) in bgp.actions
    ping = lookup(flows, line_table, {"eth_type": 0x0800, "ip_proto": 1, "ipv4_dst": "10.100.0.1", "nw_ttl": 64})
    assert ping.actions == (("controller",),)


def test_frr_gets_exactly_the_scenarios_values():
    loaded = scenario.load("multi_vpc_leased_line_bgp")
    text = frr_config.bgpd_conf(loaded.cloud.customer_bgp, IPv4Address("10.100.0.2"), "cecpe1", "/x/bgpd.log")
    assert "router bgp 65001" in text
    assert " neighbor 10.100.0.1 remote-as 45104" in text
    assert " no bgp ebgp-requires-policy" in text
    assert "  network 172.16.0.0/12" in text
    assert "ip prefix-list TO-CLOUD seq 5 permit 172.16.0.0/12" in text
    assert "password" not in text


def test_a_key_with_a_space_or_a_newline_is_refused_by_the_schema(write_scenario, bgp_data):
    from emulator.errors import ScenarioError

    _step(bgp_data, "Configure BGP")["customer_bgp"]["neighbors"][0]["password"] = "a b\nrouter bgp 1"
    with pytest.raises(ScenarioError) as refused:
        _load(write_scenario, bgp_data)
    assert "printable ASCII" in refused.value.message


@pytest.mark.parametrize(("old", "new", "code"), [
    ("{router_id: vbr-line1, dst_cidr_block: 10.10.0.0/16}", "{router_id: vbr-line1, dst_cidr_block: 127.0.0.0/8}",
     "InvalidDstCidrBlock.Reserved"),
    ("{router_id: vbr-line1, dst_cidr_block: 10.10.0.0/16}", "{router_id: vbr-line1, dst_cidr_block: 224.1.0.0/16}",
     "InvalidDstCidrBlock.Reserved"),
    ("networks: [172.16.0.0/12]", "networks: [172.16.0.0/12, 224.0.0.0/4]", "InvalidCidrBlock.Reserved"),
    ("networks: [172.16.0.0/12]", "networks: [127.0.0.0/8]", "InvalidCidrBlock.Reserved"),
])
def test_bgp_networks_in_reserved_blocks_are_refused_as_route_entries_are(write_scenario, old, new, code):
    """Issue 24: accepted before, while reserved blocks are refused for route entries and customer routes."""
    text = (SCENARIO_DIR / "redundant_leased_lines_bgp.yaml").read_text()
    assert old in text
    path = write_scenario(yaml.safe_load(text.replace(old, new, 1)))
    with pytest.raises(CloudError) as refused:
        scenario.load(str(path))
    assert refused.value.code == code and refused.value.where and "nothing can be reached" in refused.value.message


def test_a_health_check_source_in_the_automatic_block_may_still_be_announced(write_scenario):
    text = (SCENARIO_DIR / "redundant_leased_lines_bgp.yaml").read_text()
    old = "{router_id: vbr-line1, dst_cidr_block: 10.10.255.1/32}"
    assert old in text
    scenario.load(str(write_scenario(yaml.safe_load(
        text.replace(old, "{router_id: vbr-line1, dst_cidr_block: 100.96.0.9/32}", 1)))))
