"""ECMP over two leased lines on a real network: flows spread over both, each flow on one line (port counters).

TCP and UDP both: the VRouter's multipath action hashes addresses, protocol and ports (symmetric_l3l4+udp), so
flows between the same two hosts spread by their ports, and one 5-tuple keeps its line from socket to socket.
"""

from __future__ import annotations

import re
import sys
import time

import pytest

from emulator import runner, scenario, session
from emulator.runtime import cleanup
from emulator.runtime.commands import run

FLOWS = 16              # source ports 40000..40015: a fixed set, so the hash gives the same spread every run
COUNT_WAIT_S = 10.0     # how long the counters may take to show a flow's packets (see _counted)
DATAGRAMS = 8           # per flow, each from a new socket: a SYN (the server answers RST) or a datagram to port 9
SEND = ("import socket,sys\n"
        "kind={'tcp':socket.SOCK_STREAM,'udp':socket.SOCK_DGRAM}[sys.argv[3]]\n"
        "for _ in range(int(sys.argv[2])):\n"
        "    s=socket.socket(socket.AF_INET,kind)\n"
        "    s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        "    s.bind(('0.0.0.0',int(sys.argv[1])))\n"
        "    s.settimeout(2)\n"
        "    try: s.connect(('172.16.1.10',9)); s.send(b'x') if kind==socket.SOCK_DGRAM else None\n"
        "    except OSError: pass\n"
        "    s.close()\n")


def test_the_whole_run_passes_line_2_failing_and_returning(tmp_path):
    """The scenario's events too: line 2 cut and repaired, the probe's ECMP flow (on line 2) moved by the health
    check after 16 s, moved back without loss."""
    outcome = runner.execute(session.prepare(scenario.load("redundant_leased_lines")), artifacts=tmp_path)
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    assert cleanup.leftovers().empty()


@pytest.fixture(scope="module")
def ecmp_live():
    prepared = session.prepare(scenario.load("redundant_leased_lines"))
    with runner.live_network(prepared) as live:
        yield prepared, live


def _tx_packets(prepared, port_name: str) -> int:
    node = prepared.plan.node("vrt-12345678")
    port_no = node.interface(port_name).port_no
    out = run(["ovs-ofctl", "-O", "OpenFlow13", "dump-ports", node.name, str(port_no)]).stdout
    return int(re.search(r"tx pkts=(\d+)", out).group(1))


def _counted(prepared, lines: tuple[str, ...], before: list[int]) -> list[int]:
    """Each line's packets since `before`, once all the flow's DATAGRAMS are counted (or COUNT_WAIT_S passed: one
    may be lost).

    The UDP sender exits as soon as its datagrams are queued (a SYN waits for its RST): under an emulated CPU
    (the VM lane's TCG) ovs-vswitchd can still be handling the flow's first upcall when the counters are read.
    Waiting for the total hides nothing: a flow split over both lines still shows in the per-line counts."""
    deadline = time.monotonic() + COUNT_WAIT_S
    while True:
        delta = [_tx_packets(prepared, line) - was for line, was in zip(lines, before, strict=True)]
        if max(delta) >= DATAGRAMS or time.monotonic() > deadline:
            return delta
        time.sleep(0.05)


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_flows_spread_over_both_lines_and_each_stays_on_one(ecmp_live, protocol):
    prepared, live = ecmp_live
    instance = prepared.plan.node("i-vpca-1").name
    lines = ("ri-line1-vpc", "ri-line2-vpc")
    chosen = {}
    for source_port in range(40000, 40000 + FLOWS):
        before = [_tx_packets(prepared, line) for line in lines]
        live.network.run_in(instance, [sys.executable, "-c", SEND, str(source_port), str(DATAGRAMS), protocol])
        delta = _counted(prepared, lines, before)
        # One line carries the flow, the other at most one stray packet (seen on the host: [5, 1]); one datagram may
        # be lost (in the VM lane's guest one UDP datagram in about 80 was; TCP's SYN is sent again). A hash that
        # changes from socket to socket still fails: 8 sockets split 7/1 or better in 7 % of flows, not in 16 of 16.
        carried = [line for line, count in zip(lines, delta, strict=True) if count >= DATAGRAMS - 1]
        assert len(carried) == 1 and min(delta) <= 1, (source_port, delta)
        chosen[source_port] = carried[0]
    assert set(chosen.values()) == set(lines), chosen
    # The same flow again takes the same line.
    again = 40000
    before = [_tx_packets(prepared, line) for line in lines]
    live.network.run_in(instance, [sys.executable, "-c", SEND, str(again), str(DATAGRAMS), protocol])
    delta = dict(zip(lines, _counted(prepared, lines, before), strict=True))
    assert delta[chosen[again]] >= DATAGRAMS - 1, delta


def test_the_multipath_flow_and_one_next_hop_flow_per_line_are_installed(ecmp_live):
    prepared, _live = ecmp_live
    node = prepared.plan.node("vrt-12345678")
    flows = run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", node.name]).stdout
    assert "multipath(symmetric_l3l4+udp,0,hash_threshold,2,0,NXM_NX_REG0[0..15])" in flows, flows
    links = sorted(re.search(r"reg0=(\w+)", line).group(1) for line in flows.splitlines() if "table=100" in line)
    assert links == ["0", "0x1"], flows
