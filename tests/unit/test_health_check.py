"""Redundant leased lines: the health check's rules and verdict, active/standby routes, floating static routes on
the customer device, and the failover check's arithmetic. Pure: no network."""

from __future__ import annotations

import copy
from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from emulator import scenario
from emulator.checks.failover import (Mark, Prediction, accepted_range, expected_outage, lines_carrying, outages,
                                      parse_sniffed)
from emulator.errors import CloudError, ScenarioError
from emulator.plan import make_plan
from emulator.routing.reachability import evaluate
from emulator.routing.topology import build_network, prober_id
from emulator.runtime.health_prober import Verdict, checksum, echo_reply, echo_request
from emulator.schema import Event
from emulator.scenario import SCENARIO_DIR

IDC = IPv4Network("172.16.0.0/12")
VPC = IPv4Network("10.10.0.0/16")


@pytest.fixture
def data() -> dict:
    return yaml.safe_load((SCENARIO_DIR / "redundant_leased_lines_standby.yaml").read_text())


def _step(data: dict, key: str) -> dict:
    return next(s for s in data["steps"] if key in s)


def _hop(network, src="i-vpca-1", dst="idc-server-1") -> str:
    """The VBR the pair's packets to the IDC cross (the model's path)."""
    verdict = evaluate(network, src, dst).forward
    return next(hop.node for hop in verdict.hops if hop.node.startswith("vbr-"))


def test_active_standby_uses_the_active_line_until_its_health_check_fails():
    cloud = scenario.load("redundant_leased_lines_standby").cloud
    assert _hop(build_network(cloud)) == "vbr-line1"
    cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)
    assert not evaluate(build_network(cloud), "i-vpca-1", "idc-server-1").reachable   # not detected yet
    assert cloud.set_health_verdict(ri_id="ri-line1-vbr", healthy=False)
    network = build_network(cloud)
    assert _hop(network) == "vbr-line2" and evaluate(network, "i-vpca-1", "idc-server-1").reachable
    node = make_plan(network, "s", 1).node("vrt-12345678")
    [entry] = [e for e in node.forwarding if e.prefix == str(IDC)]
    assert entry.port_no == node.interface("ri-line2-vpc").port_no and not entry.ecmp


def test_the_standby_carries_nothing_while_the_active_line_is_healthy():
    node = make_plan(build_network(scenario.load("redundant_leased_lines_standby").cloud), "s", 1).node("vrt-12345678")
    [entry] = [e for e in node.forwarding if e.prefix == str(IDC)]
    assert entry.port_no == node.interface("ri-line1-vpc").port_no and entry.ecmp == ()


def test_an_ecmp_route_leaves_the_line_whose_health_check_failed():
    cloud = scenario.load("redundant_leased_lines").cloud
    cloud.set_health_verdict(ri_id="ri-line2-vbr", healthy=False)
    node = make_plan(build_network(cloud), "e", 1).node("vrt-12345678")
    [entry] = [e for e in node.forwarding if e.prefix == str(IDC)]
    assert entry.ecmp == () and entry.port_no == node.interface("ri-line1-vpc").port_no


def test_the_customer_device_falls_back_to_its_floating_route_when_the_line_goes():
    cloud = scenario.load("redundant_leased_lines_standby").cloud
    cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)
    network = build_network(cloud)
    forward = evaluate(network, "idc-server-1", "i-vpca-1").forward
    assert forward.reached and any(hop.node == "vbr-line2" for hop in forward.hops)
    device = make_plan(network, "s", 1).node("customer-router")
    routes = {(r.prefix, r.via, r.metric) for r in device.linux_routes}
    assert {("10.10.0.0/16", "10.100.0.1", 0), ("10.10.0.0/16", "10.100.1.1", 10)} <= routes
    assert ["10.10.0.0/16", "via", "10.100.1.1", "dev"] == next(
        r for r in device.linux_routes if r.metric == 10).argv()[:4]


def test_a_prober_node_gets_the_source_address_and_its_vbr_a_host_route_to_it():
    network = build_network(scenario.load("redundant_leased_lines").cloud)
    prober = network.nodes[prober_id("ri-line1-vbr")]
    assert prober.port("eth").address.ip == IPv4Address("10.10.255.1")
    plan = make_plan(network, "e", 1)
    vbr = plan.node("vbr-line1")
    [entry] = [e for e in vbr.forwarding if e.prefix == "10.10.255.1/32"]
    assert entry.local and entry.dst_mac == plan.node(prober_id("ri-line1-vbr")).interfaces[0].mac


