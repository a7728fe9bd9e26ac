"""JD Cloud scenarios on real networks: border gateway with four VPCs, VPC peering, overlapping VPCs."""

import pytest

from emulator import runner, scenario, session


def _run(name):
    return runner.execute(session.prepare(scenario.load(name)))


def _reached(outcome):
    return {(c.src, c.dst) for c in outcome.checks if c.kind == "ping" and c.detail.reachable}


@pytest.fixture(scope="module")
def border_gateway():
    return _run("multi_vpc_border_gateway")


def test_border_gateway_connects_every_vpc(border_gateway):
    assert border_gateway.passed, [c.to_json() for c in border_gateway.checks if not c.passed]
    public = ["i-vm1", "i-vm2", "i-vm3", "i-vm4"]
    assert {(a, b) for a in public for b in public if a != b} <= _reached(border_gateway)


def test_a_subnet_that_is_not_propagated_stays_private(border_gateway):
    blocked = {(c.src, c.dst): c.explanation.code for c in border_gateway.checks
               if c.kind == "ping" and not c.detail.reachable}
    assert blocked[("i-vm1", "i-vm3b")] == "NO_ROUTE"
    assert blocked[("i-vm3b", "i-vm1")] == "NO_RETURN_ROUTE"
    assert ("i-vm3b", "i-vm3") in _reached(border_gateway)      # inside VPC-3 the local route carries it


def test_traceroute_crosses_the_border_gateway(border_gateway):
    [trace] = [c for c in border_gateway.checks if c.kind == "traceroute"]
    assert trace.passed
    assert trace.detail.hop_nodes == ("vpc-bj0001-vrouter", "bgw-bj0001", "vpc-bj0003-vrouter", "i-vm3")


def test_vpc_peering_is_not_transitive_on_the_wire():
    outcome = _run("vpc_peering")
    assert outcome.passed, [c.to_json() for c in outcome.checks if not c.passed]
    assert _reached(outcome) == {("i-a", "i-b"), ("i-b", "i-a"), ("i-b", "i-c"), ("i-c", "i-b")}
    a_to_c = next(c for c in outcome.checks if (c.kind, c.src, c.dst) == ("ping", "i-a", "i-c"))
    assert a_to_c.explanation.code == "NOT_TRANSITIVE"


def test_overlapping_vpcs_reach_the_third_but_not_each_other():
    outcome = _run("border_gateway_overlap")
    assert outcome.passed, [c.to_json() for c in outcome.checks if not c.passed]
    assert _reached(outcome) == {("i-x", "i-z"), ("i-z", "i-x"), ("i-y", "i-z"), ("i-z", "i-y")}
    x_to_y = next(c for c in outcome.checks if (c.kind, c.src, c.dst) == ("ping", "i-x", "i-y"))
    assert x_to_y.explanation.code == "BLACKHOLE" and "local route" in x_to_y.explanation.message


def test_a_generated_border_gateway_with_many_vpcs(tmp_path):
    from emulator import generate

    path = tmp_path / "bgw12.yaml"
    path.write_text(generate.border_gateway(12))
    outcome = runner.execute(session.prepare(scenario.load(str(path))))
    pings = [c for c in outcome.checks if c.kind == "ping"]
    assert len(pings) == 132 and all(c.detail.reachable for c in pings)
    assert outcome.passed
