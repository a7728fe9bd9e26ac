"""The lab as a person uses it, through tmux: a live probe on screen while a leased line is cut and repaired.

The active/standby scenario with a faster health check (3 probes every 2 s): the screen shows the probe on line 1,
the seconds without answers after `line down pc-AAA`, the health check's verdict, the outage when it ends and
the probe on line 2; `probe stop` sums it up and `exit` tears everything down.
"""

from __future__ import annotations

import sys
import time

import yaml

from emulator.runtime import cleanup
from emulator.scenario import SCENARIO_DIR
from tests.e2e.screen import Screen, loose


def test_a_live_probe_shows_the_failover_while_the_user_cuts_the_line(tmp_path, write_scenario):
    data = yaml.safe_load((SCENARIO_DIR / "redundant_leased_lines_standby.yaml").read_text())
    for check in next(s for s in data["steps"] if "health_checks" in s)["health_checks"]:
        check["hc_threshold"] = 3
    path = write_scenario(data)
    screen = Screen(f"{sys.executable} -m emulator lab {path}", str(tmp_path))
    try:
        screen.wait_for(r"cloud-lab>\s*$", 90)
        screen.type("probe start i-vpca-1 idc-server-1")
        screen.wait_for(loose(r"probe +\d+ s: +\d+/\d+ answered, RTT [\d.]+ ms; to the IDC over pc-AAA, from it over pc-AAA"),
                        15)
        screen.type("line down pc-AAA")
        screen.wait_for(r"probe +\d+ s: +0/\d+ answered", 10)
        screen.wait_for(r"health check of ri-line1-vbr: the line is\s+faulty", 15)
        outage = screen.wait_for(loose(r"an outage ended: ([\d.]+) s from [\d.]+ s,\s+(\d+) probes\s+lost"), 10)
        assert 5.5 <= float(outage[1]) <= 9.5 and int(outage[2]) > 400
        screen.wait_for(loose(r"answered, RTT [\d.]+ ms; to the IDC over pc-BBB, from it over pc-BBB"), 10)
        screen.type("line up pc-AAA")
        screen.wait_for(r"health check of ri-line1-vbr: the line is\s+healthy again", 20)
        screen.wait_for(loose(r"100/100 answered, RTT [\d.]+ ms; to the IDC over pc-AAA, from it over pc-AAA"), 10)
        screen.type("probe stop")
        summary = screen.wait_for(loose(r"stopped after \d+ s: (\d+) sent, \d+ unanswered;\s+outages: ([\d.]+) s"), 10)
        assert int(summary[1]) > 1000 and float(summary[2]) == float(outage[1])    # one outage: the cut
        screen.type("exit")
        deadline = time.monotonic() + 60
        while screen.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not screen.alive(), screen.text()[-2000:]
    finally:
        screen.close()
    assert cleanup.leftovers().empty()
