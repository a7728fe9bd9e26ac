from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import scenario
from emulator.errors import CloudError
from emulator.cloud.resources import NextHopType, RIStatus
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


# ----- explain's fixes lead somewhere (issue 25, section 3) -------------------------------------------------------

def test_a_leased_line_that_is_down_is_named_as_the_cause_both_ways():
    """The device's static route names the VBR's address: the fix was "activate 10.100.0.1 (and its peer)"."""
    cloud = scenario.load("multi_vpc_leased_line").cloud
    cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)
    network = build_network(cloud)
    for src, dst in (("idc-server-1", "i-vpca-1"), ("i-vpca-1", "idc-server-1")):
        why = evaluate(network, src, dst).explanation
        assert why.code == "INTERFACE_NOT_ACTIVE" and "leased line pc-AAA, which is down" in why.message, why
        assert why.fix == "bring pc-AAA back up (lab: line up pc-AAA)"


@pytest.mark.parametrize("until", [0, 1, 2, 3])
def test_before_the_line_is_built_the_fix_is_the_tutorials_next_steps_not_a_peering(until):
    network = build_network(scenario.load("multi_vpc_leased_line", until_step=until).cloud)
    for src, dst in (("idc-server-1", "i-vpcb-1"), ("i-vpcb-1", "idc-server-1")):
        fix = evaluate(network, src, dst).explanation.fix
        assert "over the leased line" in fix and "router interface pair" in fix and "peering" not in fix, fix


