"""The CLI as a user runs it: exit codes, the JSON report, messages without tracebacks."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from emulator import scenario
from emulator.runtime import cleanup
from tests.conftest import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "COLUMNS": "200"}


def _cli(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI as its own process, as a user types it."""
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_run_writes_the_json_report_and_exits_zero(tmp_path):
    report_path = tmp_path / "report.json"
    result = _cli("run", "multi_vpc_leased_line", "--json", str(report_path), "--capture", "ri-AAA",
                  "--artifacts", str(tmp_path / "artifacts"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 9 checks passed" in result.stdout and "tcpdump -r FILE" in result.stdout
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
            else:    # the round-trip pass of its own: 10 echoes, neighbours warm
                assert set(check["rtt_ms"]) == {"min", "avg", "max", "mdev", "sent", "received"}, check
                assert check["rtt_ms"]["sent"] == 10 and check["rtt_ms"]["received"] >= 9, check
        elif check["kind"] == "traceroute":
            assert check["hops"] == ["172.16.1.1", "10.100.0.1", "100.64.0.2", "192.168.1.10"]
        else:
            assert check["protocol"] == "tcp" and check["configured_mbps"] == 100
            assert isinstance(check["measured_mbps"], float)
    _matches_the_documented_format(report)
    assert cleanup.leftovers().empty()


def _matches_the_documented_format(report: dict) -> None:
    """docs/report-format.md's example holds exactly the fields a real report has, at every level shown."""
    text = (ROOT / "docs" / "report-format.md").read_text()
    documented = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    assert set(documented) == set(report)
    assert set(documented["environment"]) == set(report["environment"])
    assert set(documented["nodes"][0]) == set(report["nodes"][0])
    [(_router, table)] = list(documented["route_tables"].items())[:1]
    real_table = report["route_tables"]["vbr-12345678"]
    assert set(table) == set(real_table) and set(table["routes"][0]) == set(real_table["routes"][0])
    for example in documented["checks"]:
        real = next(c for c in report["checks"] if c["kind"] == example["kind"]
                    and ("explanation" in c) == ("explanation" in example))
        assert set(example) == set(real), example["kind"]
        if "explanation" in example:
            assert set(example["explanation"]) == set(real["explanation"])
    assert set(documented["timings_s"]) == set(report["timings_s"])
    assert set(documented["captures"][0]) == set(report["captures"][0])
    assert len(report["captures"]) == 2 and all(Path(c["file"]).stat().st_size > 24 for c in report["captures"])


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


def _as_nobody(argv: list[str]) -> tuple[int, str, str]:
    """`cli.main(argv)` in a forked child that dropped root for uid/gid 65534 (nobody); (exit, stdout, stderr).

    The child never reads the clone or the virtualenv (either may sit in a directory only root may enter:
    a `mktemp -d` folder, a home with mode 700, an interpreter under /root). So the same verb runs here first,
    still as root, which imports whatever it needs lazily, ours or a library's (rich imports its emoji table at
    the first markup it renders); `run` is warmed up with `plan`, which renders the same steps, and its own
    modules are imported. What the child proves is that the verb itself needs no privilege.
    """
    import contextlib
    import io

    import emulator.report.json_report  # noqa: F401  (run's lazy imports)
    import emulator.runner  # noqa: F401
    from emulator import cli

    warm_up = argv if argv[0] != "run" else ["plan", *argv[1:]]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        cli.main(warm_up)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:   # the child: never returns into pytest
            code = 99
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)  # noqa: SIM115
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                os.environ["COLUMNS"] = "200"
                code = cli.main(argv)
            except BaseException:   # noqa: B036 (whatever happens, the child must exit here)
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode()


def _world_readable_copy(name: str) -> Path:
    """The scenario where uid 65534 can read it, wherever the clone lives."""
    folder = Path(tempfile.mkdtemp(prefix="ce-nobody-"))
    folder.chmod(0o755)
    copy = folder / f"{name}.yaml"
    copy.write_text((scenario.SCENARIO_DIR / f"{name}.yaml").read_text())
    copy.chmod(0o644)
    return copy


def test_validate_plan_and_explain_need_no_root():
    path = _world_readable_copy("multi_vpc_leased_line")
    try:
        code, out, err = _as_nobody(["validate", str(path)])
        assert code == 0 and "valid (" in out, out + err
        code, out, err = _as_nobody(["plan", str(path)])
        assert code == 0 and "vbr-12345678" in out and "NO_ROUTE" in out, out + err
        code, out, err = _as_nobody(["explain", str(path), "idc-server-1", "i-vpcb-1"])
        assert code == 0 and "REACHABLE" in out, out + err
    finally:
        shutil.rmtree(path.parent)


def test_run_without_root_says_so():
    path = _world_readable_copy("multi_vpc_leased_line")
    try:
        code, out, err = _as_nobody(["run", str(path)])
    finally:
        shutil.rmtree(path.parent)
    assert code == 3 and "needs root" in err and "sudo" in err, out + err
    assert "Traceback" not in out + err
    assert cleanup.leftovers().empty()


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
    pings = re.findall(r"^(idc-server-1 -> i-vpcb-1: (?:un)?reachable)\b(.*)$", out, re.MULTILINE)
    assert [verdict for verdict, _ in pings] == ["idc-server-1 -> i-vpcb-1: reachable",
                                                 "idc-server-1 -> i-vpcb-1: unreachable"], out
    assert re.fullmatch(r", RTT [\d.]+ ms \([23]/3 answered(; the first, [\d.]+ ms, left out: it can wait for ARP)?\)",
                        pings[0][1]), pings
    assert pings[1][1] == " (0/3 answered)", pings
    assert "usage: ri deactivate|activate RI_ID" in out
    assert "192.168.0.0/16" in out and "inactive" in out
    assert "Traceback" not in out + result.stderr
    assert cleanup.leftovers().empty()


def test_lab_script_brings_bgp_up_with_the_last_step_and_follows_a_withdrawal(tmp_path):
    script = tmp_path / "lab.txt"
    script.write_text("\n".join([
        "ping idc-server-1 i-vpcb-1",      # before the BGP step: no route on the device
        "step",                            # BGP: a speaker node for the VBR (rebuild), FRR on the device
        "ping idc-server-1 i-vpcb-1",
        "bgp withdraw 172.16.0.0/12",
        "ping i-vpcb-1 idc-server-1",
        "explain i-vpcb-1 idc-server-1",
        "bgp show vbr",
        "bgp advertise 172.16.0.0/12",
        "ping i-vpcb-1 idc-server-1",
        "bgp show customer",
    ]) + "\n")
    result = _cli("lab", "multi_vpc_leased_line_bgp", "--until-step", "4", "--script", str(script))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "rebuilding the network" in out
    pings = re.findall(r"^(\S+ -> \S+: (?:un)?reachable)\b", out, re.MULTILINE)
    assert pings == ["idc-server-1 -> i-vpcb-1: unreachable", "idc-server-1 -> i-vpcb-1: reachable",
                     "i-vpcb-1 -> idc-server-1: unreachable", "i-vpcb-1 -> idc-server-1: reachable"], out
    assert "the customer device withdraws 172.16.0.0/12 (routes settled in" in out
    assert "NOT_ADVERTISED" in out and "customer_bgp.networks" in out
    assert "vbr-12345678 AS 45104: peer 10.100.0.2 AS 65001 Established, 0 received" in out
    assert "172.16.0.0/12" in out.split("bgp show customer")[-1], "FRR's table lists the advertised block"
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