@pytest.mark.parametrize("change, code", [
    ({"hc_rate": 1000}, "InvalidParameter.HcRate"),
    ({"hc_threshold": 9}, "InvalidParameter.HcThreshold"),
    ({"health_check_target_ip": "10.100.0.1"}, "InvalidHealthCheckTargetIp"),
    ({"health_check_source_ip": "192.168.0.1"}, "InvalidHealthCheckSourceIp"),
    ({"health_check_source_ip": "10.10.1.10"}, "InvalidHealthCheckSourceIp"),      # the ECS instance's address
    ({"router_interface": "ri-line1-vpc"}, "OperationUnsupported.HealthCheck"),
    ({"health_check_source_ip": "10.10.1.0"}, "InvalidHealthCheckSourceIp"),       # the vSwitch's network address
    ({"health_check_source_ip": "10.10.1.255"}, "InvalidHealthCheckSourceIp"),     # and its broadcast (issue 24)
])
def test_health_checks_are_refused_like_the_provider_does(data, write_scenario, change, code):
    _step(data, "health_checks")["health_checks"][0].update(change)
    with pytest.raises(CloudError) as caught:
        scenario.load(str(write_scenario(data)))
    assert caught.value.code == code and caught.value.where


def test_a_health_check_needs_a_connected_vbr_to_vpc_pair(data, write_scenario):
    """Issue 24: accepted before on an interface never connected (validate then warned that the connection that
    does not exist "will declare pc-AAA faulty")."""
    connecting = _step(data, "connect")
    connecting["connect"] = [c for c in connecting["connect"] if c["router_interface"] != "ri-line1-vbr"]
    with pytest.raises(CloudError) as caught:
        scenario.load(str(write_scenario(data)))
    assert caught.value.code == "OperationUnsupported.HealthCheck" and caught.value.where
    assert "never connected" in caught.value.message and "connect" in caught.value.fix


def test_the_automatic_source_block_is_accepted_and_routable_from_the_device(data, write_scenario):
    _step(data, "health_checks")["health_checks"][0]["health_check_source_ip"] = "100.96.0.7"
    routes = _step(data, "customer_routes")["customer_routes"]
    routes[2]["destination"] = "100.96.0.7/32"
    loaded = scenario.load(str(write_scenario(data)))
    assert loaded.cloud.health_checks()["ri-line1-vbr"].source_ip == IPv4Address("100.96.0.7")


def test_two_health_checks_cannot_share_a_source(data, write_scenario):
    checks = _step(data, "health_checks")["health_checks"]
    checks[1]["health_check_source_ip"] = checks[0]["health_check_source_ip"]
    with pytest.raises(CloudError, match="the health check of ri-line1-vbr"):
        scenario.load(str(write_scenario(data)))


@pytest.mark.parametrize("weights", [[100, 50], [0, 0], [100, 0, 100]])
def test_weights_are_ecmp_or_active_standby(data, write_scenario, weights):
    step = next(s for s in data["steps"] if "route_entries" in s)
    entry = next(e for e in step["route_entries"] if "next_hop_list" in e)
    hops = entry["next_hop_list"]
    if len(weights) == 3:
        hops.append({"next_hop_type": "RouterInterface", "next_hop_id": "ri-line1-vpc"})
    for hop, weight in zip(hops, weights, strict=False):
        hop["weight"] = weight
    with pytest.raises(CloudError) as caught:
        scenario.load(str(write_scenario(data)))
    assert caught.value.code in ("InvalidParameter.Weight", "InvalidParameter.NextHopList")


def test_a_second_customer_route_needs_another_metric(data, write_scenario):
    _step(data, "customer_routes")["customer_routes"][1]["metric"] = 0
    with pytest.raises(CloudError, match="metric 0"):
        scenario.load(str(write_scenario(data)))


