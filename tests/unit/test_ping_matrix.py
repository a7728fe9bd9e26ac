"""The ping matrix's logic: fping's summary lines, one process per source, a second pass only for silent pairs."""

import subprocess
import sys

from emulator.checks import ping

FPING_STDERR = """10.1.1.10 : xmt/rcv/%loss = 2/2/0%, min/avg/max = 0.09/0.11/0.13
10.2.1.10 : xmt/rcv/%loss = 2/0/100%
10.3.1.10 : xmt/rcv/%loss = 2/1/50%, min/avg/max = 0.10/0.10/0.10
"""


def test_parse_fping_summary_lines():
    assert ping.parse_fping(FPING_STDERR) == {"10.1.1.10": (2, 2), "10.2.1.10": (2, 0), "10.3.1.10": (2, 1)}


def test_fping_argv_counts_and_targets():
    argv = ping.fping_argv(["10.1.1.10", "10.2.1.10"], ping.FIRST_PASS)
    assert argv[:3] == ["fping", "-4", "-q"] and argv[-2:] == ["10.1.1.10", "10.2.1.10"]
    assert argv[argv.index("-c") + 1] == str(ping.FIRST_PASS.count)


def test_only_silent_pairs_are_retried_and_counts_add_up():
    """A stand-in for fping that answers 10.2.1.10 only in the second pass (a reply lost under load)."""
    calls: list[tuple[str, list[str]]] = []

    def spawn(src: str, argv: list[str]) -> subprocess.Popen:
        calls.append((src, argv))
        count = int(argv[argv.index("-c") + 1])
        targets = argv[argv.index("-t") + 2:]
        lines = []
        for target in targets:
            received = 0 if target == "10.9.9.9" or (target == "10.2.1.10" and count == ping.FIRST_PASS.count) \
                else count
            lines.append(f"{target} : xmt/rcv/%loss = {count}/{received}/0%")
        return subprocess.Popen([sys.executable, "-c", f"import sys; sys.stderr.write({chr(10).join(lines)!r})"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    pairs = [("cevm1", "i-2", "10.2.1.10"), ("cevm1", "i-3", "10.3.1.10"), ("cevm2", "i-1", "10.1.1.10"),
             ("cevm2", "i-9", "10.9.9.9")]
    echoes = ping.ping_matrix(pairs, spawn)
    assert [src for src, _ in calls] == ["cevm1", "cevm2", "cevm1", "cevm2"]   # one process per source and pass
    assert calls[2][1][-1:] == ["10.2.1.10"] and calls[3][1][-1:] == ["10.9.9.9"]  # only silent pairs again
    assert echoes[("cevm1", "i-2")] == ping.Echoes(sent=5, received=3, retried=True)
    assert echoes[("cevm1", "i-3")] == ping.Echoes(sent=2, received=2)
    assert echoes[("cevm2", "i-9")] == ping.Echoes(sent=5, received=0, retried=True)


def test_round_trips_come_from_the_summary_lines_and_passes_combine():
    assert ping.parse_fping_rtt(FPING_STDERR) == {"10.1.1.10": (2, 0.09, 0.11, 0.13),
                                                  "10.3.1.10": (1, 0.10, 0.10, 0.10)}
    assert ping.combine_rtt(None, None) is None
    assert ping.combine_rtt((2, 1.0, 2.0, 3.0), None) == (1.0, 2.0, 3.0)
    low, avg, high = ping.combine_rtt((1, 1.0, 1.0, 1.0), (3, 2.0, 3.0, 5.0))
    assert (low, round(avg, 3), high) == (1.0, 2.5, 5.0)
