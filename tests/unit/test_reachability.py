from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import scenario
from emulator.cloud.resources import RIStatus
from emulator.routing.model import Node, NodeKind, Route, RouteKind, best_route
from emulator.routing.reachability import bottleneck_mbps, evaluate, expected_hops, expected_matrix, trace
from emulator.routing.topology import build_network


@pytest.fixture
def loaded():
    return scenario.load("multi_vpc_leased_line")


def test_expected_matrix_matches_the_tutorial(loaded):
    matrix = expected_matrix(build_network(loaded.cloud))
    reachable = {pair for pair, result in matrix.items() if result.reachable}
    assert reachable == {("idc-server-1", "i-vpca-1"), ("i-vpca-1", "idc-server-1"),
                         ("idc-server-1", "i-vpcb-1"), ("i-vpcb-1", "idc-server-1")}
    for expectation in loaded.expectations:
        assert matrix[(expectation.src, expectation.dst)].reachable == expectation.reachable


def test_vpcs_do_not_reach_each_other_for_want_of_a_route(loaded):
    result = evaluate(build_network(loaded.cloud), "i-vpca-1", "i-vpcb-1")
    assert result.explanation.code == "NO_ROUTE"
    assert result.explanation.hop == "vrt-12345678"
    assert "vtb-12345678" in result.explanation.message


def test_traceroute_hops_are_each_routers_ingress_address(loaded):
    hops = expected_hops(build_network(loaded.cloud), "idc-server-1", "i-vpcb-1")
    assert [str(h) for h in hops] == ["172.16.1.1", "10.100.0.1", "100.64.0.2", "192.168.1.10"]


def test_the_leased_line_is_the_bottleneck(loaded):
    network = build_network(loaded.cloud)
    assert bottleneck_mbps(trace(network, "idc-server-1", IPv4Address("192.168.1.10"))) == 100
    assert bottleneck_mbps(trace(network, "i-vpcb-1", IPv4Address("172.16.1.10"))) == 100


def test_an_inactive_router_interface_breaks_the_path(loaded):
    loaded.cloud.deactivate_router_interface(ri_id="ri-AAA")
    result = evaluate(build_network(loaded.cloud), "idc-server-1", "i-vpcb-1")
    assert not result.reachable
    assert result.explanation.code == "INTERFACE_NOT_ACTIVE"
    assert result.explanation.hop == "vbr-12345678"
    assert loaded.cloud.router_interfaces["ri-AAA"].status is RIStatus.INACTIVE


def test_a_missing_return_route_is_reported_as_such(loaded):
    table = loaded.cloud.vpcs["vpc-87654321"].route_table
    table.entries.clear()
    result = evaluate(build_network(loaded.cloud), "idc-server-1", "i-vpcb-1")
    assert result.forward.reached and not result.reachable
    assert result.explanation.code == "NO_RETURN_ROUTE"
    assert result.explanation.hop == "vrt-87654321"


def test_an_address_without_instance_is_a_blackhole(loaded):
    verdict = trace(build_network(loaded.cloud), "idc-server-1", IPv4Address("192.168.1.99"))
    assert verdict.code == "BLACKHOLE" and verdict.hop == "vrt-87654321"


def test_fixes_name_the_route_to_add_in_the_consoles_words(loaded):
    from ipaddress import IPv4Network

    loaded.cloud.delete_route_entry(router_id="vrt-87654321", destination=IPv4Network("172.16.0.0/12"))
    result = evaluate(build_network(loaded.cloud), "idc-server-1", "i-vpcb-1")
    assert result.explanation.fix == "add a route 172.16.0.0/12 -> ri-BBB to vpc-87654321's route table vtb-87654321"
    unconfigured = scenario.load("multi_vpc_leased_line", until_step=4)
    result = evaluate(build_network(unconfigured.cloud), "idc-server-1", "i-vpcb-1")
    assert result.explanation.code == "NO_ROUTE" and result.explanation.hop == "customer-router"
    assert result.explanation.fix == "add `ip route 192.168.0.0/16 10.100.0.1` on customer-router"


def test_a_leased_line_that_is_down(loaded):
    loaded.cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)
    result = evaluate(build_network(loaded.cloud), "i-vpcb-1", "idc-server-1")
    assert result.explanation.code == "INTERFACE_NOT_ACTIVE" and result.explanation.hop == "vbr-12345678"
    assert "leased line" in result.explanation.message and "pc-AAA" in result.explanation.fix


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.sampled_from([0, 100, 120])),
                max_size=12),
       st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=8))
def test_the_route_index_picks_what_best_route_picks(specs, destinations):
    """Node.best_route (an index, for large scenarios) agrees with best_route (the rule as written), ties included."""
    routes = tuple(Route(prefix=IPv4Network((address, length), strict=False), port=f"p{i}", next_hop=None,
                         kind=RouteKind.LOCAL if priority == 0 else RouteKind.CUSTOM, priority=priority)
                   for i, (address, length, priority) in enumerate(specs))
    node = Node(id="r", kind=NodeKind.CLOUD_ROUTER, role="VRouter", label="r", routes=routes)
    for destination in map(IPv4Address, destinations + [int(r.prefix.network_address) for r in routes]):
        assert node.best_route(destination) is best_route(routes, destination)