@pytest.mark.parametrize(("index", "event", "code", "words"), [
    (0, {"at_s": 5, "action": "line_up", "id": "pc-AAA"}, "IncorrectStatus.PhysicalConnection", "already Enabled"),
    (1, {"at_s": 30, "action": "line_down", "id": "pc-AAA"}, "IncorrectStatus.PhysicalConnection", "already Down"),
    (0, {"at_s": 5, "action": "line_restore", "id": "pc-AAA"}, "IncorrectStatus.PhysicalConnection", "not failing"),
    (0, {"at_s": 5, "action": "activate", "id": "ri-line1-vbr"}, "IncorrectRIStatus", "is Active"),
])
def test_an_impossible_timeline_is_refused_before_the_run(data, write_scenario, index, event, code, words):
    """Issue 24: these passed validate and failed minutes into a run, as the event's result."""
    data["events"][index] = event
    with pytest.raises(CloudError) as caught:
        scenario.load(str(write_scenario(data)))
    assert caught.value.code == code and words in caught.value.message
    assert caught.value.message.startswith(f"{code}: events[{index}] ({event['action']} {event['id']}")
    assert caught.value.where and "in order" in caught.value.fix


def test_events_name_existing_resources_in_time_order(data, write_scenario):
    data["events"][1]["at_s"] = 6
    with pytest.raises(ScenarioError, match=r"less than 2 s after events\[0\]") as caught:
        scenario.load(str(write_scenario(data)))
    assert "at least 2 s apart" in caught.value.fix
    data["events"][1] = {"at_s": 30, "action": "deactivate", "id": "pc-AAA"}
    with pytest.raises(ScenarioError, match="no router interface"):
        scenario.load(str(write_scenario(data)))


# ----- the prober ---------------------------------------------------------------------------------------------

def test_an_echo_request_round_trips_through_the_parser():
    source, target = IPv4Address("10.10.255.1"), IPv4Address("10.100.0.2")
    frame = echo_request("02:00:00:00:00:01", "02:00:00:00:00:02", source, target, 77, 5)
    assert checksum(frame[14:34]) == 0 and checksum(frame[34:]) == 0     # both checksums are right
    reply = bytearray(frame)
    reply[26:30], reply[30:34] = target.packed, source.packed            # what the device sends back
    reply[34] = 0
    assert echo_reply(bytes(reply), source, target, 77) == 5
    assert echo_reply(bytes(reply), source, target, 78) is None         # another prober's
    assert echo_reply(frame, source, target, 77) is None                 # its own request


def test_the_verdict_needs_threshold_probes_in_a_row_both_ways():
    verdict = Verdict(threshold=3)
    assert [verdict.probe(ok) for ok in (False, False, True, False, False)] == [False] * 5
    assert verdict.healthy and verdict.probe(False) and not verdict.healthy
    assert [verdict.probe(ok) for ok in (True, True)] == [False, False] and verdict.probe(True) and verdict.healthy


# ----- the failover check's arithmetic ------------------------------------------------------------------------

def test_an_outage_runs_from_the_first_lost_probe_to_the_next_answer():
    sent = [i * 0.01 for i in range(10)]
    rtt = [1.0, 1.0, None, None, None, 1.0, 1.0, None, None, None]
    assert [(round(o.start_s, 2), round(o.end_s, 2), o.lost) for o in outages(sent, rtt)] == [(0.02, 0.05, 3),
                                                                                                (0.07, 0.09, 3)]


def test_the_lines_carrying_the_probe_are_read_each_way():
    seen = {"pc-AAA": [(10.0 + i / 100, i % 2 == 0) for i in range(40)], "pc-BBB": [(10.5, True)]}
    assert lines_carrying(seen, 10.0, 11.0, src_in_idc=False) == {"cloud_to_idc": ["pc-AAA"],
                                                                   "idc_to_cloud": ["pc-AAA"]}
    assert lines_carrying(seen, 11.0, 12.0, src_in_idc=False) == {"cloud_to_idc": [], "idc_to_cloud": []}
    text = "1796058088.123456 IP 10.10.1.10.40000 > 172.16.1.10.7100: UDP, length 12\n" \
           "1796058088.124000 IP 172.16.1.10.7100 > 10.10.1.10.40000: UDP, length 12\n"
    assert parse_sniffed(text, "10.10.1.10") == [(1796058088.123456, True), (1796058088.124, False)]


