"""The HTML report renders a run's outcome: self-contained, every node on the page, scenario text escaped."""

import yaml

from emulator import scenario, session
from emulator.capabilities import Environment
from emulator.checks import ping
from emulator.report import html_report
from tests.conftest import REFERENCE


def _outcome(write_scenario, title: str) -> session.RunOutcome:
    data = yaml.safe_load(REFERENCE.read_text())
    data["title"] = title
    prepared = session.prepare(scenario.load(str(write_scenario(data))))
    checks = [ping.ping_result(ping.Echoes(2, 2 if pair.reachable else 0), pair, None)
              for pair in prepared.expected.values()]
    environment = Environment(datapath="user", kernel_ovs_module=False, netem=False, vlan_8021q=False, htb=True)
    return session.RunOutcome(prepared, environment, checks, {"build_s": 1.0, "total_s": 2.0}, "nothing left")


def test_the_page_holds_the_picture_the_matrix_and_every_node(write_scenario, tmp_path):
    outcome = _outcome(write_scenario, "Leased line lab")
    page = html_report.write(outcome, tmp_path).read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<?xml" not in page
    for node_id in outcome.prepared.network.nodes:
        if not node_id.endswith("@ap"):
            assert node_id in page, node_id
    assert 'id="matrix"' in page and "NO_ROUTE" in page and "as expected;" in page   # expected unreachable
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page   # nothing fetched
    assert (tmp_path / "report.json").exists()


def test_scenario_text_is_escaped(write_scenario, tmp_path):
    page = html_report.render(_outcome(write_scenario, "<script>alert(1)</script>"), tmp_path)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_bgp_sessions_have_their_own_table(tmp_path):
    from emulator.checks.results import BgpDetail, CheckResult

    prepared = session.prepare(scenario.load("bgp_wrong_peer_asn"))
    checks = [ping.ping_result(ping.Echoes(2, 0), pair, None) for pair in prepared.expected.values()]
    checks.append(CheckResult("customer-router", "vbr-12345678", True, BgpDetail(
        peer="bgp-12345678", session_state={"customer": "Idle", "cloud": "Idle"}, expected_state="not established",
        received_prefixes={"customer": [], "cloud": []}, advertised_prefixes={"customer": [], "cloud": []},
        installed_prefixes=(), discarded_prefixes=0, established_s=None, converged_s=None,
        reason="expects peer AS 65002 <b>", last_notification="OPEN Message Error/Bad Peer AS")))
    environment = Environment(datapath="user", kernel_ovs_module=False, netem=False, vlan_8021q=False, htb=True)
    outcome = session.RunOutcome(prepared, environment, checks, {"total_s": 2.0}, "nothing left")
    page = html_report.render(outcome, tmp_path)
    assert "<h2>BGP sessions</h2>" in page
    assert "customer Idle, vbr-12345678 Idle (not established)" in page and "FRR: OPEN Message Error/Bad Peer AS" in page
    assert "&lt;b&gt;" in page and "65002 <b>" not in page


def test_performance_and_link_impairment_have_their_own_tables(tmp_path):
    from emulator.checks.results import CheckResult, PerformanceDetail
    from emulator.impairment import Impairment
    from emulator.session import LinkPhysics

    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    checks = [ping.ping_result(ping.Echoes(2, 2), pair, None) for pair in prepared.expected.values()]
    test = {"name": "UDP 1400 B forward", "offered_mbps": 95.0, "target_mbps": 95.0, "measured_mbps": 94.8,
            "loss_percent": 0.0, "jitter_ms": 0.021, "unshaped_mbps": 510.0, "verdict": "pass <i>", "passed": True}
    checks.append(CheckResult("idc-server-1", "i-vpcb-1", True, PerformanceDetail(
        configured_mbps=100, duration_s=3, tests=(test,), rtt_ms={"min": 33.4, "avg": 34.0, "max": 34.8})))
    environment = Environment(datapath="user", kernel_ovs_module=False, netem=False, vlan_8021q=False, htb=True)
    counters = {"directions": {"a->b": {"received": 1000, "dropped_by_loss": 10}}}
    links = [LinkPhysics("pc-AAA", "leased_line", Impairment(2.0, 0.2, 1.0), "delay line", counters)]
    outcome = session.RunOutcome(prepared, environment, checks, {"total_s": 2.0}, "nothing left", links=links)
    page = html_report.render(outcome, tmp_path)
    assert "<h2>Leased-line performance</h2>" in page and "94.8 Mbit/s" in page and "510.0 Mbit/s" in page
    assert "ping RTT 33.4 / 34.0 / 34.8 ms" in page and "pass &lt;i&gt;" in page
    assert "<h2>Link delay, jitter and loss</h2>" in page
    assert "<td>pc-AAA</td><td>leased_line</td><td>2.0 ms</td><td>0.2 ms</td>" in page
    assert "delay line" in page and "1000 frames in, 10 dropped by loss" in page
    assert "delay_line_counters" not in page          # the links are a table, not a dump in the environment line


