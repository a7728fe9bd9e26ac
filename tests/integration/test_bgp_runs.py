"""Whole BGP runs (`run`): the packets on the wire, the 110-prefix limit, and the broken-on-purpose variants.

Separate from test_bgp.py, whose network lives for its whole module: one emulated network at a time.
"""

from __future__ import annotations

import pytest

from emulator import runner, scenario, session
from emulator.runtime import cleanup


def test_the_session_crosses_vlan_1000_and_terminates_at_the_vbrs_address(tmp_path):
    from scapy.all import TCP, Dot1Q, IP, rdpcap

    prepared = session.prepare(scenario.load("multi_vpc_leased_line_bgp"))
    outcome = runner.execute(prepared, artifacts=tmp_path, capture=["pc-AAA"])
    assert outcome.passed
    trunk_end = next(c for c in outcome.captures if c.end.node_id == "vbr-12345678")
    bgp = [frame for frame in rdpcap(str(trunk_end.path))
           if TCP in frame and 179 in (frame[TCP].sport, frame[TCP].dport)]
    assert bgp, "no BGP segment on the trunk"
    assert all(Dot1Q in frame and frame[Dot1Q].vlan == 1000 for frame in bgp)
    assert {frame[IP].src for frame in bgp} | {frame[IP].dst for frame in bgp} == {"10.100.0.1", "10.100.0.2"}
    assert cleanup.leftovers().empty()


def test_jd_clouds_session_crosses_vlan_200_to_the_border_gateway_and_the_run_passes(tmp_path):
    from scapy.all import TCP, Dot1Q, IP, rdpcap

    prepared = session.prepare(scenario.load("multi_vpc_border_gateway_bgp"))
    outcome = runner.execute(prepared, artifacts=tmp_path, capture=["dc-bj0001"])
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    [check] = [c for c in outcome.checks if c.kind.value == "bgp"]
    assert (check.dst, check.detail.peer, check.detail.installed_prefixes) == ("bgw-bj0001", "pvi-bj0001",
                                                                               ("192.168.0.0/16",))
    trunk_end = next(c for c in outcome.captures if c.end.node_id == "bgw-bj0001")
    bgp = [frame for frame in rdpcap(str(trunk_end.path))
           if TCP in frame and 179 in (frame[TCP].sport, frame[TCP].dport)]
    assert bgp, "no BGP segment on the trunk"
    assert all(Dot1Q in frame and frame[Dot1Q].vlan == 200 for frame in bgp)
    assert {frame[IP].src for frame in bgp} | {frame[IP].dst for frame in bgp} == {"10.255.0.1", "10.255.0.2"}
    assert cleanup.leftovers().empty()


def test_a_static_private_virtual_interface_forwards_by_the_gateways_static_route(write_scenario):
    import yaml

    data = yaml.safe_load((scenario.SCENARIO_DIR / "multi_vpc_border_gateway_bgp.yaml").read_text())
    step = next(s for s in data["steps"] if s["title"].startswith("Create the private virtual interface"))
    step["private_virtual_interfaces"][0].update(route_type="static")
    del step["private_virtual_interfaces"][0]["customer_asn"]
    step["route_entries"] = [{"router_id": "bgw-bj0001", "destination_cidr": "192.168.0.0/16",
                              "next_hop_type": "PrivateVirtualInterface", "next_hop_id": "pvi-bj0001"}]
    customer = next(s for s in data["steps"] if s["title"].startswith("Configure BGP"))
    del customer["customer_bgp"]
    customer["customer_routes"] = [{"destination": "10.0.0.0/8", "next_hop": "10.255.0.2"}]
    outcome = runner.execute(session.prepare(scenario.load(str(write_scenario(data)))))
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    assert not [c for c in outcome.checks if c.kind.value == "bgp"]
    assert any(c.src == "idc-server-1" and c.dst == "i-vm3" and c.passed for c in outcome.checks)


def test_a_111th_prefix_is_discarded_and_the_run_says_so():
    prepared = session.prepare(scenario.load("bgp_route_limit"))
    outcome = runner.execute(prepared)
    assert outcome.passed
    [check] = [c for c in outcome.checks if c.kind.value == "bgp"]
    assert len(check.detail.received_prefixes["cloud"]) == 111
    assert len(check.detail.installed_prefixes) == 110 and check.detail.discarded_prefixes == 1
    assert any("discarded 1 of the 111 prefixes" in note and "172.17.109.0/24" in note for note in outcome.notes)


@pytest.mark.parametrize(("name", "frr_says"), [("bgp_wrong_peer_asn", "Bad Peer AS"), ("bgp_md5_mismatch", "")])
def test_broken_sessions_never_come_up_and_say_why(name, frr_says):
    prepared = session.prepare(scenario.load(name))
    outcome = runner.execute(prepared)
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    [check] = [c for c in outcome.checks if c.kind.value == "bgp"]
    assert check.detail.session_state["customer"] != "Established"
    assert check.detail.received_prefixes == {"customer": [], "cloud": []}
    assert check.detail.reason and frr_says in check.detail.last_notification
