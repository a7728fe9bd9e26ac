"""The lab as a person uses it, through tmux: a live probe on screen while a leased line is cut and repaired.

The active/standby scenario with a faster health check (3 probes every 2 s): the screen shows the probe on line 1,
the seconds without answers after `line down pc-AAA`, the health check's verdict, the outage when it ends and
the probe on line 2; `probe stop` sums it up and `exit` tears everything down.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import yaml

from emulator.runtime import cleanup
from emulator.scenario import SCENARIO_DIR


class Screen:
    """A tmux session running one command: type lines, read what the terminal shows."""

    def __init__(self, command: str, cwd: str) -> None:
        self.name = f"lab-{uuid.uuid4().hex[:8]}"
        self.seen = 0
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", "-c", cwd, command],
                       check=True)

    def type(self, line: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, line, "Enter"], check=True)

    def text(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p", "-J", "-S", "-5000"], capture_output=True,
                              text=True).stdout

    def wait_for(self, pattern: str, seconds: float) -> re.Match:
        """The first match of `pattern` in what appeared since the last match (so a later state is not read off
        earlier lines)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.text(), self.seen)
            if found:
                self.seen = found.end()
                return found
            time.sleep(0.5)
        raise AssertionError(f"{pattern!r} did not appear within {seconds} s; the screen:\n{self.text()[-3000:]}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        """Kill the session (the lab gets SIGHUP and tears down) and wait until nothing is left behind."""
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        deadline = time.monotonic() + 60
        while not cleanup.leftovers().empty() and time.monotonic() < deadline:
            time.sleep(0.5)


def test_a_live_probe_shows_the_failover_while_the_user_cuts_the_line(tmp_path, write_scenario):
    data = yaml.safe_load((SCENARIO_DIR / "redundant_leased_lines_standby.yaml").read_text())
    for check in next(s for s in data["steps"] if "health_checks" in s)["health_checks"]:
        check["hc_threshold"] = 3
    path = write_scenario(data)
    screen = Screen(f"{sys.executable} -m emulator lab {path}", str(tmp_path))
    try:
        screen.wait_for(r"cloud-lab>\s*$", 90)
        screen.type("probe start i-vpca-1 idc-server-1")
        screen.wait_for(r"probe +\d+ s: +\d+/\d+ answered, RTT [\d.]+ ms; to the IDC over pc-AAA, from it over pc-AAA",
                        15)
        screen.type("line down pc-AAA")
        screen.wait_for(r"probe +\d+ s: +0/\d+ answered", 10)
        screen.wait_for(r"health check of ri-line1-vbr: the line is\s+faulty", 15)
        outage = screen.wait_for(r"outage of ([\d.]+) s\s+\((\d+) probes\s+lost\)", 10)
        assert 5.5 <= float(outage[1]) <= 9.5 and int(outage[2]) > 400
        screen.wait_for(r"answered, RTT [\d.]+ ms; to the IDC over pc-BBB, from it over pc-BBB", 10)
        screen.type("line up pc-AAA")
        screen.wait_for(r"health check of ri-line1-vbr: the line is\s+healthy again", 20)
        screen.wait_for(r"100/100 answered, RTT [\d.]+ ms; to the IDC over pc-AAA, from it over pc-AAA", 10)
        screen.type("probe stop")
        summary = screen.wait_for(r"stopped after \d+ s: (\d+) sent, \d+ unanswered;\s+outages: ([\d.]+) s", 10)
        assert int(summary[1]) > 1000 and float(summary[2]) == float(outage[1])    # one outage: the cut
        screen.type("exit")
        deadline = time.monotonic() + 60
        while screen.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not screen.alive(), screen.text()[-2000:]
    finally:
        screen.close()
    assert cleanup.leftovers().empty()
