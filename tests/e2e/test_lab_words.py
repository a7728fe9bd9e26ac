"""What the lab says, read off a narrow terminal through tmux as a student sees it (issue 25): a rebuilding step
says what it adds, `ping` gives the round trip, a refusal wraps between words, a probe between two VPCs names no
leased line and a probe nobody answered does not say "outages: none", `--artifacts` decides where captures go.
"""

from __future__ import annotations

import re
import sys
from ipaddress import IPv4Network

from emulator import scenario
from emulator.cloud.resources import NextHopType
from emulator.errors import CloudError
from emulator.runtime import cleanup
from tests.e2e.screen import Screen, loose, poll

PROMPT = r"cloud-lab>\s*$"
WIDTH = 72
REFUSED = "route add vbr-12345678 192.168.0.0/16 RouterInterface ri-BBB"     # the peer's interface


def _refusal_words() -> list[str]:
    """The refusal's words, from the control plane itself, as the lab will print them."""
    cloud = scenario.load("multi_vpc_leased_line", until_step=3).cloud
    try:
        cloud.add_route_entry(router_id="vbr-12345678", destination=IPv4Network("192.168.0.0/16"),
                              next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-BBB")
    except CloudError as error:
        return error.render().split()
    raise AssertionError("the control plane accepted a route to the peer's interface")


def _last_line_becomes(screen: Screen, text: str, seconds: float = 5) -> bool:
    """The line being typed (the screen's last) reads `text` within `seconds`."""
    return poll(lambda: screen.text().rstrip().splitlines()[-1].rstrip() == text, seconds, step=0.2)


def test_the_lab_says_what_happens_in_words_that_fit_the_terminal(tmp_path):
    artifacts = tmp_path / "lab-files"
    # As a person's shell starts it: no COLUMNS in the environment, so the lab reads the terminal's own width.
    screen = Screen(f"env -u COLUMNS -u LINES {sys.executable} -m emulator lab multi_vpc_leased_line --until-step 2 "
                    f"--artifacts {artifacts}", str(tmp_path), width=WIDTH)
    try:
        screen.wait_for(PROMPT, 120)
        assert "pingall" not in screen.text() and "\n  bgp " not in screen.text(), "Mininet's or BGP's commands listed"

        # A shell of our own: did-you-mean, help with this scenario's IDs, Tab completion, history.
        screen.type("explian idc-server-1 i-vpcb-1")
        screen.wait_for(loose(r"unknown command `explian`; did you mean `explain`?"), 10)
        screen.type("help line")
        screen.wait_for(r"usage: line down\|up PC_ID", 10)
        screen.wait_for(r"for example:\s+line down pc-AAA", 10)
        # Each Tab's completion is awaited before the next keys (prompt_toolkit completes in the background,
        # and text typed meanwhile would cancel it).
        for typed, completed in (("exp", "cloud-lab> explain"), (" idc-ser", "cloud-lab> explain idc-server-1"),
                                 (" i-vpca", "cloud-lab> explain idc-server-1 i-vpca-1")):
            screen.press(typed)
            screen.press("Tab")
            assert _last_line_becomes(screen, completed), (typed, screen.text()[-300:])
        screen.press("Enter")
        screen.wait_for(r"cloud-lab> explain idc-server-1 i-vpca-1\s*\n", 10)
        screen.wait_for(r"REACHABLE|NO_ROUTE|INTERFACE_NOT_ACTIVE|[A-Z_]{6,} at ", 15)
        screen.wait_for(PROMPT, 15)
        screen.press("Up")
        assert _last_line_becomes(screen, "cloud-lab> explain idc-server-1 i-vpca-1"), "no history on Up"
        screen.press("C-u")

        screen.type("step")
        screen.wait_for(loose(r"step 3 of 5 applied; it adds router interface pairs ri-AAA/ri-BBB and "
                              r"ri-CCC/ri-DDD: rebuilding the network"), 30)
        screen.wait_for(PROMPT, 120)
        assert screen.text().count("Commands (`help COMMAND`") == 1, "the command list was printed again"

        screen.type(REFUSED)
        screen.wait_for(r"how to fix:.*\n.*cloud-lab>", 15)
        rows = screen.rows()
        start = max(i for i, row in enumerate(rows) if row.startswith("refused "))
        shown = " ".join(rows[start:start + 6]).split()
        missing = [word for word in _refusal_words() if word not in shown]
        assert not missing, ("words cut at the terminal's edge", missing, rows[start:start + 6])

        screen.type("step")                                  # the route entries: no rebuild
        screen.wait_for(loose(r"step 4 of 5 applied \(flows updated in \d+ ms\)"), 30)
        screen.type("step")                                  # the customer device's route
        screen.wait_for(r"step 5 of 5 applied", 30)
        screen.type("ping idc-server-1 i-vpcb-1")
        # Two of three at least: the first echo, right after the route came, may be late (then it is not named).
        rtt = screen.wait_for(loose(r"idc-server-1 -> i-vpcb-1: reachable, RTT ([\d.]+) ms \([23]/3 answered"
                                    r"(; the first, [\d.]+ ms, left out: it can wait for ARP)?\)"), 15)
        assert 0 < float(rtt[1]) < 100, rtt[0]

        screen.type("probe start i-vpca-1 i-vpcb-1")        # two VPCs of two accounts: unreachable, no line
        screen.wait_for(r"probe +2 s: +0/\d+ answered", 15)
        assert not re.search(r"cloud-lab> probe +\d+ s:", screen.text()), "a probe line was glued to the prompt"
        seconds = re.findall(r"^probe +\d+ s:.*$", screen.text(), re.MULTILINE)
        assert seconds and not [line for line in seconds if "over" in line], ("a probe between two VPCs named a "
                                                                             "leased line", seconds)
        screen.type("probe stop")
        screen.wait_for(loose(r"stopped after \d+ s: (\d+) sent, \1 unanswered; no probe was answered"), 15)

        screen.type("flows vrt-87654321")
        screen.wait_for(r"table +priority +match +actions +packets", 15)
        screen.wait_for(PROMPT, 15)

        screen.type("capture start pc-AAA")
        screen.wait_for(r"into\s+" + r"\s*".join(re.escape(char) for char in str(artifacts / "captures")), 15)
        screen.type("ping idc-server-1 i-vpca-1")
        screen.wait_for(r"i-vpca-1: reachable", 15)
        screen.type("capture stop")
        screen.wait_for(PROMPT, 15)
        files = list((artifacts / "captures").iterdir())
        assert files and all(path.suffix == ".pcap" for path in files), files
        assert not (tmp_path / "artifacts").exists(), "captures landed in ./artifacts despite --artifacts"
        print("\n".join(screen.rows()))      # what the student saw, in the test's output if it fails later
        # Nothing the lab printed was wider than the terminal (which would have cut it anywhere), the probe's
        # lines, printed by a background thread, included: they come above the prompt, never after it.
        too_wide = [line for line in screen.text().splitlines() if len(line.rstrip()) > WIDTH]
        assert not too_wide, too_wide
        screen.type("exit")
        screen.wait_closed(60)
    finally:
        screen.close()
    assert cleanup.leftovers().empty()