def test_the_prediction_follows_the_provider_settings_and_the_measured_path():
    cloud = scenario.load("redundant_leased_lines_standby").cloud
    down = Event(at_s=5, action="line_down", id="pc-AAA")
    cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)
    both = {"cloud_to_idc": ["pc-AAA"], "idc_to_cloud": ["pc-AAA"]}
    predicted = expected_outage(cloud, "i-vpca-1", "idc-server-1", down, both)
    towards, back = predicted["cloud_to_idc"], predicted["idc_to_cloud"]
    assert (towards.seconds, towards.slack_s) == (16.0, 2.0) and "8 unanswered" in towards.why
    assert back.seconds == 0.0 and "carrier" in back.why            # the floating static route, at once
    # The same pair named from the IDC's side: the directions are the same lines.
    assert expected_outage(cloud, "idc-server-1", "i-vpca-1", down, both, src_in_idc=True) == predicted
    # Only the IDC's side crossed the cut line (an ECMP flow hashed onto the other line).
    only_back = expected_outage(cloud, "i-vpca-1", "idc-server-1", down,
                                {"cloud_to_idc": ["pc-BBB"], "idc_to_cloud": ["pc-AAA"]})
    assert only_back["cloud_to_idc"].seconds == 0.0 and only_back["cloud_to_idc"].why.startswith("it did not")
    no_check = copy.deepcopy(cloud)
    for ri in no_check.router_interfaces.values():
        ri.health_check = None
    assert expected_outage(no_check, "i-vpca-1", "idc-server-1", down, both)["cloud_to_idc"].seconds is None
    cloud.set_physical_connection_state(pc_id="pc-AAA", up=True)
    up = Event(at_s=30, action="line_up", id="pc-AAA")
    assert set(expected_outage(cloud, "i-vpca-1", "idc-server-1", up).values()) == {
        Prediction(0.0, "the routes switch at once")}
    assert accepted_range(16.0, 2.0) == (15.5, 19.0) and accepted_range(0.0, 0.0) == (0.0, 1.0)
    assert Mark(down).cloud is None


def test_a_silent_failure_is_cut_for_a_static_device_and_bfd_timed_with_bgp():
    cloud = scenario.load("redundant_leased_lines_standby").cloud
    fail = Event(at_s=5, action="line_fail", id="pc-AAA")
    cloud.set_physical_connection_failure(pc_id="pc-AAA", failed=True)
    network = build_network(cloud)
    assert not any(pair[2] == 1000 for pair in network.nodes["pc-AAA@ap"].vlan_pairs)   # frames dropped
    assert next(link for link in network.links if link.cloud_id == "pc-AAA").active    # the carrier stays
    both = {"cloud_to_idc": ["pc-AAA"], "idc_to_cloud": ["pc-AAA"]}
    back = expected_outage(cloud, "i-vpca-1", "idc-server-1", fail, both)["idc_to_cloud"]
    assert back.seconds is None and "static route keeps using pc-AAA" in back.why
    bgp = scenario.load("redundant_leased_lines_bgp").cloud
    bgp.set_physical_connection_failure(pc_id="pc-AAA", failed=True)
    predicted = expected_outage(bgp, "i-vpca-1", "idc-server-1", fail, both)
    assert (predicted["idc_to_cloud"].seconds, predicted["idc_to_cloud"].slack_s) == (0.9, 0.3)
    assert "BFD" in predicted["idc_to_cloud"].why and predicted["cloud_to_idc"].seconds == 16.0
    with pytest.raises(CloudError, match="already failing"):
        bgp.set_physical_connection_failure(pc_id="pc-AAA", failed=True)


def test_a_health_check_whose_replies_return_over_the_other_line_is_named_before_the_run(data, write_scenario):
    from emulator.routing.health import health_check_problems

    loaded = scenario.load("redundant_leased_lines_standby")
    assert health_check_problems(loaded.cloud, build_network(loaded.cloud)) == {}
    step = _step(data, "customer_routes")
    step["customer_routes"] = [r for r in step["customer_routes"] if r["destination"] != "10.10.255.2/32"]
    broken = scenario.load(str(write_scenario(data)))
    problems = health_check_problems(broken.cloud, build_network(broken.cloud))
    assert list(problems) == ["ri-line2-vbr"]
    assert "leave the customer device over pc-AAA, not pc-BBB" in problems["ri-line2-vbr"]
    assert "route 10.10.255.2/32 on the customer device via 10.100.1.1" in problems["ri-line2-vbr"]
    bgp = scenario.load("redundant_leased_lines_bgp")
    assert health_check_problems(bgp.cloud, build_network(bgp.cloud)) == {}    # the VBRs advertise the /32s
