"""Failover and failback on a real network: a line cut on a timeline, the health check's real pings, the probe.

The active/standby scenario with a faster health check (3 probes every 2 s: 6 s to declare a line faulty), so
the test takes about half a minute: the probe's datagrams to the IDC are lost until the check fails line 1, the
IDC's side switches at once, nothing is lost when line 1 returns, and the TCP transfer beside the probe survives.
"""

from __future__ import annotations

import yaml

from emulator import runner, scenario, session
from emulator.checks.results import FailoverDetail
from emulator.runtime import cleanup
from emulator.scenario import SCENARIO_DIR


def _run_faster(name: str, events: tuple[str, str], settle_s: float, write_scenario, artifacts):
    """The scenario with its health checks at 3 probes (6 s), line 1's fault at 3 s and its repair at 14 s."""
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text())
    for check in next(s for s in data["steps"] if "health_checks" in s)["health_checks"]:
        check["hc_threshold"] = 3
    data["events"] = [{"at_s": 3, "action": events[0], "id": "pc-AAA"},
                      {"at_s": 14, "action": events[1], "id": "pc-AAA"}]
    data["settle_s"] = settle_s
    return runner.execute(session.prepare(scenario.load(str(write_scenario(data)))), artifacts=artifacts)


def test_failover_and_failback_are_measured_against_the_health_check(write_scenario, tmp_path):
    outcome = _run_faster("redundant_leased_lines_standby", ("line_down", "line_up"), 12, write_scenario, tmp_path)
    failovers = [c for c in outcome.checks if isinstance(c.detail, FailoverDetail)]
    assert [c.passed for c in failovers] == [True, True], failovers
    down, up = (c.detail for c in failovers)
    assert down.expected_outage_s == 6.0 and 5.5 <= down.outage_s <= 9.0
    assert down.lost_packets > 400 and down.sent_packets > 1000
    assert down.path_before == {"cloud_to_idc": ["pc-AAA"], "idc_to_cloud": ["pc-AAA"]}
    assert down.path_after == {"cloud_to_idc": ["pc-BBB"], "idc_to_cloud": ["pc-BBB"]}
    assert any(change.startswith("ri-line1-vbr faulty") for change in down.health_checks)
    assert up.outage_s <= 1.0 and up.path_after == {"cloud_to_idc": ["pc-AAA"], "idc_to_cloud": ["pc-AAA"]}
    assert any(change.startswith("ri-line1-vbr healthy") for change in up.health_checks)
    assert down.tcp_survived and up.tcp_survived
    assert (tmp_path / "failover-i-vpca-1-idc-server-1.png").stat().st_size > 10_000
    assert outcome.passed and cleanup.leftovers().empty()


def test_bfd_ends_the_bgp_session_of_a_silently_failed_line_within_a_second(write_scenario, tmp_path):
    """Line 1 drops every frame while its port stays up: BFD (3 x 300 ms) ends its BGP session and the customer
    device's traffic moves to line 2 within about a second; the VPC's (static) route waits for the health check."""
    outcome = _run_faster("redundant_leased_lines_bgp", ("line_fail", "line_restore"), 15, write_scenario, tmp_path)
    failovers = [c for c in outcome.checks if isinstance(c.detail, FailoverDetail)]
    assert [c.passed for c in failovers] == [True, True], failovers
    fail = failovers[0].detail
    back, towards = fail.directions["idc_to_cloud"], fail.directions["cloud_to_idc"]
    assert back["expected_outage_s"] == 0.9 and 0.3 <= back["outage_s"] <= 2.2, back
    assert towards["expected_outage_s"] == 6.0 and 5.5 <= towards["outage_s"] <= 9.0, towards
    assert fail.path_before == {"cloud_to_idc": ["pc-AAA"], "idc_to_cloud": ["pc-AAA"]}
    assert fail.path_after == {"cloud_to_idc": ["pc-BBB"], "idc_to_cloud": ["pc-BBB"]}
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    assert cleanup.leftovers().empty()
