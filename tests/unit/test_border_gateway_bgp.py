"""JD Cloud: a private virtual interface on a border gateway, BGP with the IDC, the gateway's route preference."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from controllers.flows import PRIO_TCP_FOR_SPEAKER, flows_for
from emulator import scenario
from emulator.errors import CloudError
from emulator.plan import make_plan
from emulator.routing.bgp import Learned, sessions, speaker_id
from emulator.routing.model import RouteKind, best_route
from emulator.routing.reachability import evaluate
from emulator.routing.topology import build_network
from emulator.scenario import SCENARIO_DIR

JD_SCENARIO = SCENARIO_DIR / "multi_vpc_border_gateway_bgp.yaml"
IDC_BLOCK = IPv4Network("192.168.0.0/16")


@pytest.fixture
def jd_data() -> dict:
    return yaml.safe_load(JD_SCENARIO.read_text())


def _step(data: dict, title_start: str) -> dict:
    return next(step for step in data["steps"] if step["title"].startswith(title_start))


def _interface(data: dict) -> dict:
    return _step(data, "Create the private virtual interface")["private_virtual_interfaces"][0]


def _customer(data: dict) -> dict:
    return _step(data, "Configure BGP")["customer_bgp"]


def _load(write_scenario, data):
    return scenario.load(str(write_scenario(data)))


def test_the_shipped_scenario_predicts_the_session_and_what_each_side_learns():
    loaded = scenario.load("multi_vpc_border_gateway_bgp")
    [session] = sessions(loaded.cloud)
    assert (session.router_id, session.router_kind, session.peer_id) == ("bgw-bj0001", "border gateway", "pvi-bj0001")
    assert (session.cloud_ip, session.customer_ip) == (IPv4Address("10.255.0.2"), IPv4Address("10.255.0.1"))
    assert (session.cloud_asn, session.expected_customer_asn) == (65000, 65001)
    assert session.expected_state == "Established"
    assert session.cloud_learns == (IDC_BLOCK,)
    # The gateway announces its valid routes: the propagated segments (VPC-3's private subnet is not among them).
    assert session.customer_learns == tuple(IPv4Network(n) for n in ("10.0.1.0/24", "10.1.1.0/24", "10.2.1.0/24"))
    assert session.limit == 300 - 3       # dynamic routes: 300 per gateway, 3 of them propagated


def test_the_idc_block_reaches_the_gateway_as_ebgp_and_every_vpc_by_propagation():
    loaded = scenario.load("multi_vpc_border_gateway_bgp")
    network = build_network(loaded.cloud)
    [route] = [r for r in network.nodes["bgw-bj0001"].routes if r.kind is RouteKind.BGP]
    assert (route.prefix, route.port, route.priority, route.next_hop_rank) == (IDC_BLOCK, "pvi-bj0001", 150, 120)
    for vpc in ("vpc-bj0001", "vpc-bj0002", "vpc-bj0003"):
        learnt = [r for r in network.nodes[f"{vpc}-vrouter"].routes if r.prefix == IDC_BLOCK]
        assert [(r.kind, r.target) for r in learnt] == [(RouteKind.PROPAGATED, "bgw-bj0001")], vpc
    assert evaluate(network, "idc-server-1", "i-vm1").reachable
    assert evaluate(network, "i-vm3", "idc-server-1").reachable
    assert not evaluate(network, "idc-server-1", "i-vm3b").reachable


def test_the_first_plan_has_no_bgp_route_and_the_learned_one_follows():
    loaded = scenario.load("multi_vpc_border_gateway_bgp")
    before = build_network(loaded.cloud, Learned.nothing())
    assert not [r for r in before.nodes["bgw-bj0001"].routes if r.kind is RouteKind.BGP]
    assert not [r for r in before.nodes["vpc-bj0001-vrouter"].routes if r.prefix == IDC_BLOCK]
    after = build_network(loaded.cloud, Learned(received={"pvi-bj0001": (IDC_BLOCK,)}))
    assert [r.prefix for r in after.nodes["vpc-bj0001-vrouter"].routes if r.prefix == IDC_BLOCK] == [IDC_BLOCK]


def test_a_propagation_range_without_the_idc_block_keeps_it_out_of_that_vpc(write_scenario, jd_data):
    _step(jd_data, "Enable route propagation")["route_propagations"][1]["ranges"] = ["10.0.0.0/8"]
    network = build_network(_load(write_scenario, jd_data).cloud)
    assert not [r for r in network.nodes["vpc-bj0002-vrouter"].routes if r.prefix == IDC_BLOCK]
    assert [r for r in network.nodes["vpc-bj0001-vrouter"].routes if r.prefix == IDC_BLOCK]


def test_an_attachment_beats_the_idc_for_the_same_segment(write_scenario, jd_data):
    """JD's order after the longest prefix: the next hop's type (attachment 100 < private virtual interface 120)."""
    _customer(jd_data)["networks"] = ["192.168.0.0/16", "10.2.1.0/24"]
    network = build_network(_load(write_scenario, jd_data).cloud)
    gateway = network.nodes["bgw-bj0001"]
    same = sorted((r for r in gateway.routes if r.prefix == IPv4Network("10.2.1.0/24")), key=lambda r: r.rank)
    assert [(r.kind, r.rank, r.valid) for r in same] == [(RouteKind.PROPAGATED, (100, 120), True),
                                                        (RouteKind.BGP, (120, 150), False)]
    assert best_route(gateway.routes, IPv4Address("10.2.1.10")).port == "bgwatt-3"
    assert gateway.best_route(IPv4Address("10.2.1.10")).port == "bgwatt-3"
    # An invalid route is not passed on: VPC-1 learns 10.2.1.0/24 once, from VPC-3's attachment.
    learnt = [r for r in network.nodes["vpc-bj0001-vrouter"].routes if r.prefix == IPv4Network("10.2.1.0/24")]
    assert len(learnt) == 1
    assert evaluate(network, "i-vm1", "i-vm3").reachable
    # The device prefers its own origination and never installs the gateway's route: the IDC loses VPC-3.
    lost = evaluate(network, "idc-server-1", "i-vm3")
    assert not lost.reachable and lost.explanation.code == "OWN_PREFIX"
    assert "bgp withdraw 10.2.1.0/24" in lost.explanation.fix


def test_a_more_specific_idc_prefix_wins_by_length_and_is_propagated(write_scenario, jd_data):
    _customer(jd_data)["networks"] = ["192.168.0.0/16", "10.2.2.0/24"]
    network = build_network(_load(write_scenario, jd_data).cloud)
    assert network.nodes["bgw-bj0001"].best_route(IPv4Address("10.2.2.10")).port == "pvi-bj0001"
    assert network.nodes["vpc-bj0001-vrouter"].best_route(IPv4Address("10.2.2.10")).target == "bgw-bj0001"
    # ... but never over a VPC's own block: VPC-3 does not learn it and keeps delivering locally.
    vpc3 = network.nodes["vpc-bj0003-vrouter"]
    assert not [r for r in vpc3.routes if r.prefix == IPv4Network("10.2.2.0/24")]
    assert vpc3.best_route(IPv4Address("10.2.2.10")).kind is RouteKind.HOST


def test_the_gateway_keeps_300_dynamic_routes_with_its_propagated_ones(write_scenario, jd_data):
    _customer(jd_data)["networks"] = [f"192.168.{i}.0/24" for i in range(0, 250)] + [
        f"172.20.{i}.0/24" for i in range(0, 50)]
    loaded = _load(write_scenario, jd_data)
    [session] = sessions(loaded.cloud)
    assert (len(session.cloud_learns), session.discarded) == (297, 3)
    network = build_network(loaded.cloud)
    assert len([r for r in network.nodes["bgw-bj0001"].routes if r.kind is RouteKind.BGP]) == 297
    assert evaluate(network, "idc-server-1", "i-vm1").reachable


def test_a_bgp_password_on_the_device_keeps_the_session_down_and_says_why(write_scenario, jd_data):
    _customer(jd_data)["neighbors"][0]["password"] = "Secret+123"
    _interface(jd_data)["bgp_key"] = "Secret+123"     # accepted and ignored, as JD Cloud says
    loaded = _load(write_scenario, jd_data)
    [session] = sessions(loaded.cloud)
    assert "does not take effect" in session.problem and "remove the password" in session.fix
    path = evaluate(build_network(loaded.cloud), "idc-server-1", "i-vm1")
    assert not path.reachable and path.explanation.code == "BGP_NOT_ESTABLISHED"
    assert any("BGP key does not take effect" in line for line in loaded.steps)


def test_a_wrong_customer_asn_names_the_interface(write_scenario, jd_data):
    _interface(jd_data)["customer_asn"] = 65002
    [session] = sessions(_load(write_scenario, jd_data).cloud)
    assert "private virtual interface pvi-bj0001 expects peer AS 65002" in session.problem
    assert "customer_asn: 65001" in session.fix


@pytest.mark.parametrize("change, code, field", [
    ({"customer_asn": 64999}, "InvalidParameter.Asn", "customer_asn"),
    ({"vlan_id": 4095}, "InvalidParameter.VlanId", "vlan_id"),
    ({"interconnect_cidr": "10.255.0.0/29"}, "InvalidParameter.InterconnectCidr", "interconnect_cidr"),
    ({"interconnect_cidr": "100.100.0.0/30"}, "InvalidParameter.InterconnectCidr", "interconnect_cidr"),
    ({"interconnect_cidr": "10.0.9.0/30"}, "InvalidParameter.InterconnectCidr", "interconnect_cidr"),
    ({"physical_connection": "dc-none"}, "InvalidPhysicalConnectionId.NotFound", "physical_connection"),
    ({"border_gateway": "bgw-none"}, "InvalidBorderGatewayId.NotFound", "border_gateway"),
])
def test_the_provider_refuses_bad_interfaces(write_scenario, jd_data, change, code, field):
    _interface(jd_data).update(change)
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, jd_data)
    assert refused.value.code == code
    assert field in refused.value.message, refused.value.message


def test_two_interfaces_may_not_share_a_vlan_on_one_connection(write_scenario, jd_data):
    step = _step(jd_data, "Create the private virtual interface")
    step["private_virtual_interfaces"].append(dict(_interface(jd_data), id="pvi-bj0002",
                                                   interconnect_cidr="10.255.0.4/30"))
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, jd_data)
    assert refused.value.code == "InvalidParameter.VlanIdConflict" and "pvi-bj0001" in refused.value.message


def test_alibaba_has_no_private_virtual_interfaces(write_scenario, jd_data):
    jd_data["provider"] = "alibaba"
    for vpc in jd_data["vpcs"]:
        vpc["vswitches"] = vpc.pop("subnets")
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, jd_data)
    assert refused.value.code == "InvalidParameter.Provider"


def test_the_gateway_hands_tcp_for_its_interface_address_to_the_interfaces_speaker():
    loaded = scenario.load("multi_vpc_border_gateway_bgp")
    plan = make_plan(build_network(loaded.cloud, Learned.nothing()), "jd", 1)
    gateway, speaker = plan.node("bgw-bj0001"), plan.node(speaker_id("pvi-bj0001"))
    assert gateway.speakers == (("10.255.0.2", gateway.interface("bgp.pvi-bj0001").port_no,
                                 speaker.interfaces[0].mac),)
    handed = [f for f in flows_for(gateway) if f.priority == PRIO_TCP_FOR_SPEAKER]
    assert handed and all(dict(f.match)["ipv4_dst"] == "10.255.0.2" for f in handed)


def _gateway_route(destination: str, hop_type: str, hop: str) -> dict:
    return {"router_id": "bgw-bj0001", "destination_cidr": destination, "next_hop_type": hop_type, "next_hop_id": hop}


def test_a_static_interface_routes_by_the_gateways_static_table(write_scenario, jd_data):
    _interface(jd_data).update(route_type="static")
    del _interface(jd_data)["customer_asn"]
    _step(jd_data, "Configure BGP").pop("customer_bgp")
    _step(jd_data, "Configure BGP")["customer_routes"] = [{"destination": "10.0.0.0/8", "next_hop": "10.255.0.2"}]
    _step(jd_data, "Create the private virtual interface")["route_entries"] = [
        _gateway_route("192.168.0.0/16", "PrivateVirtualInterface", "pvi-bj0001")]
    loaded = _load(write_scenario, jd_data)
    assert sessions(loaded.cloud) == [] and not loaded.cloud.has_bgp()
    network = build_network(loaded.cloud)
    [static] = [r for r in network.nodes["bgw-bj0001"].routes if r.kind is RouteKind.CUSTOM]
    assert (static.port, static.next_hop, static.rank) == ("pvi-bj0001", IPv4Address("10.255.0.1"), (120, 100))
    # Propagated to the VPCs like a BGP route would be.
    assert network.nodes["vpc-bj0002-vrouter"].best_route(IPv4Address("192.168.1.10")).target == "bgw-bj0001"
    assert evaluate(network, "idc-server-1", "i-vm2").reachable


def test_a_static_route_beats_ebgp_for_the_same_prefix(write_scenario, jd_data):
    _step(jd_data, "Create the private virtual interface")["route_entries"] = [
        _gateway_route("192.168.0.0/16", "PrivateVirtualInterface", "pvi-bj0001")]
    network = build_network(_load(write_scenario, jd_data).cloud)
    same = sorted((r for r in network.nodes["bgw-bj0001"].routes if r.prefix == IDC_BLOCK), key=lambda r: r.rank)
    assert [(r.kind, r.rank, r.valid) for r in same] == [(RouteKind.CUSTOM, (120, 100), True),
                                                        (RouteKind.BGP, (120, 150), False)]


def test_a_static_route_to_an_attachment_is_announced_to_the_idc(write_scenario, jd_data):
    _step(jd_data, "Create the private virtual interface")["route_entries"] = [
        _gateway_route("10.2.0.0/16", "VpcAttachment", "bgwatt-3")]
    loaded = _load(write_scenario, jd_data)
    [session] = sessions(loaded.cloud)
    assert IPv4Network("10.2.0.0/16") in session.customer_learns
    assert evaluate(build_network(loaded.cloud), "idc-server-1", "i-vm3b").reachable


@pytest.mark.parametrize("route, code", [
    (_gateway_route("192.168.0.0/16", "RouterInterface", "pvi-bj0001"), "InvalidNextHopType.NotSupported"),
    (_gateway_route("192.168.0.0/16", "PrivateVirtualInterface", "bgwatt-1"), "InvalidNextHopId.NotFound"),
    ({"router_id": "vpc-bj0001-vrouter", "destination_cidr": "192.168.0.0/16",
      "next_hop_type": "PrivateVirtualInterface", "next_hop_id": "pvi-bj0001"}, "InvalidNextHopType.NotSupported"),
])
def test_the_gateways_static_routes_lead_to_its_own_attachments_and_interfaces(write_scenario, jd_data, route, code):
    _step(jd_data, "Create the private virtual interface")["route_entries"] = [route]
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, jd_data)
    assert refused.value.code == code


def test_a_gateway_holds_50_static_routes(write_scenario, jd_data):
    _step(jd_data, "Create the private virtual interface")["route_entries"] = [
        _gateway_route(f"192.168.{i}.0/24", "PrivateVirtualInterface", "pvi-bj0001") for i in range(51)]
    with pytest.raises(CloudError) as refused:
        _load(write_scenario, jd_data)
    assert refused.value.code == "QuotaExceeded.RouteEntry" and "50" in refused.value.message


def test_a_prefix_the_gateway_discarded_at_its_limit_is_blamed_on_the_limit_not_the_vpc(write_scenario, jd_data):
    """Issue 24: the pair failed at the VPC router with NO_ROUTE and a fix to connect a VPC that is attached and
    propagating already; on a VBR the same loss gave BGP_ROUTE_LIMIT."""
    _customer(jd_data)["networks"] = [f"10.{50 + i // 256}.{i % 256}.0/24" for i in range(300)] + ["192.168.0.0/16"]
    network = build_network(_load(write_scenario, jd_data).cloud)
    lost = evaluate(network, "i-vm1", "idc-server-1")
    assert not lost.reachable and lost.explanation.code == "BGP_ROUTE_LIMIT", lost.explanation
    assert "border gateway bgw-bj0001" in lost.explanation.message and "192.168.0.0/16" in lost.explanation.message
    assert "aggregate" in lost.explanation.fix and "connect" not in lost.explanation.fix
