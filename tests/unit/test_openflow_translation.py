"""The OpenFlow translation (controllers/cloud_router.py) as a switch receives it: the real os-ken messages, as
bytes, through a fake flow table (tests/unit/fake_oftable.py). A packet to an address leaves by which port,
tagged how, with which MACs and TTL? flows.py's plain values are tested elsewhere; this holds what
to_flow_mod, to_actions and delete_generation make of them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from controllers.cloud_router import CloudRouterApp
from controllers.flows import flows_for
from emulator import scenario
from emulator.plan import Plan, make_plan
from emulator.routing.topology import build_network
from tests.unit.fake_oftable import CONTROLLER, OFPVID_NONE, FakeSwitch

OFPVID_PRESENT = 0x1000
ETH_IP, ETH_ARP = 0x0800, 0x0806


def _plan(name: str) -> Plan:
    loaded = scenario.load(name)
    return make_plan(build_network(loaded.cloud), loaded.name)


def _installed(plan: Plan, node_id: str, generation: int = 1) -> FakeSwitch:
    """The node's flows sent as the app sends them when the bridge connects (features reply)."""
    node = plan.node(node_id)
    switch = FakeSwitch()
    app = CloudRouterApp.__new__(CloudRouterApp)
    app.nodes, app.datapaths, app.ready, app.generation, app.status_path = {7: node}, {}, set(), generation, ""
    app.on_features(SimpleNamespace(msg=SimpleNamespace(datapath=switch, datapath_id=7)))
    assert len(switch.flows) == len(flows_for(node)) and switch.barriers == 1
    return switch


def _ip(in_port: int, dst: str, vlan: int | None = None, ttl: int = 64, **more) -> dict:
    return {"in_port": in_port, "eth_type": ETH_IP, "vlan_vid": OFPVID_PRESENT | vlan if vlan else OFPVID_NONE,
            "ipv4_src": "172.16.1.10", "ipv4_dst": dst, "nw_ttl": ttl, "ip_proto": 1, **more}


@pytest.fixture(scope="module")
def tutorial() -> Plan:
    return _plan("multi_vpc_leased_line")


def test_from_the_leased_line_each_vpc_leaves_by_its_router_interface_untagged_ttl_less_one(tutorial):
    vbr = tutorial.node("vbr-12345678")
    switch = _installed(tutorial, "vbr-12345678")
    line = vbr.interface("pc-AAA")
    for dst, ri in (("192.168.1.10", "ri-AAA"), ("10.10.1.10", "ri-CCC")):
        out = vbr.interface(ri)
        entry = next(e for e in vbr.forwarding if e.port_no == out.port_no and not e.local)
        [(port, packet)] = switch.forward(_ip(line.port_no, dst, vlan=line.vlan))
        assert port == out.port_no, (dst, port)
        assert packet["vlan_vid"] == OFPVID_NONE and packet["nw_ttl"] == 63
        assert packet["eth_src"] == out.mac and packet["eth_dst"] == entry.dst_mac


def test_towards_the_idc_the_vlan_of_the_line_is_pushed(tutorial):
    vbr = tutorial.node("vbr-12345678")
    switch = _installed(tutorial, "vbr-12345678")
    line = vbr.interface("pc-AAA")
    [(port, packet)] = switch.forward(_ip(vbr.interface("ri-AAA").port_no, "172.16.1.10", ipv4_src="192.168.1.10"))
    assert port == line.port_no and packet["vlan_vid"] == OFPVID_PRESENT | line.vlan == OFPVID_PRESENT | 1000


def test_a_vbr_does_not_carry_one_vpc_to_another_and_drops_what_it_has_no_route_for(tutorial):
    vbr = tutorial.node("vbr-12345678")
    switch = _installed(tutorial, "vbr-12345678")
    assert switch.forward(_ip(vbr.interface("ri-AAA").port_no, "10.10.1.10")) == []      # not transitive
    line = vbr.interface("pc-AAA")
    assert switch.forward(_ip(line.port_no, "8.8.8.8", vlan=line.vlan)) == []           # no route
    assert switch.forward(_ip(line.port_no, "192.168.1.10")) == []                     # untagged on a tagged port


def test_the_slow_path_gets_arp_for_the_router_ttl_expiry_and_pings_of_the_router(tutorial):
    vbr = tutorial.node("vbr-12345678")
    switch = _installed(tutorial, "vbr-12345678")
    line = vbr.interface("pc-AAA")
    arp = {"in_port": line.port_no, "vlan_vid": OFPVID_PRESENT | line.vlan, "eth_type": ETH_ARP, "arp_op": 1,
           "arp_tpa": "10.100.0.1"}
    assert [port for port, _ in switch.forward(arp)] == [CONTROLLER]
    assert [port for port, _ in switch.forward(_ip(line.port_no, "192.168.1.10", vlan=line.vlan, ttl=1))] \
        == [CONTROLLER]
    assert [port for port, _ in switch.forward(_ip(line.port_no, "10.100.0.1", vlan=line.vlan))] == [CONTROLLER]


def test_a_new_generation_replaces_the_old_one_by_cookie(tutorial):
    vbr = tutorial.node("vbr-12345678")
    switch = _installed(tutorial, "vbr-12345678", generation=1)
    app = CloudRouterApp.__new__(CloudRouterApp)
    app.nodes, app.datapaths, app.ready, app.generation, app.status_path = {7: vbr}, {7: switch}, set(), 2, ""
    app._install(switch, 7, previous=1)
    assert switch.cookies() == {2} and len(switch.flows) == len(flows_for(vbr))
    line = vbr.interface("pc-AAA")
    assert switch.forward(_ip(line.port_no, "192.168.1.10", vlan=line.vlan))[0][0] == vbr.interface("ri-AAA").port_no


def test_the_access_point_tags_towards_the_vbr_and_untags_towards_the_customer(tutorial):
    ap = next(node for node in tutorial.nodes if node.id.endswith("@ap"))
    switch = _installed(tutorial, ap.id)
    [(customer, trunk, vlan)] = ap.vlan_pairs
    [(port, packet)] = switch.forward(_ip(customer, "192.168.1.10"))
    assert port == trunk and packet["vlan_vid"] == OFPVID_PRESENT | vlan
    [(port, packet)] = switch.forward(_ip(trunk, "172.16.1.10", vlan=vlan))
    assert port == customer and packet["vlan_vid"] == OFPVID_NONE
    assert switch.forward(_ip(trunk, "172.16.1.10", vlan=vlan + 1)) == []              # another VLAN: not ours


def test_ecmp_spreads_flows_over_both_lines_and_keeps_each_on_one():
    plan = _plan("redundant_leased_lines")
    vrouter = plan.node("vrt-12345678")
    switch = _installed(plan, "vrt-12345678")
    entry = next(e for e in vrouter.forwarding if e.prefix == "172.16.0.0/12")
    lines = {port for port, _mac in entry.ecmp}
    lan = next(i for i in vrouter.interfaces if i.transit_group == "" and i.address)
    seen = set()
    for source_port in range(40000, 40032):
        flow = _ip(lan.port_no, "172.16.1.10", ipv4_src="10.10.1.10", ip_proto=6, tcp_src=source_port, tcp_dst=5201)
        [(port, _packet)] = switch.forward(flow)                                        # one line per 5-tuple
        assert port in lines, port
        seen.add(port)
    assert seen == lines and len(lines) == 2
