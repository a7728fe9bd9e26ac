"""BFD: the VBR's side (controllers/bfd.py: packets and state machine), its timers' rules, the customer device's
bfdd configuration, and the VBR's flows that carry BFD to and from its speaker. Pure."""

from __future__ import annotations

import pytest
import yaml

from controllers import bfd
from controllers.flows import BFD_PORT, PRIO_BFD_FROM_SPEAKER, flows_for
from emulator import frr_config, scenario
from emulator.cloud.resources import Bfd
from emulator.errors import CloudError
from emulator.plan import make_plan
from emulator.routing import bgp as bgp_model
from emulator.routing.topology import build_network
from emulator.scenario import SCENARIO_DIR


def test_a_control_packet_round_trips():
    packet = bfd.Packet(bfd.UP, bfd.DIAG_NONE, 3, 7, 9, 300_000, 300_000, poll=True)
    data = packet.encode()
    assert len(data) == 24 and data[0] == 0x20 and data[1] == (bfd.UP << 6) | bfd.POLL
    assert bfd.Packet.decode(data) == packet
    assert bfd.Packet.decode(data[:20]) is None                                   # too short
    assert bfd.Packet.decode(bytes([0x40]) + data[1:]) is None                    # version 2
    up_without_yours = bfd.Packet(bfd.UP, 0, 3, 7, 0, 1, 1).encode()
    assert bfd.Packet.decode(up_without_yours) is None                            # RFC 5880 6.8.6


def _peer(state: int, mine: int = 42) -> bfd.Packet:
    return bfd.Packet(state, 0, 3, mine, 1, 300_000, 300_000)


def test_a_session_comes_up_in_three_way_and_times_out_after_the_detection_time():
    session = bfd.Session(1, min_tx_ms=300, min_rx_ms=300, multiplier=3, now=0.0)
    assert session.tick(0.0).state == bfd.DOWN
    session.receive(_peer(bfd.DOWN), 0.1)
    assert session.state == bfd.INIT and session.tick(0.4).state == bfd.INIT
    session.receive(_peer(bfd.UP), 0.5)
    assert session.state == bfd.UP and session.detection_s() == pytest.approx(0.9)
    session.receive(_peer(bfd.UP), 1.0)
    session.tick(1.89)
    assert session.state == bfd.UP
    session.tick(1.91)                                  # 0.9 s after the last packet
    assert session.state == bfd.DOWN and session.diag == bfd.DIAG_DETECTION_EXPIRED
    assert [state for _when, state in session.changes] == ["Init", "Up", "Down"]


def test_a_poll_is_answered_at_once_with_a_final_and_the_peer_down_is_not_a_timeout():
    session = bfd.Session(1, 300, 300, 3, 0.0)
    session.tick(0.0)
    session.receive(_peer(bfd.INIT), 0.1)
    assert session.state == bfd.UP
    session.receive(bfd.Packet(bfd.UP, 0, 3, 42, 1, 300_000, 300_000, poll=True), 0.15)
    answer = session.tick(0.16)                          # not yet time to send, but a Final is due
    assert answer is not None and answer.final and answer.your_discriminator == 42
    session.receive(_peer(bfd.DOWN), 0.2)
    assert session.state == bfd.DOWN and session.diag == bfd.DIAG_NEIGHBOR_DOWN


def test_packets_leave_at_the_agreed_rate_jittered():
    session = bfd.Session(1, 300, 300, 3, 0.0)
    session.receive(bfd.Packet(bfd.DOWN, 0, 3, 42, 0, 1_000_000, 500_000), 0.0)   # the peer: rx 500 ms
    session.tick(0.0)
    assert 0.375 <= session.next_tx <= 0.5                # max(300, 500) ms, 75-100 %


def test_detection_times_follow_rfc_5880():
    vbr, device = Bfd(300, 300, 3), Bfd(1000, 1000, 5)
    assert vbr.detection_s(device) == 5.0 and device.detection_s(vbr) == 3.0


