"""The CLI in process (`cli.main(argv)` returns the exit code): what a user sees, without root or a network."""

import json
import os


from tests.conftest import REFERENCE


def test_list_names_the_shipped_scenarios(call):
    code, out, _ = call("list")
    assert code == 0 and "multi_vpc_leased_line" in out.split() and "vpc_peering" in out.split()


def test_validate_accepts_the_reference(call):
    code, out, err = call("validate", "multi_vpc_leased_line")
    assert code == 0, err
    assert "valid (" in out and "5 of 5 steps" in out


def test_plan_shows_routers_tables_and_expected_reachability(call):
    code, out, _ = call("plan", "multi_vpc_leased_line")
    assert code == 0
    assert "vbr-12345678" in out and "cevbr1" in out and "NO_ROUTE" in out
    assert "Expected reachability" in out


def test_explain_exit_status_follows_reachability(call):
    code, out, _ = call("explain", "multi_vpc_leased_line", "idc-server-1", "i-vpcb-1")
    assert code == 0 and "REACHABLE" in out
    code, out, _ = call("explain", "multi_vpc_leased_line", "i-vpca-1", "i-vpcb-1")
    assert code == 1 and "NO_ROUTE" in out and "fix:" in out


def test_explain_unknown_host_suggests_one(call):
    code, _, err = call("explain", "multi_vpc_leased_line", "i-vpcb-2", "idc-server-1")
    assert code == 2 and "did you mean i-vpcb-1" in err and "Traceback" not in err


def test_bad_input_exits_two_with_file_line_and_code(call, tmp_path):
    text = REFERENCE.read_text().replace("    spec: Large.1\n", "    spec: Large.7\n", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = text.splitlines().index("        spec: Large.7") + 1
    for verb in ("validate", "plan", "run"):
        code, out, err = call(verb, str(path))
        assert code == 2, verb
        assert f"bad.yaml:{line}" in err and "InvalidSpec.ValudNotSupported" in err
        assert "router_interfaces[0].spec" in err and "Traceback" not in out + err


def test_unknown_scenario_suggests_the_closest(call):
    code, _, err = call("run", "multi_vpc_leased_lne")
    assert code == 2 and "did you mean multi_vpc_leased_line" in err


def test_run_without_root_says_so_and_builds_nothing(call, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    code, _, err = call("run", "multi_vpc_leased_line")
    assert code == 3 and "needs root" in err and "sudo" in err
    code, _, err = call("lab", "multi_vpc_leased_line")
    assert code == 3 and "needs root" in err
    code, _, err = call("clean")
    assert code == 3 and "clean needs root" in err


def test_schema_is_json(call):
    code, out, _ = call("schema")
    assert code == 0 and json.loads(out)["title"]


def test_generate_refuses_a_count_out_of_range(call):
    code, _, err = call("generate", "border-gateway", "--vpcs", "1")
    assert code == 2 and "--vpcs must be between" in err
    code, out, _ = call("generate", "border-gateway", "--vpcs", "3")
    assert code == 0 and "vpc-g003" in out
