"""ECMP over two leased lines on a real network: flows spread over both, each flow on one line (tcpdump on each line).

TCP and UDP both: the VRouter's multipath action hashes addresses, protocol and ports (symmetric_l3l4+udp), so
flows between the same two hosts spread by their ports, and one 5-tuple keeps its line from socket to socket.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from emulator import runner, scenario, session
from emulator.checks import failover
from emulator.runtime import cleanup
from emulator.runtime.commands import run, spawn, terminate

FLOWS = 16              # source ports 40000..40015: a fixed set, so the hash gives the same spread every run
COUNT_WAIT_S = 10.0     # how long a flow's packets may take to be seen (see LineSniffers.seen)
DATAGRAMS = 8           # per flow, each from a new socket: a SYN (the server answers RST) or a datagram to port 9
INSTANCE_IP = "10.10.1.10"      # i-vpca-1, the sender
SERVER_IP = "172.16.1.10"       # idc-server-1
# Each socket of a flow sends one packet: a SYN (the server answers RST) or a datagram to port 9, from an
# unconnected socket: on a connected one, the ICMP port-unreachable answering the last socket's datagram (same
# 5-tuple) can arrive first and turn the next send into ECONNREFUSED, a datagram never sent (seen in the VM
# lane's guest). It prints how many it sent.
SEND = ("import socket,sys\n"
        "kind={'tcp':socket.SOCK_STREAM,'udp':socket.SOCK_DGRAM}[sys.argv[3]]\n"
        "sent=0\n"
        "for _ in range(int(sys.argv[2])):\n"
        "    s=socket.socket(socket.AF_INET,kind)\n"
        "    s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        "    s.bind(('0.0.0.0',int(sys.argv[1])))\n"
        "    s.settimeout(2)\n"
        "    try:\n"
        "        if kind==socket.SOCK_DGRAM: s.sendto(b'x',(sys.argv[4],9))\n"
        "        else: sent+=1; s.connect((sys.argv[4],9))\n"
        "        sent+=kind==socket.SOCK_DGRAM\n"
        "    except OSError: pass\n"
        "    s.close()\n"
        "print(sent)\n")


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


class LineSniffers:
    """tcpdump on each line's customer port, counting the test's own packets per line and source port.

    Only the test's packets: the lines also carry each health check's pings (every 2 s) and ARP, which a port
    counter adds to whichever line they crossed (CI once saw [8, 2])."""

    EXPRESSION = f"src host {INSTANCE_IP} and dst host {SERVER_IP} and dst port 9"

    def __init__(self, plan) -> None:
        self.lines = failover.line_ports(plan)          # physical connection -> its customer port
        self.counts: Counter[tuple[str, int]] = Counter()
        self.lock = threading.Lock()
        self.processes: list[subprocess.Popen] = []
        self.readers: list[threading.Thread] = []
        try:
            for line, interface in self.lines.items():
                process = spawn(["tcpdump", "-i", interface, "-n", "-l", "--immediate-mode",
                                 *self.EXPRESSION.split()],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
                self.processes.append(process)
                said = iter(process.stderr.readline, "")       # until tcpdump ends
                assert any("listening on" in text for text in said), f"tcpdump could not capture on {interface}"
                reader = threading.Thread(target=self._count, args=(line, process), daemon=True)
                reader.start()
                self.readers.append(reader)
        except BaseException:
            self.stop()
            raise

    def _count(self, line: str, process: subprocess.Popen) -> None:
        for text in process.stdout:
            found = re.search(rf" {re.escape(INSTANCE_IP)}\.(\d+) > ", text)
            if found:
                with self.lock:
                    self.counts[line, int(found.group(1))] += 1

    def seen(self, source_port: int, sent: int) -> dict[str, int]:
        """Each line's packets of one flow since the last look, once the `sent` packets are all seen (or
        COUNT_WAIT_S passed). The UDP sender exits as soon as its datagrams are queued: under an emulated CPU (the
        VM lane's TCG) ovs-vswitchd may still be handling the flow's first upcall then."""
        deadline = time.monotonic() + COUNT_WAIT_S
        while True:
            with self.lock:
                seen = {line: self.counts[line, source_port] for line in self.lines}
                if sum(seen.values()) >= sent or time.monotonic() > deadline:
                    for line in self.lines:
                        del self.counts[line, source_port]
                    return seen
            time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes:
            terminate(process)
        for reader in self.readers:
            reader.join(5)


@pytest.fixture
def sniffers(ecmp_live):
    prepared, _live = ecmp_live
    running = LineSniffers(prepared.plan)
    try:
        yield running
    finally:        # the tcpdumps run in the host's namespace: no sweep would find them
        running.stop()


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_flows_spread_over_both_lines_and_each_stays_on_one(ecmp_live, sniffers, protocol):
    prepared, live = ecmp_live
    instance = prepared.plan.node("i-vpca-1").name
    chosen = {}
    for source_port in range(40000, 40000 + FLOWS):
        line, seen = _one_flow(live, instance, sniffers, source_port, protocol)
        chosen[source_port] = line
    assert set(chosen.values()) == set(sniffers.lines), chosen
    # The same flow again takes the same line.
    line, seen = _one_flow(live, instance, sniffers, 40000, protocol)
    assert line == chosen[40000], (chosen[40000], seen)


def _one_flow(live, instance: str, sniffers: LineSniffers, source_port: int, protocol: str) -> tuple[str, dict]:
    """Send one flow's DATAGRAMS packets, each from a new socket; the one line that carried them all.

    All of them on one line, none on the other: a hash that changes from socket to socket fails, since 8 sockets
    all take one line in 2 flows of 256, not in 16 of 16. (A SYN sent again counts on its line too.)"""
    out = live.network.run_in(instance, [sys.executable, "-c", SEND, str(source_port), str(DATAGRAMS), protocol,
                                         SERVER_IP]).stdout
    sent = int(out.split()[-1])
    assert sent >= DATAGRAMS - 1, f"the sender could send only {sent} of {DATAGRAMS}"
    seen = sniffers.seen(source_port, sent)
    carried = [line for line, count in seen.items() if count >= sent]
    assert len(carried) == 1 and sum(seen.values()) == seen[carried[0]], (source_port, sent, seen)
    return carried[0], seen


def test_the_multipath_flow_and_one_next_hop_flow_per_line_are_installed(ecmp_live):
    prepared, _live = ecmp_live
    node = prepared.plan.node("vrt-12345678")
    flows = run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", node.name]).stdout
    assert "multipath(symmetric_l3l4+udp,0,hash_threshold,2,0,NXM_NX_REG0[0..15])" in flows, flows
    links = sorted(re.search(r"reg0=(\w+)", line).group(1) for line in flows.splitlines() if "table=100" in line)
    assert links == ["0", "0x1"], flows