@pytest.mark.parametrize("field, value, code", [("min_rx_interval", 100, "InvalidParameter.MinRxInterval"),
                                                ("min_tx_interval", 1001, "InvalidParameter.MinTxInterval"),
                                                ("detect_multiplier", 2, "InvalidParameter.DetectMultiplier")])
def test_the_vbr_timers_are_refused_outside_the_provider_ranges(write_scenario, field, value, code):
    data = yaml.safe_load((SCENARIO_DIR / "redundant_leased_lines_bgp.yaml").read_text())
    data["steps"][0]["vbrs"][0][field] = value
    with pytest.raises(CloudError) as caught:
        scenario.load(str(write_scenario(data)))
    assert caught.value.code == code and caught.value.where


def test_sessions_carry_both_ends_timers_and_frr_gets_a_profile_per_neighbor():
    cloud = scenario.load("redundant_leased_lines_bgp").cloud
    sessions = bgp_model.sessions(cloud)
    assert [s.bfd_detection_s() for s in sessions] == [(0.9, 0.9), (0.9, 0.9)]
    bfdd = frr_config.bfdd_conf(cloud.customer_bgp, "cecpe1", "/x/bfdd.log")
    assert "profile cloud-10-100-0-1\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3" in bfdd
    bgpd = frr_config.bgpd_conf(cloud.customer_bgp, sessions[0].customer_ip, "cecpe1", "/x/bgpd.log")
    assert " neighbor 10.100.1.1 bfd profile cloud-10-100-1-1" in bgpd and "  maximum-paths 1" in bgpd
    plain = scenario.load("multi_vpc_leased_line_bgp").cloud
    assert bgp_model.sessions(plain)[0].bfd_detection_s() is None
    assert "bfd profile" not in frr_config.bgpd_conf(plain.customer_bgp, sessions[0].customer_ip, "h", "l")


def test_the_vbr_hands_bfd_to_its_speaker_and_sends_the_speakers_out_untouched():
    plan = make_plan(build_network(scenario.load("redundant_leased_lines_bgp").cloud), "b", 1)
    vbr = plan.node("vbr-line1")
    (address, speaker_port, speaker_mac), = vbr.speakers
    flows = flows_for(vbr)
    inbound = [f for f in flows if f.match_dict().get("udp_dst") == BFD_PORT and "in_port" not in f.match_dict()]
    assert inbound and all(f.actions == (("set_field", "eth_dst", speaker_mac), ("output", speaker_port))
                           for f in inbound)
    [outbound] = [f for f in flows if f.priority == PRIO_BFD_FROM_SPEAKER]
    assert outbound.match_dict()["in_port"] == speaker_port and outbound.match_dict()["ipv4_dst"] == "10.100.0.2"
    assert ("dec_ttl",) not in outbound.actions and outbound.actions[-1] == ("output", vbr.interface("pc-AAA").port_no)


def test_a_peer_that_asks_for_faster_packets_gets_the_next_one_within_the_new_interval():
    """FRR asks for 1 s while Down and 300 ms once Up, and its detection time (3 x 300 ms) starts at our Final: a
    packet still scheduled by the slow interval would come too late and end the session."""
    session = bfd.Session(1, min_tx_ms=300, min_rx_ms=300, multiplier=3, now=0.0)
    slow = bfd.Packet(bfd.DOWN, 0, 3, 42, 0, 1_000_000, 1_000_000)
    session.receive(slow, 0.0)
    assert session.tick(0.0) is not None and session.wait_s(0.0) >= 0.75      # 1 s, jittered
    session.receive(bfd.Packet(bfd.UP, 0, 3, 42, 1, 300_000, 300_000, poll=True), 0.1)
    assert session.state == bfd.UP and session.tick(0.1).final
    assert session.wait_s(0.1) <= 0.3
    sent = [0.1] + [t / 100 for t in range(11, 100) if session.tick(t / 100) is not None]   # within detection
    assert len(sent) >= 4 and max(b - a for a, b in zip(sent, sent[1:], strict=False)) <= 0.3 + 1e-9
