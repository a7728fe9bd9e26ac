"""`perf`'s terminal table at the widths people have (issue 25): no number cut, the reasons under the table."""

import re

import pytest
from rich.console import Console

from emulator.perf_model import Counters, PerfReport, PerfResult, RttSeries, method_tests
from emulator.report import perf_report


def _report() -> PerfReport:
    """The figures of docs/perf.md's run, the large ones made larger: 1,767.5 Mbit/s unshaped is what cut."""
    report = PerfReport("multi_vpc_leased_line", "idc-server-1", "i-vpcb-1", 100, 3)
    for test in method_tests(100, 4):
        small = test.payload_bytes == 16
        udp = test.protocol == "udp"
        report.results.append(PerfResult(
            test, 3.6 if small else 95.8 if udp else 92.4, 28_646 if small else 8_667,
            jitter_ms=0.034 if udp else None, loss_percent=44.39 if small else 0.0 if udp else None,
            receiver_counters=Counters(37_687_500, 25_000, 3.0), unshaped_mbps=3.6 if small else 1_767.5))
    report.rtt = RttSeries((33.4, 34.0, 34.8), 3)
    return report


def _shown(width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    perf_report.show(console, _report())
    return console.export_text()


@pytest.mark.parametrize("width", [80, 100])
def test_at_80_and_100_columns_every_number_is_whole_and_the_reasons_come_under_the_table(width):
    text = _shown(width)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    assert "…" not in text
    for number in ("1,767.5", "28,646", "8,667", "44.39", "0.034", "95.6", "27.6", "100.5"):
        assert re.search(rf"(?<![\d,.]){re.escape(number)}(?![\d,.])", text), (number, text)
    rows = [line for line in text.splitlines() if line.startswith(" UDP 16 B forward")]
    assert any("host-limited (1)" in row for row in rows), text
    reasons = " ".join(text.split("(1) UDP 16 B forward: ", 1)[1].split("(2)")[0].split())
    assert reasons == ("host-limited: unshaped, this machine carries 3.6 Mbit/s of this test, below the 27.6 "
                       "Mbit/s the line would deliver"), reasons


def _headers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("test ")]


def test_a_wide_terminal_gets_one_table_a_narrow_one_two():
    headers = _headers(_shown(160))
    assert len(headers) == 1 and "offered" in headers[0] and "verdict" in headers[0], headers
    assert len(_headers(_shown(100))) == 2
