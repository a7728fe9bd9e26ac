"""The terminal report's wording (emulator/report/terminal.py), pure."""

from __future__ import annotations

import os

from rich.console import Console

from emulator.report import terminal


def test_the_terminal_says_the_run_s_timings_in_words_not_json_keys():
    """Issue 25, section 4: `timings (s): build_s 1.0, ...` showed the JSON report's keys."""
    from emulator.report.terminal import timings_in_words
    text = timings_in_words({"build_s": 1.04, "ready_s": 1.1, "checks_s": 54.7, "total_s": 56.4})
    assert text == "time: network built 1.0 s, flows ready 1.1 s, checks 54.7 s, in all 56.4 s"


def _checks_at(width: int) -> list[str]:
    from emulator.checks.results import CheckResult, Explanation, PingDetail

    checks = [
        CheckResult("idc-server-1", "i-vpcb-1", True, PingDetail(True, True, 2, 2, rtt_ms={"min": 9.1, "avg": 9.9, "max": 11.0, "mdev": 0.4,
                                                                                   "sent": 10, "received": 10})),
        CheckResult("i-vpca-1", "i-vpcb-1", True, PingDetail(False, False, 0, 2, stated_expectation=False),
                    Explanation("NOT_TRANSITIVE", "vbr-12345678", "a VBR does not forward between two VPCs", "-")),
        CheckResult("idc-server-1", "i-vpca-1", False, PingDetail(True, False, 0, 5, retried=True),
                    Explanation("NO_ROUTE", "vrt-12345678", "no route to 172.16.1.10 in vtb-12345678", "-")),
    ]
    console = Console(width=width, record=True, file=open(os.devnull, "w"))
    terminal.show_checks(console, checks)
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_a_ping_check_takes_two_lines_at_80_columns_and_says_expected_once():
    lines = _checks_at(80)
    assert max(map(len, lines)) <= 80
    rows = [i for i, line in enumerate(lines) if line.startswith(" ping")]
    assert [b - a for a, b in zip(rows, rows[1:], strict=False)] == [2, 2], lines      # each of the first two pings: 2 lines
    column = next(line for line in lines if "details" in line).index("details")
    text = " ".join(" ".join(line[column:] for line in lines).split())       # the details column alone
    assert "reachable, as the route tables predict (2/2 replies, RTT 9.9 ms)" in text
    assert "unreachable, as the scenario expects: NOT_TRANSITIVE" in text
    assert "unreachable, but the route tables predict reachable" in text and "NO_ROUTE: no route to" in text
    assert "expected=" not in text and "scenario says" not in text


def test_the_checks_say_once_how_their_round_trips_were_measured():
    lines = _checks_at(80)
    note = " ".join(" ".join(lines[next(i for i, line in enumerate(lines) if line.startswith("RTT:")):]).split())
    assert note.startswith("RTT: the average of 10 echoes per pair, sent once the reachability echoes had resolved")
    assert sum(line.startswith("RTT:") for line in lines) == 1 and max(map(len, lines)) <= 80


def test_a_wrapped_step_keeps_its_indent():
    console = Console(width=50, record=True, file=open(os.devnull, "w"))
    console.print(terminal.hanging("   1.", "Leased line pc-AAA (100 Mbit/s, 2 ms one way, jitter 0.2 ms) at access "
                                         "point Beijing-Daxing-A"))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert len(lines) >= 2 and all(line.startswith("      ") for line in lines[1:]), lines
