"""JD Cloud's rules: attachments, propagation, preference, overlap, peering."""

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yaml

from emulator import scenario, session
from emulator.report.terminal import route_table_rows
from emulator.cloud.control_plane import ControlPlane
from emulator.cloud.resources import NextHopType
from emulator.errors import CloudError
from emulator.routing.model import Route, best_route
from emulator.routing.reachability import evaluate, expected_hops
from emulator.routing.topology import build_network

ACCOUNT = "100000001"


def _cloud(*vpcs: tuple[str, str, str, list[str]]) -> ControlPlane:
    """VPCs as (id, region, cidr, [subnet cidrs]); one instance per subnet at .10."""
    cloud = ControlPlane("jdcloud")
    cloud.create_account(ACCOUNT, "")
    cloud.create_account("200000002", "")
    for vpc_id, region, cidr, subnets in vpcs:
        cloud.create_vpc(account=ACCOUNT, vpc_id=vpc_id, name="", region=region, cidr=IPv4Network(cidr),
                         vrouter_id=f"{vpc_id}-vrouter", route_table_id=f"rtb-{vpc_id}")
        for index, subnet in enumerate(subnets):
            network = IPv4Network(subnet)
            cloud.create_vswitch(vpc_id=vpc_id, vswitch_id=f"{vpc_id}-s{index}", zone="z", cidr=network)
            cloud.create_instance(vswitch_id=f"{vpc_id}-s{index}", instance_id=f"i-{vpc_id}-{index}",
                                  ip=network.network_address + 10)
    cloud.create_border_gateway(account=ACCOUNT, bgw_id="bgw-1", name="", region="cn-north-1", asn=65000,
                                route_table_id="rtb-bgw")
    return cloud


def _code(call) -> str:
    with pytest.raises(CloudError) as caught:
        call()
    assert caught.value.fix
    return caught.value.code


