"""Ctrl-C in the lab stops the command in progress, never the network (issue 25), typed through tmux as a person
would: at the idle prompt, during `check`, while a probe runs; and a delay line killed anyway comes back.

On a kernel without sch_netem the leased line's delay is a userspace delay line: had the terminal's SIGINT reached
it, the IDC would be cut off for the rest of the lab while `explain` still said REACHABLE, and `line set` would
change nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from emulator import scenario, session
from emulator.runtime import cleanup
from emulator.runtime.impairment import delay_line_name
from tests.e2e.screen import Screen, poll

PROMPT = r"cloud-lab>"
CHECKS = r"(?s)Checks\s*\n(.*?)\ncloud-lab>"      # the table `check` prints, up to the next prompt
IPERF_WORKER = "emulator.checks.iperf_worker"


def _pids(pattern: str) -> list[str]:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()


def _iperf_workers() -> list[str]:
    return _pids(IPERF_WORKER)


def test_ctrl_c_interrupts_the_command_and_leaves_the_network_running(tmp_path):
    plan = session.prepare(scenario.load("multi_vpc_leased_line")).plan
    idc_server = plan.node("idc-server-1").name            # the Mininet node, for a ping that shows its RTT
    screen = Screen(f"{sys.executable} -m emulator lab multi_vpc_leased_line", str(tmp_path))
    try:
        screen.wait_for(PROMPT + r"\s*$", 120)

        # At the idle prompt: the delay lines (and every other helper) must not hear it.
        screen.press("C-c")
        screen.wait_for(PROMPT, 10)
        screen.type("ping idc-server-1 i-vpcb-1")
        screen.wait_for(r"idc-server-1 -> i-vpcb-1: (un)?reachable", 15)
        assert "idc-server-1 -> i-vpcb-1: reachable" in screen.text(), screen.text()[-2000:]
        screen.type("line set pc-AAA latency 3")
        screen.wait_for(r"leased line pc-AAA: 3 ms one way", 15)
        screen.type(f"{idc_server} ping -n -c 10 -i 0.2 10.10.1.10")        # i-vpca-1: over pc-AAA alone
        rtt = screen.wait_for(r"rtt min/avg/max/mdev = ([\d.]+)/", 20)
        assert float(rtt[1]) >= 2 * (3 - 0.2), "the new latency (3 ms one way, jitter 0.2 ms) did not take effect"
        screen.type("line set pc-AAA latency 2")      # the shipped value, for the checks' throughput
        screen.wait_for(r"leased line pc-AAA: 2 ms one way", 15)

        # During `check`: it stops, with its iperf3 client and server; the next `check` passes.
        screen.type("check")
        assert poll(lambda: _iperf_workers(), 90), "the check never started iperf3"
        screen.press("C-c")
        screen.wait_for(r"`check` interrupted; the network keeps running", 10)
        assert poll(lambda: not _iperf_workers(), 5), f"iperf3 left running: {_iperf_workers()}"
        screen.type("check")
        table = screen.wait_for(CHECKS, 120)[1]
        assert "FAIL" not in table and table.count("PASS") >= 9, table

        # While a probe runs (in the background): Ctrl-C at the prompt leaves it running; `probe stop` sums up.
        screen.type("probe start idc-server-1 i-vpcb-1")
        screen.wait_for(r"probe +\d+ s: +[1-9]\d*/\d+ answered", 15)
        screen.press("C-c")
        screen.wait_for(r"Ctrl-C; the network keeps running", 10)
        screen.wait_for(r"probe +\d+ s: +[1-9]\d*/\d+ answered", 5)
        screen.wait_for(r"probe +\d+ s: +[1-9]\d*/\d+ answered", 5)
        screen.type("probe stop")
        summary = screen.wait_for(r"stopped after \d+ s:\s+(\d+)\s+sent,\s+(\d+)\s+unanswered", 10)
        assert int(summary[1]) > 200 and int(summary[2]) <= int(summary[1]) // 20, summary[0]

        # A helper that dies anyway (here: killed) is noticed, started again with its settings, and said. Rich
        # wraps lines at the COLUMNS pytest passes on (80): patterns allow any white space between words.
        line = _pids(f"emulator.runtime.delay_line --a {delay_line_name(1)}-eth1 ")
        assert len(line) == 1, line
        os.kill(int(line[0]), signal.SIGKILL)
        screen.wait_for(r"the delay line of pc-AAA died \(killed by SIGKILL\);\s+restarted with its\s+current settings",
                        10)
        screen.type("ping idc-server-1 i-vpcb-1")
        screen.wait_for(r"idc-server-1 -> i-vpcb-1: reachable", 15)

        # Ctrl-C while a change is being made: the model and the network still agree afterwards (it waits until
        # the change is whole, and says so); before, an interrupt between the two left explain answering for a
        # network that did not exist.
        screen.type("line set pc-AAA latency 6")
        time.sleep(0.1)         # past the prompt (a Ctrl-C typed with the line reaches the next prompt instead)
        screen.press("C-c")
        screen.wait_for(r"cloud-lab> line set pc-AAA latency 6", 5)
        said = screen.wait_for(r"leased line pc-AAA: 6 ms\s+one\s+way[^\n]*|`line` interrupted", 15)[0]
        changed = said.startswith("leased line")
        screen.wait_for(PROMPT + r"\s*$", 15)
        screen.type(f"{idc_server} ping -n -c 10 -i 0.2 10.10.1.10")
        rtt = float(screen.wait_for(r"rtt min/avg/max/mdev = [\d.]+/([\d.]+)/", 20)[1])
        assert (rtt >= 2 * (6 - 0.2)) == changed, (changed, rtt, screen.text()[-1500:])

        screen.type("exit")
        screen.wait_closed(60)
    finally:
        screen.close()
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()
