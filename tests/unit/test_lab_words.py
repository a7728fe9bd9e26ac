"""What the lab says in words, from plain values: why a change rebuilds, a ping's round trip, a probe's summary."""

from emulator import scenario, session
from emulator.checks.live_probe import summary
from emulator.lab import Ping


def _rebuild_reasons(name: str) -> dict[int, str]:
    """Each step that changes the network's structure, and what Plan.structure_change says of it."""
    loaded = scenario.load(name, until_step=0)
    before = session.prepare(loaded).plan
    reasons = {}
    for number in range(1, loaded.steps_total + 1):
        loaded.apply_next_step()
        after = session.prepare(loaded).plan
        if after.structure() != before.structure():
            reasons[number] = after.structure_change(before)
        before = after
    return reasons


def test_a_rebuilding_step_says_what_it_adds_in_the_consoles_words():
    assert _rebuild_reasons("multi_vpc_leased_line") == {
        1: "adds access point Beijing-Daxing-A, VBR VPC-Beijing (vbr-12345678) and leased line pc-AAA",
        3: "adds router interface pairs ri-AAA/ri-BBB and ri-CCC/ri-DDD",       # a step that only connects
    }
    reasons = _rebuild_reasons("redundant_leased_lines_bgp")
    assert reasons[5] == "adds BGP speaker of vbr-line1 and BGP speaker of vbr-line2"   # no internal node IDs
    assert "@" not in " ".join(reasons.values())


def test_a_plan_that_loses_a_link_says_it_removes_it():
    loaded = scenario.load("multi_vpc_leased_line", until_step=3)
    connected = session.prepare(loaded).plan
    unconnected = session.prepare(scenario.load("multi_vpc_leased_line", until_step=2)).plan
    assert unconnected.structure_change(connected) == "removes router interface pairs ri-AAA/ri-BBB and ri-CCC/ri-DDD"


ECHOES = ("64 bytes from 192.168.1.10: icmp_seq=1 ttl=61 time=9.81 ms\n"
          "64 bytes from 192.168.1.10: icmp_seq=2 ttl=61 time=5.02 ms\n"
          "64 bytes from 192.168.1.10: icmp_seq=3 ttl=61 time=4.98 ms\n")


def test_ping_gives_the_round_trip_without_the_first_echo_that_waits_for_arp():
    ping = Ping.parse("idc-server-1", "i-vpcb-1", ECHOES)
    assert ping.reachable
    assert ping.describe() == ("idc-server-1 -> i-vpcb-1: reachable, RTT 5.0 ms (3/3 answered; the first, 9.8 ms, "
                               "left out: it can wait for ARP)")
    assert Ping.parse("a", "b", ECHOES.splitlines()[1]).describe() == "a -> b: reachable, RTT 5.0 ms (1/3 answered)"
    silent = Ping.parse("a", "b", "PING 192.168.1.10 56(84) bytes of data.\n\n3 packets transmitted, 0 received")
    assert not silent.reachable and silent.describe() == "a -> b: unreachable (0/3 answered)"


def test_a_probe_that_never_got_an_answer_does_not_say_outages_none():
    assert summary(300, 0, []) == "300 sent, 300 unanswered; no probe was answered"
    assert summary(300, 300, []) == "300 sent, 0 unanswered; outages: none"
    ended = {"duration_s": 1.5, "start_s": 2.0, "lost": 150}
    assert summary(600, 450, [ended]) == "600 sent, 150 unanswered; outages: 1.50 s from 2.0 s (150 lost)"
    ongoing = {"duration_s": 3.0, "start_s": 4.0, "lost": 300, "ongoing": True}
    assert summary(900, 450, [ended, ongoing]) == ("900 sent, 450 unanswered; outages: 1.50 s from 2.0 s (150 lost); "
                                                   "3.00 s from 4.0 s (300 lost, still going on)")