def test_attachment_propagates_all_or_named_segments_into_the_gateway_table():
    cloud = _cloud(("vpc-1", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24", "10.0.2.0/24"]),
                   ("vpc-2", "cn-north-1", "10.1.0.0/16", ["10.1.1.0/24"]))
    cloud.attach_vpc(attachment_id="att-1", bgw_id="bgw-1", vpc_id="vpc-1", subnets=None)
    cloud.attach_vpc(attachment_id="att-2", bgw_id="bgw-1", vpc_id="vpc-2", subnets=["vpc-2-s0"])
    table = {(str(s), a.id) for s, a in cloud.gateway_routes("bgw-1")}
    assert table == {("10.0.1.0/24", "att-1"), ("10.0.2.0/24", "att-1"), ("10.1.1.0/24", "att-2")}
    network = build_network(cloud)
    bgw_routes = {(str(r.prefix), r.target, r.kind, r.priority) for r in network.nodes["bgw-1"].routes
                  if r.kind == "propagated"}
    assert ("10.1.1.0/24", "att-2", "propagated", 120) in bgw_routes


def test_only_same_account_and_region_and_one_attachment_per_vpc():
    cloud = _cloud(("vpc-1", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24"]),
                   ("vpc-far", "cn-south-1", "10.1.0.0/16", ["10.1.1.0/24"]))
    cloud.create_vpc(account="200000002", vpc_id="vpc-other", name="", region="cn-north-1",
                     cidr=IPv4Network("10.2.0.0/16"), vrouter_id="vr-o", route_table_id="rtb-o")
    assert _code(lambda: cloud.attach_vpc(attachment_id="a", bgw_id="bgw-1", vpc_id="vpc-far", subnets=None)) == \
        "InvalidParameter.CrossRegion"
    assert _code(lambda: cloud.attach_vpc(attachment_id="a", bgw_id="bgw-1", vpc_id="vpc-other", subnets=None)) == \
        "InvalidParameter.CrossAccount"
    cloud.attach_vpc(attachment_id="att-1", bgw_id="bgw-1", vpc_id="vpc-1", subnets=None)
    assert _code(lambda: cloud.attach_vpc(attachment_id="att-1b", bgw_id="bgw-1", vpc_id="vpc-1", subnets=None)) == \
        "InvalidParameter.AttachmentExists"
    assert _code(lambda: cloud.attach_vpc(attachment_id="a", bgw_id="bgw-9", vpc_id="vpc-1", subnets=None)) == \
        "InvalidBorderGatewayId.NotFound"


def test_asn_is_fixed_and_border_gateways_are_jd_cloud_only():
    cloud = _cloud()
    assert _code(lambda: cloud.create_border_gateway(account=ACCOUNT, bgw_id="bgw-2", name="", region="r", asn=64512,
                                                     route_table_id="rtb-2")) == "InvalidParameter.Asn"
    alibaba = ControlPlane("alibaba")
    alibaba.create_account(ACCOUNT, "")
    assert _code(lambda: alibaba.create_border_gateway(account=ACCOUNT, bgw_id="bgw-2", name="", region="r",
                                                       asn=65000, route_table_id="rtb-2")) == "InvalidParameter.Provider"


def test_propagation_learns_the_gateway_routes_inside_the_range_but_not_its_own():
    cloud = _cloud(("vpc-1", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24"]),
                   ("vpc-2", "cn-north-1", "10.1.0.0/16", ["10.1.1.0/24"]),
                   ("vpc-3", "cn-north-1", "172.16.0.0/16", ["172.16.1.0/24"]))
    for index in (1, 2, 3):
        cloud.attach_vpc(attachment_id=f"att-{index}", bgw_id="bgw-1", vpc_id=f"vpc-{index}", subnets=None)
    assert _code(lambda: cloud.propagate_routes(vpc_id="vpc-1", bgw_id="bgw-9", ranges=[])) == \
        "InvalidBorderGatewayId.NotFound"
    cloud.propagate_routes(vpc_id="vpc-1", bgw_id="bgw-1", ranges=[IPv4Network("10.0.0.0/8")])
    assert [str(s) for s, _b, _a in cloud.learnt_routes("vpc-1")] == ["10.1.1.0/24"]
    assert _code(lambda: cloud.propagate_routes(vpc_id="vpc-1", bgw_id="bgw-1",
                                                ranges=[IPv4Network("0.0.0.0/0")])) == \
        "InvalidParameter.PropagationExists"


def test_propagation_needs_an_attachment():
    cloud = _cloud(("vpc-1", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24"]))
    assert _code(lambda: cloud.propagate_routes(vpc_id="vpc-1", bgw_id="bgw-1",
                                                ranges=[IPv4Network("10.0.0.0/8")])) == "InvalidParameter.NotAttached"


def test_overlapping_segments_in_the_gateway_table_are_refused_naming_both():
    cloud = _cloud(("vpc-x", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24"]),
                   ("vpc-y", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/25"]))
    cloud.attach_vpc(attachment_id="att-x", bgw_id="bgw-1", vpc_id="vpc-x", subnets=None)
    with pytest.raises(CloudError) as caught:
        cloud.attach_vpc(attachment_id="att-y", bgw_id="bgw-1", vpc_id="vpc-y", subnets=None)
    assert caught.value.code == "InvalidParameter.RouteConflict"
    assert "10.0.1.0/25 -> att-y" in caught.value.message and "10.0.1.0/24 -> att-x" in caught.value.message
    assert "att-y" not in cloud.attachments, "a refused attachment leaves nothing behind"


def test_a_learnt_route_overlapping_the_local_route_is_refused_with_a_narrower_range():
    cloud = _cloud(("vpc-x", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24"]),
                   ("vpc-y", "cn-north-1", "10.0.0.0/16", ["10.0.2.0/24"]),
                   ("vpc-z", "cn-north-1", "192.168.0.0/16", ["192.168.1.0/24"]))
    for name in "xyz":
        cloud.attach_vpc(attachment_id=f"att-{name}", bgw_id="bgw-1", vpc_id=f"vpc-{name}", subnets=None)
    with pytest.raises(CloudError) as caught:
        cloud.propagate_routes(vpc_id="vpc-x", bgw_id="bgw-1", ranges=[IPv4Network("0.0.0.0/0")])
    assert caught.value.code == "InvalidParameter.RouteConflict"
    assert "10.0.2.0/24" in caught.value.message and "local route 10.0.0.0/16" in caught.value.message
    assert "narrow the propagation range" in caught.value.fix and "192.168.1.0/24" in caught.value.fix
    assert cloud.propagations == []
    cloud.propagate_routes(vpc_id="vpc-x", bgw_id="bgw-1", ranges=[IPv4Network("192.168.0.0/16")])


def test_a_new_attachment_may_not_break_an_existing_propagation():
    cloud = _cloud(("vpc-x", "cn-north-1", "10.0.0.0/16", ["10.0.1.0/24"]),
                   ("vpc-y", "cn-north-1", "10.0.0.0/16", ["10.0.2.0/24"]))
    cloud.attach_vpc(attachment_id="att-x", bgw_id="bgw-1", vpc_id="vpc-x", subnets=None)
    cloud.propagate_routes(vpc_id="vpc-x", bgw_id="bgw-1", ranges=[IPv4Network("10.0.0.0/8")])
    assert _code(lambda: cloud.attach_vpc(attachment_id="att-y", bgw_id="bgw-1", vpc_id="vpc-y", subnets=None)) == \
        "InvalidParameter.RouteConflict"


def test_preference_local_first_then_longest_prefix_then_static_over_propagated():
    local = Route(IPv4Network("10.0.0.0/16"), None, None, "local", priority=0)
    propagated_24 = Route(IPv4Network("10.0.2.0/24"), "att", None, "propagated", priority=120)
    static_8 = Route(IPv4Network("10.0.0.0/8"), "pcx", None, "custom", priority=100)
    propagated_8 = Route(IPv4Network("10.0.0.0/8"), "att", None, "propagated", priority=120)
    routes = (propagated_8, local, propagated_24, static_8)
    assert best_route(routes, IPv4Address("10.0.2.5")) is local            # local wins over a longer prefix
    assert best_route(routes, IPv4Address("10.9.0.1")) is static_8         # same prefix: static (100) wins
    assert best_route((propagated_8, propagated_24), IPv4Address("10.0.2.5")) is propagated_24   # longest prefix


def test_static_route_to_the_border_gateway_beats_the_propagated_one_in_the_flows():
    from emulator.plan import make_plan

    loaded = scenario.load("multi_vpc_border_gateway")
    cloud = loaded.cloud
    cloud.add_route_entry(router_id="vpc-bj0001-vrouter", destination=IPv4Network("10.1.1.0/24"),
                          next_hop_type=NextHopType.BORDER_GATEWAY, next_hop_id="bgw-bj0001")
    node = build_network(cloud).nodes["vpc-bj0001-vrouter"]
    winners = [r for r in node.routes if str(r.prefix) == "10.1.1.0/24"]
    assert {r.priority for r in winners} == {100, 120}
    entry = next(e for e in make_plan(build_network(cloud), "x").node("vpc-bj0001-vrouter").forwarding
                 if e.prefix == "10.1.1.0/24")
    assert entry.why.startswith("custom")


def test_reference_border_gateway_scenario_paths():
    loaded = scenario.load("multi_vpc_border_gateway")
    network = build_network(loaded.cloud)
    hops = [str(h) for h in expected_hops(network, "i-vm1", "i-vm3")]
    assert hops[0] == "10.0.1.1" and hops[-1] == "10.2.1.10" and len(hops) == 4
    private = evaluate(network, "i-vm1", "i-vm3b")
    assert private.explanation.code == "NO_ROUTE" and private.explanation.hop == "vpc-bj0001-vrouter"


def test_peering_is_not_transitive():
    loaded = scenario.load("vpc_peering")
    network = build_network(loaded.cloud)
    assert evaluate(network, "i-a", "i-b").reachable and evaluate(network, "i-b", "i-c").reachable
    result = evaluate(network, "i-a", "i-c")
    assert not result.reachable and result.explanation.code == "NOT_TRANSITIVE"
    assert result.explanation.hop == "vpc-b-vrouter" and "peer the two VPCs directly" in result.explanation.fix


def test_peering_rules():
    cloud = _cloud(("vpc-1", "cn-north-1", "10.0.0.0/16", []), ("vpc-2", "cn-north-1", "10.0.0.0/16", []),
                   ("vpc-3", "cn-north-1", "10.3.0.0/16", []), ("vpc-4", "cn-south-1", "10.4.0.0/16", []))
    assert _code(lambda: cloud.create_vpc_peering(peering_id="p", account=ACCOUNT, vpc_id="vpc-1",
                                                  peer_vpc_id="vpc-2")) == "InvalidParameter.CidrOverlap"
    assert _code(lambda: cloud.create_vpc_peering(peering_id="p", account=ACCOUNT, vpc_id="vpc-1",
                                                  peer_vpc_id="vpc-4")) == "InvalidParameter.CrossRegion"
    assert _code(lambda: cloud.create_vpc_peering(peering_id="p", account=ACCOUNT, vpc_id="vpc-1",
                                                  peer_vpc_id="vpc-1")) == "InvalidParameter.SameVpc"
    cloud.create_vpc_peering(peering_id="pcx-13", account=ACCOUNT, vpc_id="vpc-1", peer_vpc_id="vpc-3")
    assert _code(lambda: cloud.create_vpc_peering(peering_id="pcx-31", account=ACCOUNT, vpc_id="vpc-3",
                                                  peer_vpc_id="vpc-1")) == "InvalidParameter.PeeringExists"
    assert _code(lambda: cloud.add_route_entry(router_id="vpc-2-vrouter", destination=IPv4Network("10.3.0.0/16"),
                                               next_hop_type=NextHopType.VPC_PEERING, next_hop_id="pcx-13")) == \
        "InvalidNextHopId.NotFound"


def test_no_transit_flow_drops_what_enters_by_a_peering_port_unless_local():
    from controllers.flows import ROUTE_TABLE, flows_for, lookup
    from emulator.plan import make_plan

    loaded = scenario.load("vpc_peering")
    plan = make_plan(build_network(loaded.cloud), loaded.name)
    router_b = plan.node("vpc-b-vrouter")
    flows = flows_for(router_b)
    from_a = router_b.interface("pcx-ab").port_no
    to_c = lookup(flows, ROUTE_TABLE, {"in_port": from_a, "eth_type": 0x0800, "ipv4_dst": "10.30.1.10", "nw_ttl": 63})
    assert to_c.actions == ()                                   # dropped: not transitive
    to_b = lookup(flows, ROUTE_TABLE, {"in_port": from_a, "eth_type": 0x0800, "ipv4_dst": "10.20.1.10", "nw_ttl": 63})
    assert to_b.actions[-1] == ("output", router_b.interface("i-b").port_no)
    own = router_b.interface("i-b").port_no
    from_own = lookup(flows, ROUTE_TABLE, {"in_port": own, "eth_type": 0x0800, "ipv4_dst": "10.30.1.10", "nw_ttl": 63})
    assert from_own.actions[-1] == ("output", router_b.interface("pcx-bc").port_no)


def test_jd_cloud_scenarios_use_subnets_not_vswitches(write_scenario):
    from emulator.errors import ScenarioError

    text = (scenario.SCENARIO_DIR / "vpc_peering.yaml").read_text().replace("    subnets:", "    vswitches:", 1)
    with pytest.raises(ScenarioError) as caught:
        scenario.load(str(write_scenario(text)))
    assert "rename 'vswitches:' to 'subnets:'" in caught.value.fix


def test_the_fix_never_suggests_routing_through_a_peering():
    loaded = scenario.load("vpc_peering", until_step=2)        # without the hopeful routes through VPC-B
    result = evaluate(build_network(loaded.cloud), "i-a", "i-c")
    assert result.explanation.code == "NO_ROUTE"
    assert "pcx-ab" not in result.explanation.fix and "connect vpc-a with vpc-c" in result.explanation.fix


@settings(max_examples=300, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), max_size=10))
def test_the_overlap_sweep_agrees_with_comparing_every_pair(specs):
    from emulator.cloud.border_gateway import _any_overlap

    segments = {IPv4Network((address, length), strict=False) for address, length in specs}
    pairwise = any(a != b and a.overlaps(b) for a in segments for b in segments)
    assert _any_overlap(segments) == pairwise


def _identical_segments(write_scenario, same_address: bool):
    """border_gateway_overlap with X and Y propagating the identical 10.0.1.0/24 (X first)."""
    data = yaml.safe_load((scenario.SCENARIO_DIR / "border_gateway_overlap.yaml").read_text())
    y = next(v for v in data["vpcs"] if v["id"] == "vpc-y")
    y["subnets"] = [{"id": "subnet-y1", "cidr": "10.0.1.0/24",
                     "instances": [{"id": "i-y", "ip": "10.0.1.10" if same_address else "10.0.1.20"}]}]
    for attachment in data["steps"][1]["vpc_attachments"]:
        attachment["propagate"] = "all"
    data["expect"], data["checks"] = [], {"traceroute": []}
    return session.prepare(scenario.load(str(write_scenario(data))))


def test_identical_segments_first_propagated_wins_the_later_is_invalid(write_scenario):
    prepared = _identical_segments(write_scenario, same_address=True)
    rows = [r for r in route_table_rows(prepared.network, "bgw-overlap") if r["destination"] == "10.0.1.0/24"]
    assert [(r["next_hop"], r["state"]) for r in rows] == [("att-x", "available"), ("att-y", "invalid")]
    z_rows = [r for r in route_table_rows(prepared.network, "vpc-z-vrouter") if r["destination"] == "10.0.1.0/24"]
    assert len(z_rows) == 1                                   # only the valid route propagates
    bgw = prepared.plan.node("bgw-overlap")
    [entry] = [e for e in bgw.forwarding if e.prefix == "10.0.1.0/24"]
    assert entry.port_no == bgw.interface("att-x").port_no


def test_explain_follows_the_tables_to_the_host_that_really_gets_the_request(write_scenario):
    prepared = _identical_segments(write_scenario, same_address=True)
    to_y = session.explain_pair(prepared, "i-z", "i-y")
    assert not to_y.reachable and to_y.explanation.code == "WRONG_DESTINATION" and to_y.answered_by == "i-x"
    assert "i-x" in to_y.explanation.message
    assert session.explain_pair(prepared, "i-z", "i-x").reachable
    other = _identical_segments(write_scenario, same_address=False)
    blackhole = session.explain_pair(other, "i-z", "i-y")
    assert blackhole.explanation.code == "BLACKHOLE" and blackhole.explanation.hop == "vpc-x-vrouter"


@pytest.mark.parametrize("name", ["multi_vpc_leased_line", "multi_vpc_border_gateway", "vpc_peering",
                                  "border_gateway_overlap"])
def test_every_reachable_pair_ends_at_its_own_destination(name):
    """explain agrees with the forwarding tables: a pair counts as reachable only if the walk ends at that host."""
    prepared = session.prepare(scenario.load(name))
    for (src, dst), pair in prepared.expected.items():
        if pair.reachable:
            assert pair.forward.hops[-1].node == dst and pair.back.hops[-1].node == src, (src, dst)