def test_vpc_to_vpc_over_the_vbr_is_offered_peering_not_a_route_that_ends_in_not_transitive():
    """The fix was "add a route 192.168.0.0/16 -> ri-DDD"; applied, explain answered NOT_TRANSITIVE."""
    cloud = scenario.load("multi_vpc_leased_line").cloud
    why = evaluate(build_network(cloud), "i-vpca-1", "i-vpcb-1").explanation
    assert "VPC peering or CEN" in why.fix and "ri-" not in why.fix, why.fix
    # The route it no longer suggests, applied: the next reason is the one the new fix answers.
    cloud.add_route_entry(router_id="vrt-12345678", destination=IPv4Network("192.168.0.0/16"),
                          next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-DDD")
    assert evaluate(build_network(cloud), "i-vpca-1", "i-vpcb-1").explanation.code == "NOT_TRANSITIVE"


def test_activating_an_active_pair_or_deactivating_an_inactive_one_says_there_is_nothing_to_do():
    from emulator.errors import CloudError
    cloud = scenario.load("multi_vpc_leased_line").cloud
    with pytest.raises(CloudError) as active:
        cloud.activate_router_interface(ri_id="ri-AAA")
    assert active.value.fix == "nothing to do: ri-AAA is Active already"
    cloud.deactivate_router_interface(ri_id="ri-AAA")
    with pytest.raises(CloudError) as inactive:
        cloud.deactivate_router_interface(ri_id="ri-AAA")
    assert inactive.value.fix.startswith("nothing to do: ri-AAA is Inactive already")


def _apply_fix(cloud, fix: str) -> bool:
    """Apply a fix to the model as a student would: a route entry to add, the customer device's `ip route`, or
    the lab command a fix names (`lab: ri activate ri-AAA`, `lab: line up pc-AAA`). False for a fix of
    another kind (a BGP setting, renumbering, a peering to create)."""
    import re
    from ipaddress import IPv4Address
    found = re.fullmatch(r"add a route (\S+) -> (\S+) to (\S+)'s route table \S+", fix)
    if found:
        prefix, port, owner = found.groups()
        router = cloud.vpcs[owner].vrouter_id if owner in cloud.vpcs else owner
        kinds = [(cloud.router_interfaces, NextHopType.ROUTER_INTERFACE),
                 (cloud.border_gateways, NextHopType.BORDER_GATEWAY), (cloud.peerings, NextHopType.VPC_PEERING),
                 (cloud.physical_connections, NextHopType.PHYSICAL_CONNECTION)]
        kind = next(kind for known, kind in kinds if port in known)
        cloud.add_route_entry(router_id=router, destination=IPv4Network(prefix), next_hop_type=kind, next_hop_id=port)
        return True
    found = re.fullmatch(r"add `ip route (\S+) (\S+)` on (\S+)", fix)
    if found:
        prefix, gateway, device = found.groups()
        idc = next(idc for idc in cloud.idcs.values() if idc.device_id == device)
        cloud.add_idc_static_route(idc_id=idc.id, destination=IPv4Network(prefix), next_hop=IPv4Address(gateway))
        return True
    found = re.search(r"lab: (ri activate|line up|line restore) ([^\s)]+)", fix)
    if found:
        verb, target = found.groups()
        if verb == "ri activate":
            cloud.activate_router_interface(ri_id=target)
        elif verb == "line up":
            cloud.set_physical_connection_state(pc_id=target, up=True)
        else:
            cloud.set_physical_connection_failure(pc_id=target, failed=False)
        return True
    return False


def _states(name: str):
    """Each step of a shipped scenario, and the whole scenario with each router interface deactivated, each
    line down and each line silently failed (what a lab student does to it)."""
    import copy
    total = scenario.load(name).steps_total
    for until in range(total + 1):
        yield f"step {until}", scenario.load(name, until_step=until).cloud
    whole = scenario.load(name).cloud
    changes = [(f"ri deactivate {ri}", lambda cloud, ri=ri: cloud.deactivate_router_interface(ri_id=ri))
               for ri in whole.router_interfaces]
    changes += [(f"line down {pc}", lambda cloud, pc=pc: cloud.set_physical_connection_state(pc_id=pc, up=False))
                for pc in whole.physical_connections]
    changes += [(f"line fail {pc}", lambda cloud, pc=pc: cloud.set_physical_connection_failure(pc_id=pc, failed=True))
                for pc in whole.physical_connections]
    for label, change in changes:
        cloud = copy.deepcopy(whole)
        try:
            change(cloud)
        except CloudError:          # refused (an accepting side, say): not a state a student reaches that way
            continue
        yield label, cloud


@pytest.mark.parametrize("name", scenario.available_scenarios())
def test_every_fix_explain_offers_leads_somewhere(name):
    """Each unreachable pair of each shipped scenario, at each step and after each lab change: a fix the model
    can apply (a route entry, the device's ip route, the lab command it names), applied, makes the pair reachable
    or moves it to another reason (never the same one again, never NOT_TRANSITIVE)."""
    import copy
    applied_any = 0
    for label, state in _states(name):
        for (src, dst), pair in expected_matrix(build_network(state)).items():
            if pair.reachable or pair.explanation is None:
                continue
            cloud = copy.deepcopy(state)
            try:
                applied = _apply_fix(cloud, pair.explanation.fix)
            except Exception as refused:   # noqa: BLE001  the provider refusing the fix is a wrong fix too
                pytest.fail(f"{name} {label} {src}->{dst}: the fix {pair.explanation.fix!r} is refused: {refused}")
            if not applied:
                continue
            applied_any += 1
            after = evaluate(build_network(cloud), src, dst)
            before = (pair.explanation.code, pair.explanation.hop, pair.explanation.fix)
            assert after.reachable or (after.explanation.code, after.explanation.hop, after.explanation.fix) != before, \
                (name, label, src, dst, pair.explanation.fix, after.explanation)
            assert after.reachable or after.explanation.code != "NOT_TRANSITIVE", \
                (name, label, src, dst, pair.explanation.fix, after.explanation)
    assert applied_any, f"{name}: no fix was applied at all (the test would hold nothing)"


def test_expectations_are_derived_when_asked_for_and_equal_the_whole_matrix():
    """A lab action prepares the network anew; only the checks read every pair (issue 20: 6-8 s at 250 VPCs)."""
    from emulator import session

    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    assert prepared.expected.derived() == 0
    pair = prepared.expected[("idc-server-1", "i-vpcb-1")]
    assert pair.reachable and prepared.expected.derived() == 1
    assert prepared.expected[("idc-server-1", "i-vpcb-1")] is pair                  # derived once, then kept
    whole = expected_matrix(prepared.network)
    assert len(prepared.expected) == len(whole) and dict(prepared.expected) == whole
    assert prepared.expected.get(("idc-server-1", "idc-server-1")) is None
    assert prepared.expected.get(("idc-server-1", "nobody")) is None and "idc-server-1" not in prepared.expected
    assert ("i-vpca-1", "i-vpcb-1") in prepared.expected and prepared.expected.derived() == len(whole)
