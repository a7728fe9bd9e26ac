"""The ping matrix's logic: fping's summary lines, one process per source, a second pass only for silent pairs,
round trips from a pass of their own over the pairs that answered."""

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


def _fake_fping(calls: list[tuple[str, list[str]]], rtt_ms: float = 1.5):
    """A stand-in for fping that answers 10.2.1.10 only in the retry pass (a reply lost under load) and never
    10.9.9.9; in -C mode each echo's round trip, the second one lost."""
    def spawn(src: str, argv: list[str]) -> subprocess.Popen:
        calls.append((src, argv))
        per_echo = "-C" in argv
        count = int(argv[argv.index("-C" if per_echo else "-c") + 1])
        targets = argv[argv.index("-t") + 2:]
        lines = []
        for target in targets:
            if per_echo:
                lines.append(f"{target} : " + " ".join("-" if n == 1 else f"{rtt_ms + n / 10:.2f}"
                                                        for n in range(count)))
                continue
            received = 0 if target == "10.9.9.9" or (target == "10.2.1.10" and count == ping.FIRST_PASS.count) \
                else count
            lines.append(f"{target} : xmt/rcv/%loss = {count}/{received}/0%")
        return subprocess.Popen([sys.executable, "-c", f"import sys; sys.stderr.write({chr(10).join(lines)!r})"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return spawn


PAIRS = [("cevm1", "i-2", "10.2.1.10"), ("cevm1", "i-3", "10.3.1.10"), ("cevm2", "i-1", "10.1.1.10"),
         ("cevm2", "i-9", "10.9.9.9")]


def test_only_silent_pairs_are_retried_and_counts_add_up():
    calls: list[tuple[str, list[str]]] = []
    echoes = ping.ping_matrix(PAIRS, _fake_fping(calls))
    assert [src for src, _ in calls[:4]] == ["cevm1", "cevm2", "cevm1", "cevm2"]   # one process per source and pass
    assert calls[2][1][-1:] == ["10.2.1.10"] and calls[3][1][-1:] == ["10.9.9.9"]  # only silent pairs again
    assert (echoes[("cevm1", "i-2")].sent, echoes[("cevm1", "i-2")].received, echoes[("cevm1", "i-2")].retried) \
        == (5, 3, True)
    assert (echoes[("cevm1", "i-3")].sent, echoes[("cevm1", "i-3")].received, echoes[("cevm1", "i-3")].retried) \
        == (2, 2, False)
    assert echoes[("cevm2", "i-9")] == ping.Echoes(sent=5, received=0, retried=True)


def test_round_trips_are_measured_after_reachability_on_the_pairs_that_answered():
    """The round-trip pass comes last (every neighbour resolved by then), asks -C for each echo's time, leaves out
    the pair that never answered, and its lost echoes count against neither reachability nor the figures."""
    calls: list[tuple[str, list[str]]] = []
    echoes = ping.ping_matrix(PAIRS, _fake_fping(calls, rtt_ms=40.0))
    rtt_calls = [(src, argv) for src, argv in calls if "-C" in argv]
    assert calls[-len(rtt_calls):] == rtt_calls and len(rtt_calls) == 2            # last, one per source
    assert sorted(ip for _src, argv in rtt_calls for ip in argv[argv.index("-t") + 2:]) \
        == ["10.1.1.10", "10.2.1.10", "10.3.1.10"]
    summary = echoes[("cevm1", "i-3")].rtt.summary()
    count = ping.RTT_MOST_ECHOES
    assert summary["sent"] == count and summary["received"] == count - 1
    assert summary["min"] == 40.0 and summary["max"] == round(40.0 + (count - 1) / 10, 3)
    assert echoes[("cevm2", "i-9")].rtt is None
    assert echoes[("cevm1", "i-2")].sent == 5                                       # the RTT echoes not counted


def test_fping_per_echo_lines_are_parsed_with_their_losses():
    found = ping.parse_fping_per_echo("10.1.1.10 : 0.09 - 0.13\n10.2.1.10 : - - -\n", 3)
    assert found["10.1.1.10"].samples_ms == (0.09, 0.13) and found["10.1.1.10"].sent == 3
    assert found["10.2.1.10"].samples_ms == ()


def test_a_large_matrix_gets_fewer_round_trip_echoes_per_pair_never_below_three():
    assert ping.rtt_pass(9).count == ping.RTT_MOST_ECHOES
    assert ping.rtt_pass(4_032).count == 4
    assert ping.rtt_pass(62_250).count == ping.RTT_LEAST_ECHOES == 3


def test_a_ping_check_reports_min_avg_max_and_mdev_of_the_warm_echoes():
    from emulator.perf_model import RttSeries
    from emulator.routing.reachability import PairResult
    pair = PairResult(src="a", dst="b", reachable=True, forward=None)
    check = ping.ping_result(ping.Echoes(2, 2, rtt=RttSeries((40.0, 42.0), 10)), pair, None)
    assert check.detail.rtt_ms == {"min": 40.0, "avg": 41.0, "max": 42.0, "mdev": 1.0, "sent": 10, "received": 2}
    assert ping.ping_result(ping.Echoes(2, 0), pair, None).detail.rtt_ms is None


def test_a_huge_matrix_measures_round_trips_on_an_even_spread_of_each_sources_targets():
    small = {f"s{i}": [f"10.{j}.1.10" for j in range(60) if j != i] for i in range(60)}       # 3,540 pairs
    assert ping.rtt_sample(small) == small
    huge = {f"s{i}": [f"10.{j}.1.10" for j in range(250) if j != i] for i in range(250)}      # 62,250 pairs
    sample = ping.rtt_sample(huge)
    measured = sum(len(ips) for ips in sample.values())
    assert measured * ping.RTT_LEAST_ECHOES <= ping.RTT_BUDGET and measured >= 0.8 * ping.RTT_BUDGET / 3
    assert all(set(sample[src]) <= set(huge[src]) and sample[src][0] == huge[src][0] for src in huge)
    assert sample["s0"][-1].startswith("10.2")                                             # spread, not the first few
