"""The controller's flows, checked with a small fake flow table (no switch)."""

from emulator import scenario
from emulator.plan import make_plan
from emulator.routing.topology import build_network
from controllers.flows import (CLASSIFY_TABLE, OFPP_CONTROLLER, OFPVID_NONE, OFPVID_PRESENT, ROUTE_TABLE, flows_for,
                               lookup, route_tables)


def _plan():
    loaded = scenario.load("multi_vpc_leased_line")
    return make_plan(build_network(loaded.cloud), loaded.name)


def test_tagged_frames_from_the_leased_line_are_popped_and_routed_to_vpc_b():
    plan = _plan()
    vbr = plan.node("vbr-12345678")
    flows = flows_for(vbr)
    line_port = vbr.interface("pc-AAA").port_no
    classify = lookup(flows, CLASSIFY_TABLE, {"in_port": line_port, "vlan_vid": OFPVID_PRESENT | 1000})
    assert classify.actions == (("pop_vlan",),) and classify.goto == route_tables(vbr)["leased_line"]
    assert lookup(flows, CLASSIFY_TABLE, {"in_port": line_port, "vlan_vid": OFPVID_NONE}) is None
    assert lookup(flows, CLASSIFY_TABLE, {"in_port": line_port, "vlan_vid": OFPVID_PRESENT | 7}) is None
    route = lookup(flows, classify.goto, {"eth_type": 0x0800, "ipv4_dst": "192.168.1.10", "nw_ttl": 63})
    out = vbr.interface("ri-AAA")
    assert route.actions == (("dec_ttl",), ("set_field", "eth_src", out.mac),
                             ("set_field", "eth_dst", plan.node("vrt-87654321").interface("ri-BBB").mac),
                             ("output", out.port_no))


def test_traffic_to_the_idc_is_tagged_with_the_vbr_vlan():
    vbr = _plan().node("vbr-12345678")
    from_vpc_b = route_tables(vbr)["router_interface"]
    route = lookup(flows_for(vbr), from_vpc_b, {"eth_type": 0x0800, "ipv4_dst": "172.16.1.10", "nw_ttl": 64})
    assert ("push_vlan", 0x8100) in route.actions
    assert ("set_field", "vlan_vid", OFPVID_PRESENT | 1000) in route.actions


def test_longest_prefix_wins_and_expiring_ttl_goes_to_the_controller():
    vbr = _plan().node("vbr-12345678")
    flows = flows_for(vbr)
    neighbour = lookup(flows, ROUTE_TABLE, {"eth_type": 0x0800, "ipv4_dst": "10.100.0.2", "nw_ttl": 64})
    covering = lookup(flows, ROUTE_TABLE, {"eth_type": 0x0800, "ipv4_dst": "10.100.0.3", "nw_ttl": 64})
    assert neighbour.actions[-1][0] == "output" and covering.actions == ()
    expiring = lookup(flows, ROUTE_TABLE, {"eth_type": 0x0800, "ipv4_dst": "192.168.1.10", "nw_ttl": 1})
    assert expiring.actions == (("controller",),)


def test_router_addresses_answer_arp_and_ip_through_the_controller():
    vbr = _plan().node("vbr-12345678")
    flows = flows_for(vbr)
    port = vbr.interface("pc-AAA").port_no
    line_table = route_tables(vbr)["leased_line"]
    arp = lookup(flows, line_table, {"in_port": port, "eth_type": 0x0806, "arp_op": 1, "arp_tpa": "10.100.0.1"})
    assert arp.actions == (("controller",),)
    assert lookup(flows, line_table, {"in_port": port, "eth_type": 0x0806, "arp_op": 1,
                                      "arp_tpa": "10.100.0.9"}) is None
    echo = lookup(flows, ROUTE_TABLE, {"eth_type": 0x0800, "ipv4_dst": "100.64.0.1", "nw_ttl": 64})
    assert echo.actions == (("controller",),)
    injected = lookup(flows, CLASSIFY_TABLE, {"in_port": OFPP_CONTROLLER})
    assert injected.goto == ROUTE_TABLE


def test_access_point_adds_and_removes_the_vlan_tag():
    ap = _plan().node("pc-AAA@ap")
    customer, trunk, vlan = ap.vlan_pairs[0]
    flows = flows_for(ap)
    up = lookup(flows, CLASSIFY_TABLE, {"in_port": customer, "vlan_vid": OFPVID_NONE})
    assert up.actions == (("push_vlan", 0x8100), ("set_field", "vlan_vid", OFPVID_PRESENT | vlan), ("output", trunk))
    down = lookup(flows, CLASSIFY_TABLE, {"in_port": trunk, "vlan_vid": OFPVID_PRESENT | vlan})
    assert down.actions == (("pop_vlan",), ("output", customer))


def test_match_fields_are_ordered_with_prerequisites_first():
    vbr = _plan().node("vbr-12345678")
    ttl_flow = next(f for f in flows_for(vbr) if "nw_ttl" in f.match_dict())
    assert [name for name, _ in ttl_flow.ordered_match()] == ["eth_type", "nw_ttl"]


def test_express_connect_is_not_transitive_in_the_flows():
    """A VBR forwards between its leased line and its router interfaces, never from one router interface to
    another: VPC-B's packets for VPC-A are dropped at the VBR even though its table has a route to VPC-A."""
    plan = _plan()
    vbr = plan.node("vbr-12345678")
    flows = flows_for(vbr)
    tables = route_tables(vbr)
    to_vpc_a = {"eth_type": 0x0800, "ipv4_dst": "10.10.1.10", "nw_ttl": 64}
    from_the_line = lookup(flows, tables["leased_line"], to_vpc_a)
    assert from_the_line.actions[-1] == ("output", vbr.interface("ri-CCC").port_no)
    from_vpc_b = lookup(flows, tables["router_interface"], to_vpc_a)
    assert from_vpc_b.actions == ()
    ri_port = vbr.interface("ri-AAA").port_no
    assert lookup(flows, CLASSIFY_TABLE, {"in_port": ri_port, "vlan_vid": OFPVID_NONE}).goto == tables["router_interface"]
