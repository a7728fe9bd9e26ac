"""The whole scenario on real Mininet, Open vSwitch and os-ken: ping matrix, traceroute, throughput."""

import pytest
import yaml

from emulator import runner, scenario, session
from emulator.runtime import cleanup
from tests.conftest import REFERENCE


@pytest.fixture(scope="module")
def outcome():
    return runner.execute(session.prepare(scenario.load("multi_vpc_leased_line")))


def _checks(outcome, kind):
    return [check for check in outcome.checks if check.kind == kind]


def test_every_check_passes(outcome):
    failed = [check.to_json() for check in outcome.checks if not check.passed]
    assert outcome.passed, failed


def test_ping_matrix_matches_the_tutorial(outcome):
    reached = {(c.src, c.dst) for c in _checks(outcome, "ping") if c.detail.reachable}
    assert reached == {("idc-server-1", "i-vpca-1"), ("i-vpca-1", "idc-server-1"),
                       ("idc-server-1", "i-vpcb-1"), ("i-vpcb-1", "idc-server-1")}
    blocked = [c for c in _checks(outcome, "ping") if not c.detail.reachable]
    assert {c.explanation.code for c in blocked} == {"NO_ROUTE"}
    assert len(_checks(outcome, "ping")) == 6


def test_traceroute_shows_each_router_on_the_path(outcome):
    [trace] = _checks(outcome, "traceroute")
    # customer device, VBR (leased line side), VPC-B's VRouter (router interface side), the instance
    assert trace.detail.hops == ("172.16.1.1", "10.100.0.1", "100.64.0.2", "192.168.1.10")


def test_throughput_both_ways_is_shaped_to_the_leased_line(outcome):
    tests = _checks(outcome, "throughput")
    assert {(t.src, t.dst) for t in tests} == {("idc-server-1", "i-vpcb-1"), ("i-vpcb-1", "idc-server-1")}
    for test in tests:
        assert test.detail.configured_mbps == 100
        assert 70 <= test.detail.measured_mbps <= 110, test.detail


def test_the_run_cleaned_up_after_itself(outcome):
    assert cleanup.leftovers().empty()
    assert outcome.timings["ready_s"] < outcome.timings["total_s"]


def test_vpc_to_vpc_through_the_vbr_is_dropped_on_the_wire(tmp_path):
    """Routes on every hop between VPC-A and VPC-B through the VBR: Express Connect is not transitive, so the
    VBR's flows drop what its table would forward, and the pings agree with explain (NOT_TRANSITIVE)."""
    data = yaml.safe_load(REFERENCE.read_text())
    data["steps"][-1].setdefault("route_entries", []).extend([
        {"router_id": "vrt-12345678", "destination_cidr": "192.168.0.0/16", "next_hop_type": "RouterInterface",
         "next_hop_id": "ri-DDD"},
        {"router_id": "vrt-87654321", "destination_cidr": "10.10.0.0/16", "next_hop_type": "RouterInterface",
         "next_hop_id": "ri-BBB"}])
    data["checks"] = {"traceroute": [], "throughput": []}
    path = tmp_path / "transitive.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    outcome = runner.execute(session.prepare(scenario.load(str(path))))
    assert outcome.passed, [c.to_json() for c in outcome.checks if not c.passed]
    between = [c for c in _checks(outcome, "ping") if {c.src, c.dst} == {"i-vpca-1", "i-vpcb-1"}]
    assert len(between) == 2 and not any(c.detail.reachable for c in between)
    assert {c.explanation.code for c in between} == {"NOT_TRANSITIVE"}
    assert all(c.detail.sent == 5 for c in between)      # retried before it counted as unreachable
