"""docs/lab-guide.md walked as a student walks it, through tmux (issue 25's done-when): the lab parts of steps 3, 5
and 8 in `multi_vpc_leased_line`, and step 10 in `redundant_leased_lines_bgp`. Every command typed here is
quoted from the guide, so the guide and this test cannot drift apart.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from emulator.runtime import cleanup
from tests.e2e.screen import Screen, loose, poll

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "lab-guide.md").read_text()
GUIDE_WORDS = " ".join(GUIDE.split())          # the guide's text with its line breaks undone
PROMPT = r"cloud-lab>\s*$"


def _type(screen: Screen, command: str) -> None:
    """Type a command the guide gives (the test fails if the guide no longer says it)."""
    assert command in GUIDE_WORDS, f"the lab guide no longer says `{command}`"
    screen.type(command)


def _reachable_again(screen: Screen, tries: int = 3) -> bool:
    """`ping` again as a person would while a repaired line's carrier and the device's route come back (the
    Lab API's own test allows 2 s for it)."""
    for _ in range(tries):
        _type(screen, "ping idc-server-1 i-vpcb-1")
        if screen.wait_for(r"idc-server-1 -> i-vpcb-1: (reachable|unreachable)", 15)[1] == "reachable":
            return True
    return False


def _bgp_row_down(screen: Screen, neighbor: str, seconds: float = 10) -> bool:
    """`bgp show customer` until FRR's row for `neighbor` no longer shows an established session."""
    pattern = re.escape(neighbor) + r"\s+4\s+45104(\s+\d+){5}\s+\S+\s+(\d+|Active|Connect|Idle)\b"

    def down() -> bool:
        _type(screen, "bgp show customer")
        return screen.wait_for(pattern, 15)[2] in ("Active", "Connect", "Idle")

    return poll(down, seconds, step=1)


def _vlan_tags(pcap: Path) -> set[str]:
    out = subprocess.run(["tcpdump", "-r", str(pcap), "-e", "-nn"], capture_output=True, text=True).stdout
    return {line.split("vlan ", 1)[1].split(",")[0] for line in out.splitlines() if "vlan " in line}


def test_the_guide_s_leased_line_lab_from_the_first_step_to_the_capture(tmp_path):
    screen = Screen(f"{sys.executable} -m emulator lab multi_vpc_leased_line --until-step 0", str(tmp_path))
    try:
        # 3. Build it step by step.
        screen.wait_for(PROMPT, 120)
        _type(screen, "steps")
        screen.wait_for(r"\[next\] 1\. ", 10)
        for number in range(1, 6):
            _type(screen, "step")
            screen.wait_for(rf"step {number} of 5 applied", 120)
            screen.wait_for(PROMPT, 120)
            _type(screen, "ping idc-server-1 i-vpcb-1")
            verdict = screen.wait_for(r"idc-server-1 -> i-vpcb-1: (reachable|unreachable)", 15)[1]
            assert (verdict == "reachable") == (number == 5), (number, verdict)
            _type(screen, "explain idc-server-1 i-vpcb-1")
            screen.wait_for(r"REACHABLE|[A-Z_]{6,} at \S+:", 15)
            screen.wait_for(PROMPT, 15)
        _type(screen, "check")
        table = screen.wait_for(r"(?s)Checks\s*\n(.*?)\ncloud-lab>", 180)[1]
        assert "FAIL" not in table and table.count("PASS") >= 9, table
        _type(screen, "flows vbr-12345678")
        screen.wait_for(r"table +priority +match +actions +packets", 15)

        # 5. Break the running network, and put it back.
        for broken, repaired in (("ri deactivate ri-AAA", "ri activate ri-AAA"),
                                 ("line down pc-AAA", "line up pc-AAA"),
                                 ("route del vrt-87654321 172.16.0.0/12",
                                  "route add vrt-87654321 172.16.0.0/12 RouterInterface ri-BBB")):
            _type(screen, broken)
            screen.wait_for(r"flows updated in \d+\s+ms", 15)
            _type(screen, "ping idc-server-1 i-vpcb-1")
            screen.wait_for(r"idc-server-1 -> i-vpcb-1: unreachable", 15)
            _type(screen, "explain idc-server-1 i-vpcb-1")
            fix = screen.wait_for(r"fix: ([^\n]+)", 15)[1]
            assert fix.strip(), broken
            _type(screen, repaired)
            screen.wait_for(r"flows updated in \d+\s+ms", 15)
            assert _reachable_again(screen), (repaired, screen.text()[-1500:])
        _type(screen, "ri activate ri-AAA")              # twice: the provider refuses, and says there is nothing to do
        screen.wait_for(loose(r"refused IncorrectRIStatus: ri-AAA is Active"), 15)
        screen.wait_for(loose(r"nothing to do: ri-AAA is Active already"), 15)

        # 8. See it: capture the line, ping, stop, and find the VLAN tag on the trunk only.
        _type(screen, "capture start pc-AAA")
        screen.wait_for(r"capturing pc-AAA on 4 link ends", 15)
        screen.type("ping idc-server-1 i-vpcb-1")
        screen.wait_for(r"idc-server-1 -> i-vpcb-1: reachable", 15)
        _type(screen, "capture stop")
        screen.wait_for(r"open a capture with", 15)
        files = sorted((tmp_path / "artifacts" / "captures").glob("pc-AAA_*.pcap"))
        tags = {path.name: _vlan_tags(path) for path in files}
        trunk = [name for name in tags if "ceap1-eth2" in name or "cevbr1" in name]
        customer = [name for name in tags if "cecpe1" in name or "ceap1-eth1" in name]
        assert trunk and customer, tags
        assert all(tags[name] == {"1000"} for name in trunk), tags          # tagged between access point and VBR
        assert all(not tags[name] for name in customer), tags              # untagged on the customer's side
        _type(screen, "exit")
        screen.wait_closed(60)
    finally:
        screen.close()
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()


def test_the_guide_s_failure_nobody_sees(tmp_path):
    """10. `line fail pc-AAA`: the port stays up; BFD ends the BGP session within a second, the VPC's route waits
    for the health check (16 s)."""
    screen = Screen(f"{sys.executable} -m emulator lab redundant_leased_lines_bgp", str(tmp_path))
    try:
        screen.wait_for(PROMPT, 180)
        _type(screen, "bgp show customer")
        screen.wait_for(r"10\.100\.0\.1\s+4\s+45104", 30)
        screen.wait_for(PROMPT, 15)
        _type(screen, "probe start i-vpca-1 idc-server-1")
        screen.wait_for(loose(r"answered, RTT [\d.]+ ms; to the IDC over pc-AAA"), 20)
        _type(screen, "line fail pc-AAA")
        screen.wait_for(loose(r"leased line pc-AAA drops every frame"), 15)
        time.sleep(1)                             # a person reads the line; BFD needs 0.9 s
        assert _bgp_row_down(screen, "10.100.0.1"), "BFD did not end line 1's session"
        # The echoes need the VPC's side too, which waits for the health check (8 pings 2 s apart).
        screen.wait_for(r"probe +\d+ s: +0/\d+ answered", 10)
        screen.wait_for(loose(r"health check of ri-line1-vbr: the line is faulty"), 30)
        screen.wait_for(loose(r"answered, RTT [\d.]+ ms; to the IDC over pc-BBB, from it over pc-BBB"), 15)
        _type(screen, "probe stop")
        outage = screen.wait_for(loose(r"stopped after \d+ s: \d+ sent, \d+ unanswered; outages: ([\d.]+) s"), 15)
        assert 12 <= float(outage[1]) <= 22, outage[0]        # the health check's 16 s, give or take a ping
        _type(screen, "exit")
        screen.wait_closed(60)
    finally:
        screen.close()
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()
