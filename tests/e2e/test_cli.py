"""The CLI as a user runs it: exit codes, the JSON report, messages without tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from emulator.runtime import cleanup
from tests.conftest import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "COLUMNS": "200"}


def _cli(*args, user: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI; `user` is a numeric uid (also used as gid) to run it without root."""
    argv = [sys.executable, "-m", "emulator", *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_run_writes_the_json_report_and_exits_zero(tmp_path):
    report_path = tmp_path / "report.json"
    result = _cli("run", "multi_vpc_leased_line", "--json", str(report_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 9 checks passed" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["scenario"] == "multi_vpc_leased_line" and report["passed"] is True
    assert {"datapath", "datapath_kind", "netem", "vlan_8021q"} <= set(report["environment"])
    kinds = [check["kind"] for check in report["checks"]]
    assert kinds.count("ping") == 6 and kinds.count("traceroute") == 1 and kinds.count("throughput") == 2
    for check in report["checks"]:
        assert {"kind", "src", "dst", "passed"} <= set(check)
        if check["kind"] == "ping":
            assert {"expected", "reachable"} <= set(check)
            if not check["reachable"]:
                assert check["explanation"]["code"] == "NO_ROUTE"
        elif check["kind"] == "traceroute":
            assert check["hops"] == ["172.16.1.1", "10.100.0.1", "100.64.0.2", "192.168.1.10"]
        else:
            assert check["protocol"] == "tcp" and check["configured_mbps"] == 100
            assert isinstance(check["measured_mbps"], float)
    assert cleanup.leftovers().empty()


def test_a_wrong_expectation_fails_the_run_with_exit_one(tmp_path):
    data = yaml.safe_load(REFERENCE.read_text())
    data["expect"] = [{"from": "i-vpca-1", "to": "i-vpcb-1", "reachable": True}]   # no route joins them
    data["checks"] = {"traceroute": [], "throughput": []}
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(data))
    report_path = tmp_path / "report.json"
    result = _cli("run", str(path), "--json", str(report_path))
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [c for c in json.loads(report_path.read_text())["checks"] if not c["passed"]]
    assert [(c["src"], c["dst"]) for c in failed] == [("i-vpca-1", "i-vpcb-1")]
    assert failed[0]["stated_expectation"] is True and failed[0]["reachable"] is False
    assert cleanup.leftovers().empty()


def test_bad_input_exits_two_with_file_and_line_and_builds_nothing(tmp_path):
    text = REFERENCE.read_text().replace("    spec: Large.1\n", "    spec: Large.7\n", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = text.splitlines().index("        spec: Large.7") + 1      # the refusal points at the field
    for verb in ("validate", "run"):
        result = _cli(verb, str(path))
        assert result.returncode == 2
        assert f"bad.yaml:{line}" in result.stderr and "InvalidSpec.ValudNotSupported" in result.stderr
        assert "router_interfaces[0].spec" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
    assert cleanup.leftovers().empty()


def test_validate_and_plan_need_no_root():
    result = _cli("validate", "multi_vpc_leased_line", user="65534")
    assert result.returncode == 0, result.stderr
    plan = _cli("plan", "multi_vpc_leased_line", user="65534")
    assert plan.returncode == 0 and "vbr-12345678" in plan.stdout and "NO_ROUTE" in plan.stdout


def test_run_without_root_says_so():
    result = _cli("run", "multi_vpc_leased_line", user="65534")
    assert result.returncode == 3 and "needs root" in result.stderr and "sudo" in result.stderr


def test_unknown_scenario_and_list():
    result = _cli("run", "multi_vpc_leased_lne")
    assert result.returncode == 2 and "did you mean multi_vpc_leased_line" in result.stderr
    assert "multi_vpc_leased_line" in _cli("list").stdout


def test_lab_script_steps_through_the_tutorial_and_changes_the_live_network(tmp_path):
    script = tmp_path / "lab.txt"
    script.write_text("\n".join([
        "# comments and blank lines are skipped", "",
        "step", "step", "step",          # the VBR, the interfaces (rebuild), the connection (rebuild)
        "step",                          # the route entries
        "explain idc-server-1 i-vpcb-1",
        "step",                          # the customer's ip route
        "ping idc-server-1 i-vpcb-1",
        "ri deactivate ri-BBB",
        "ping idc-server-1 i-vpcb-1",
        "ri connect ri-AAA",
        "table vbr-12345678",
    ]) + "\n")
    result = _cli("lab", "multi_vpc_leased_line", "--until-step", "0", "--script", str(script))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.count("rebuilding the network") == 2
    assert "fix: add `ip route 192.168.0.0/16 10.100.0.1` on customer-router" in out
    pings = [line for line in out.splitlines() if line.startswith("idc-server-1 -> i-vpcb-1: ") and "reachable" in line]
    assert pings == ["idc-server-1 -> i-vpcb-1: reachable", "idc-server-1 -> i-vpcb-1: unreachable"]
    assert "usage: ri deactivate|activate RI_ID" in out
    assert "192.168.0.0/16" in out and "inactive" in out
    assert "Traceback" not in out + result.stderr
    assert cleanup.leftovers().empty()


def test_run_with_standard_input_closed():
    """CI runners may close stdin; the next socket would then get descriptor 0 and break ovs-vsctl."""
    command = f"exec {sys.executable} -m emulator run vpc_peering <&-"
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "all 7 checks passed" in result.stdout


def test_unwritable_outputs_are_reported_without_traceback(tmp_path):
    result = _cli("generate", "border-gateway", "--vpcs", "4", "--output", "/proc/no/such/dir.yaml")
    assert result.returncode == 3 and "choose a writable path for --output" in result.stderr
    missing_script = _cli("lab", "vpc_peering", "--script", str(tmp_path / "absent.txt"))
    assert missing_script.returncode == 3 and "cannot read the lab script" in missing_script.stderr
    for output in (result, missing_script):
        assert "Traceback" not in output.stderr
    assert cleanup.leftovers().empty()
