"""Packet capture as a user asks for it (run --capture LINK): real pcaps, read back with scapy."""

import pytest

from emulator import runner, scenario, session
from emulator.errors import ScenarioError
from emulator.runtime import cleanup


def test_capture_of_the_leased_line_shows_vlan_1000_on_the_trunk_only(tmp_path):
    """run --capture pc-AAA: one pcap per link end; the trunk's frames carry 802.1Q VLAN 1000, the customer's not."""
    from scapy.all import ICMP, Dot1Q, rdpcap

    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    outcome = runner.execute(prepared, artifacts=tmp_path, capture=["pc-AAA"])
    assert outcome.passed
    ends = {(c.end.node_id, c.end.interface): c for c in outcome.captures}
    assert len(ends) == 4 and all(c.packets for c in outcome.captures), outcome.captures
    trunk_end = next(c for c in outcome.captures if c.end.node_id == "vbr-12345678")
    customer_end = next(c for c in outcome.captures if c.end.node_id == "customer-router")
    trunk = [frame for frame in rdpcap(str(trunk_end.path)) if ICMP in frame]
    customer = [frame for frame in rdpcap(str(customer_end.path)) if ICMP in frame]
    assert trunk and all(Dot1Q in frame and frame[Dot1Q].vlan == 1000 for frame in trunk)
    assert customer and not any(Dot1Q in frame for frame in customer)
    assert all(c.path.parent == tmp_path / "captures" for c in outcome.captures)
    assert cleanup.leftovers().empty()


def test_an_unknown_link_is_refused_before_anything_is_built():
    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    with pytest.raises(ScenarioError) as caught:
        runner.execute(prepared, capture=["pc-AAB"])
    assert "did you mean pc-AAA" in caught.value.fix
    assert cleanup.leftovers().empty()