def test_failover_events_have_a_row_per_direction_and_the_probe_picture(tmp_path):
    from emulator.checks.results import CheckResult, FailoverDetail

    prepared = session.prepare(scenario.load("redundant_leased_lines_standby"))
    checks = [ping.ping_result(ping.Echoes(2, 2), pair, None) for pair in prepared.expected.values()]
    (tmp_path / "failover.png").write_bytes(b"png")
    directions = {"cloud_to_idc": {"outage_s": 16.83, "expected_outage_s": 16.0, "accepted_s": [15.5, 19.0],
                                   "prediction": "the health check <declares>", "passed": True},
                  "idc_to_cloud": {"outage_s": 0.0, "expected_outage_s": 0.0, "accepted_s": [0.0, 1.0],
                                   "prediction": "the floating route", "passed": True}}
    checks.append(CheckResult("i-vpca-1", "idc-server-1", True, FailoverDetail(
        event="line_down pc-AAA at 5 s", lost_packets=1683, sent_packets=2500, outage_s=16.83,
        expected_outage_s=16.0, accepted_s=None, prediction="", tcp_survived=True,
        path_before={"cloud_to_idc": ["pc-AAA"], "idc_to_cloud": ["pc-AAA"]},
        path_after={"cloud_to_idc": ["pc-BBB"], "idc_to_cloud": ["pc-BBB"]},
        health_checks=("ri-line1-vbr faulty +16.74 s, flows +17.01 s",), directions=directions,
        plot=str(tmp_path / "failover.png"))))
    environment = Environment(datapath="user", kernel_ovs_module=False, netem=False, vlan_8021q=False, htb=True)
    outcome = session.RunOutcome(prepared, environment, checks, {"total_s": 2.0}, "nothing left")
    page = html_report.render(outcome, tmp_path)
    assert "<h2>Failover: faults on a timeline</h2>" in page and 'rowspan="2">line_down pc-AAA at 5 s' in page
    assert "<td>cloud to idc</td><td>16.83 s</td><td>16.00 s (15.5-19.0)</td>" in page
    assert "<td>pc-AAA / pc-BBB</td>" in page and "round trips lost 1683 of 2500; TCP survived" in page
    assert '<img src="failover.png"' in page and "&lt;declares&gt;" in page


def test_the_page_reads_on_a_phone_and_says_things_in_words(write_scenario, tmp_path):
    """Issue 25, section 5: no viewport tag, steps numbered 1, 2, 3, 5, 7 (their titles counted), a raw Python
    dict under Environment, timings as JSON keys."""
    page = html_report.write(_outcome(write_scenario, "Leased line lab"), tmp_path).read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "counter-increment: operation" in page and 'class="scroll"><table id="matrix">' in page
    environment = page.split('<table id="environment">', 1)[1].split("</table>", 1)[0]
    assert "{" not in environment and "<th>datapath</th><td>user</td>" in environment
    assert "network built 1.0 s, in all 2.0 s" in page



def test_reachable_cells_show_their_round_trip_and_the_page_says_how_it_was_measured(write_scenario, tmp_path):
    from emulator.perf_model import RttSeries
    outcome = _outcome(write_scenario, "RTT")
    outcome.checks[:] = [ping.ping_result(ping.Echoes(2, 2, rtt=RttSeries((41.0, 41.4, 40.8), 10))
                                          if pair.reachable else ping.Echoes(2, 0), pair, None)
                         for pair in outcome.prepared.expected.values()]
    page = html_report.render(outcome, tmp_path)
    assert "RTT 41.1 ms" in page and "mdev" in page
    assert 'id="rtt-note"' in page and "the average of 10 echoes per pair" in page
