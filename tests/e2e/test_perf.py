"""`perf` as a user runs it: the provider's test method on a real network, its JSON, its table and its PNG."""

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from emulator.runtime import cleanup

ROOT = Path(__file__).resolve().parents[2]


def test_perf_measures_both_directions_and_says_what_the_host_cannot_carry(tmp_path):
    report_path, picture = tmp_path / "perf.json", tmp_path / "perf.png"
    result = subprocess.run([sys.executable, "-m", "emulator", "perf", "multi_vpc_leased_line", "--from",
                             "idc-server-1", "--to", "192.168.1.10", "--duration", "2", "--streams", "2",
                             "--json", str(report_path), "--plot", str(picture)],
                            cwd=ROOT, env={**os.environ, "COLUMNS": "250"}, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stderr and report_path.exists(), result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    # Exit 0 when every test that is not host-limited reached 70% of its target, 1 otherwise: on this shared
    # machine a test may dip under load; the figures' quality is held by test_impairment.py.
    assert result.returncode == (0 if report["passed"] else 1), result.stdout
    assert report["from"] == "idc-server-1" and report["to"] == "i-vpcb-1" and report["configured_mbps"] == 100
    tests = {test["name"]: test for test in report["tests"]}
    assert len(tests) == 8 and {t["direction"] for t in tests.values()} == {"forward", "reverse"}
    for name in ("TCP x1 forward", "TCP x2 reverse"):
        assert 0.3 * 95.6 <= tests[name]["measured_mbps"] <= 1.05 * 100 and tests[name]["unshaped_mbps"] > 100
    for direction in ("forward", "reverse"):
        udp = tests[f"UDP 1400 B {direction}"]
        # Offered at exactly what the line carries: no headroom, so a loaded machine's bursts may lose a few
        # percent (the target, 0.5% at 95 Mbit/s, is held by test_impairment.py); here: figures, consistent.
        assert 0 <= udp["loss_percent"] < 70 and udp["jitter_ms"] is not None
        assert udp["measured_mbps"] <= 1.02 * udp["offered_mbps"]                 # the shaper holds the rate
        assert udp["receiver_counters"]["rx_packets"] >= 0.9 * udp["pps"] * 2      # frames the receiver counted
        small = tests[f"UDP 16 B {direction}"]
        # host-limited exactly when the same test, unshaped, carried less than 95% of what the line would deliver
        assert small["host_limited"] == (small["unshaped_mbps"] < 0.95 * small["target_mbps"])
    for test in tests.values():
        # The per-second figures and the receiver's counters cover the same 2 s as iperf3's figure (issue 25:
        # the whole run over the nominal duration read 130-151 Mbit/s on this 100 Mbit/s line; 5 points for 3 s).
        assert len(test["intervals_mbps"]) == 2, (test["name"], test["intervals_mbps"])
        counters = test["receiver_counters"]
        assert abs(counters["seconds"] - 2) < 0.25 and counters["mbps"] <= 1.08 * 100, (test["name"], counters)
    assert report["rtt_ms"]["received"] == 50 and report["rtt_ms"]["min"] > 2 * (2 + 14) - 1
    assert "TCP x1 forward" in result.stdout and "ping RTT ms" in result.stdout
    with Image.open(picture) as image:          # a real PNG people can open
        assert image.format == "PNG" and image.size[0] >= 800 and image.size[1] >= 800
    assert cleanup.leftovers().empty()


def test_perf_refuses_a_pair_that_cannot_reach_before_building_anything(call):
    code, _out, err = call("perf", "multi_vpc_leased_line", "--from", "i-vpca-1", "--to", "i-vpcb-1")
    assert code == 2 and "does not reach" in err and "NO_ROUTE" in err and "how to fix" in err
    code, _out, err = call("perf", "multi_vpc_leased_line", "--from", "i-vpca-1", "--to", "10.10.1.10")
    assert code == 2 and "same host" in err


def test_the_same_test_runs_as_a_check_of_run(write_scenario, reference_text):
    from emulator import runner, scenario, session

    text = reference_text.replace("checks:\n", "checks:\n  performance:\n    - {from: idc-server-1, to: i-vpca-1, "
                                               "duration_s: 1, streams: 2}\n", 1)
    prepared = session.prepare(scenario.load(str(write_scenario(text))))
    outcome = runner.execute(prepared)
    [check] = [c for c in outcome.checks if c.kind.value == "performance"]
    data = check.to_json()
    assert len(data["tests"]) == 8 and data["rtt_ms"]["received"] == 50
    assert check.passed == all(test["passed"] for test in data["tests"])
    assert all(test["unshaped_mbps"] is not None for test in data["tests"] if not test["error"])


def test_a_performance_check_names_hosts_of_the_scenario(write_scenario, reference_text):
    import pytest

    from emulator import scenario
    from emulator.errors import ScenarioError

    text = reference_text.replace("checks:\n", "checks:\n  performance:\n    - {from: idc-server-1, to: i-vpca-9}\n", 1)
    with pytest.raises(ScenarioError) as caught:
        scenario.load(str(write_scenario(text)))
    assert "i-vpca-9" in caught.value.message and caught.value.where.endswith(":" + str(
        text.splitlines().index("    - {from: idc-server-1, to: i-vpca-9}") + 1))
