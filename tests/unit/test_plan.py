from emulator import scenario
from emulator.plan import LINUX_NAME_MAX, Plan, make_plan
from emulator.routing.topology import build_network


def _plan(cloud=None):
    loaded = scenario.load("multi_vpc_leased_line")
    return make_plan(build_network(cloud or loaded.cloud), loaded.name), loaded


def test_names_fit_linux_and_everything_is_unique():
    plan, _ = _plan()
    names = [n.name for n in plan.nodes]
    interfaces = [i.name for n in plan.nodes for i in n.interfaces]
    macs = [i.mac for n in plan.nodes for i in n.interfaces]
    dpids = [n.dpid for n in plan.switches()]
    assert len(set(names)) == len(names) and len(set(interfaces)) == len(interfaces)
    assert len(set(macs)) == len(macs) and len(set(dpids)) == len(dpids)
    assert all(len(name) <= LINUX_NAME_MAX for name in names + interfaces)
    assert all(name.startswith("ce") for name in names)
    assert {n.role for n in plan.switches()} == {"VBR", "VRouter", "access point"}


def test_plan_survives_json():
    plan, _ = _plan()
    assert Plan.from_json(plan.to_json()) == plan


def test_vbr_forwards_vpc_b_traffic_to_vpc_bs_router_mac():
    plan, _ = _plan()
    vbr = plan.node("vbr-12345678")
    vr_b = plan.node("vrt-87654321")
    entry = next(e for e in vbr.forwarding if e.prefix == "192.168.0.0/16")
    assert entry.port_no == vbr.interface("ri-AAA").port_no
    assert entry.dst_mac == vr_b.interface("ri-BBB").mac
    idc = next(e for e in vbr.forwarding if e.prefix == "172.16.0.0/12")
    assert idc.dst_mac == plan.node("customer-router").interface("pc-AAA.1000").mac
    assert vbr.interface("pc-AAA").vlan == 1000


def test_routes_over_an_inactive_interface_become_drops():
    loaded = scenario.load("multi_vpc_leased_line")
    loaded.cloud.deactivate_router_interface(ri_id="ri-AAA")
    plan, _ = _plan(loaded.cloud)
    entry = next(e for e in plan.node("vbr-12345678").forwarding if e.prefix == "192.168.0.0/16")
    assert entry.port_no is None and entry.dst_mac is None
    link = next(link for link in plan.links if link.cloud_id == "ri-AAA/ri-BBB")
    assert link.active is False


def test_customer_device_carries_the_tutorials_route_and_links_are_shaped():
    plan, _ = _plan()
    cpe = plan.node("customer-router")
    assert ("192.168.0.0/16", "10.100.0.1") in {(r.prefix, r.via) for r in cpe.linux_routes}
    shaped = {link.cloud_id: link.bandwidth_mbps for link in plan.links if link.bandwidth_mbps}
    assert shaped == {"pc-AAA": 100, "ri-AAA/ri-BBB": 1000, "ri-CCC/ri-DDD": 1000}
    trunk = next(link for link in plan.links if link.kind == "leased_line_trunk")
    assert trunk.vlan == 1000
