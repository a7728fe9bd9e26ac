"""The whole scenario on real Mininet, Open vSwitch and os-ken: ping matrix, traceroute, throughput."""

import pytest

from emulator import runner, scenario, session
from emulator.runtime import cleanup


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
