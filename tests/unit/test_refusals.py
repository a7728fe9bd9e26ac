"""What adversarial scenario files found: each class refused where it is written (file:line, exit 2), never a
traceback, or answered as the provider would. In process through `cli.main`, so they run without root."""

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import cli, scenario
from emulator.cloud.control_plane import MAX_ROUTE_ENTRIES_VBR, MAX_ROUTE_ENTRIES_VROUTER, RESERVED_BLOCKS
from emulator.cloud.resources import NextHopType
from emulator.errors import CloudError, EmulatorError
from tests.conftest import REFERENCE
from tests.unit.test_properties import _load_text

REFERENCE_TEXT = REFERENCE.read_text()


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path):
    """Write `text` as a scenario, run `verb` on it in process; (exit, stdout, stderr, path)."""
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(text: str, verb: str = "validate", *extra: str):
        path = tmp_path / "adversarial.yaml"
        path.write_text(text)
        code = cli.main([verb, str(path), *extra])
        out, err = capsys.readouterr()
        return code, out, err, path

    return invoke


def _line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def _refused_at(result, line: int | None = None, *words: str) -> None:
    code, out, err, path = result
    assert code == 2, out + err
    assert "Traceback" not in out + err
    located = re.search(rf"{re.escape(path.name)}:(\d+)", err)
    assert located, err
    if line is not None:
        assert int(located.group(1)) == line, err
    for word in words:
        assert word in err, err


# ----- tracebacks that became located refusals ---------------------------------------------------------

@pytest.mark.parametrize("nesting", ["[" * 400 + "]" * 400, "\n".join("  " * i + f"k{i}:" for i in range(400)) + " 1"])
def test_deep_nesting_is_refused_with_a_line(run_cli, nesting):
    _refused_at(run_cli(f"name: deep\nvpcs: {nesting}\n" if nesting.startswith("[") else f"name: deep\n{nesting}\n"),
                None, "nested too deeply")


def test_a_number_of_thousands_of_digits_is_refused_at_its_line(run_cli):
    text = REFERENCE_TEXT.replace("        vlan_id: 1000", "        vlan_id: " + "9" * 5000)
    _refused_at(run_cli(text), _line_of(text, "        vlan_id: " + "9" * 5000), "too large",
                "steps[0].vbrs[0].vlan_id")     # issue 24: the key it was written under


def test_a_vpc_in_the_interconnect_pool_is_refused_at_its_cidr(run_cli):
    text = REFERENCE_TEXT.replace("cidr: 10.10.0.0/16", "cidr: 100.64.0.0/16", 1)
    _refused_at(run_cli(text, "plan"), _line_of(text, "    cidr: 100.64.0.0/16"), "InvalidCidrBlock.Reserved",
                "vpcs[0].cidr")


# ----- what the provider refuses --------------------------------------------------------------------------

@pytest.mark.parametrize("block", ["100.0.0.0/8", "127.0.0.0/16", "169.254.0.0/16", "224.1.0.0/16", "240.0.0.0/8",
                                   "0.0.0.0/8"])
def test_create_vpc_refuses_reserved_blocks(run_cli, block):
    text = REFERENCE_TEXT.replace("cidr: 10.10.0.0/16", f"cidr: {block}", 1)
    _refused_at(run_cli(text), _line_of(text, f"    cidr: {block}"), "InvalidCidrBlock.Reserved")


def test_an_idc_range_in_a_reserved_block_is_refused(run_cli):
    text = REFERENCE_TEXT.replace("  cidr: 172.16.0.0/12", "  cidr: 169.254.0.0/16", 1)
    assert text != REFERENCE_TEXT
    _refused_at(run_cli(text), _line_of(text, "  cidr: 169.254.0.0/16"), "InvalidCidrBlock.Reserved")


def test_a_route_to_class_e_is_refused():
    loaded = scenario.load("multi_vpc_leased_line")
    from ipaddress import IPv4Network

    with pytest.raises(CloudError) as caught:
        loaded.cloud.add_route_entry(router_id="vbr-12345678", destination=IPv4Network("240.0.0.0/8"),
                                     next_hop_type=NextHopType.PHYSICAL_CONNECTION, next_hop_id="pc-AAA")
    assert caught.value.code == "InvalidDestinationCidrBlock.Reserved" and "class E" in caught.value.message


def test_a_vbr_peer_gateway_on_an_idc_server_is_refused_at_that_line(run_cli):
    server_ip = yaml.safe_load(REFERENCE_TEXT)["idc"]["subnets"][0]["servers"][0]["ip"]
    text = (REFERENCE_TEXT.replace("peer_gateway_ip: 10.100.0.2", f"peer_gateway_ip: {server_ip}")
            .replace("local_gateway_ip: 10.100.0.1", f"local_gateway_ip: {_neighbour(server_ip, -1)}"))
    result = run_cli(text)
    _refused_at(result, _line_of(text, f"        peer_gateway_ip: {server_ip}"), "InvalidIpAddress.Conflict",
                "idc-server-1")


def _neighbour(ip: str, step: int = 1) -> str:
    head, last = ip.rsplit(".", 1)
    return f"{head}.{int(last) + step}"


def test_two_overlapping_idc_lans_are_refused(run_cli):
    data = yaml.safe_load(REFERENCE_TEXT)
    lan = data["idc"]["subnets"][0]
    data["idc"]["subnets"].append({**lan, "servers": [{"id": "idc-server-9", "ip": _neighbour(lan["servers"][0]["ip"])}]})
    code, out, err, _ = run_cli(yaml.safe_dump(data, sort_keys=False))
    assert code == 2 and "InvalidCidrBlock.Overlapped" in err and "Traceback" not in err


@pytest.mark.parametrize("bad", ["true", "false", "1000.0", "'1000'"])
def test_booleans_floats_and_strings_are_not_integers(run_cli, bad):
    text = REFERENCE_TEXT.replace("        vlan_id: 1000", f"        vlan_id: {bad}")
    _refused_at(run_cli(text), _line_of(text, f"        vlan_id: {bad}"), "vlan_id", "a whole number")


def test_route_quotas_follow_the_table_kind():
    from ipaddress import IPv4Network

    loaded = scenario.load("multi_vpc_leased_line")
    cloud = loaded.cloud
    existing = len(cloud.vbrs["vbr-12345678"].route_table.entries)
    for index in range(MAX_ROUTE_ENTRIES_VBR - existing):
        cloud.add_route_entry(router_id="vbr-12345678", destination=IPv4Network(f"172.20.{index}.0/24"),
                              next_hop_type=NextHopType.PHYSICAL_CONNECTION, next_hop_id="pc-AAA")
    with pytest.raises(CloudError) as caught:
        cloud.add_route_entry(router_id="vbr-12345678", destination=IPv4Network("172.21.0.0/24"),
                              next_hop_type=NextHopType.PHYSICAL_CONNECTION, next_hop_id="pc-AAA")
    assert caught.value.code == "QuotaExceeded.RouteEntry" and f"{MAX_ROUTE_ENTRIES_VBR}" in caught.value.message
    table = cloud.vpcs["vpc-87654321"].route_table
    for index in range(MAX_ROUTE_ENTRIES_VROUTER - len(table.entries)):
        cloud.add_route_entry(router_id="vrt-87654321", destination=IPv4Network(f"172.{16 + index // 256}."
                                                                                 f"{index % 256}.0/24"),
                              next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-BBB")
    with pytest.raises(CloudError) as caught:
        cloud.add_route_entry(router_id="vrt-87654321", destination=IPv4Network("172.30.0.0/24"),
                              next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-BBB")
    assert f"{MAX_ROUTE_ENTRIES_VROUTER}" in caught.value.message


# ----- Express Connect is not transitive -----------------------------------------------------------------

def test_vpc_to_vpc_through_the_vbr_is_not_transitive(run_cli):
    data = yaml.safe_load(REFERENCE_TEXT)
    data["steps"][-1].setdefault("route_entries", []).extend([
        {"router_id": "vrt-12345678", "destination_cidr": "192.168.0.0/16", "next_hop_type": "RouterInterface",
         "next_hop_id": "ri-DDD"},
        {"router_id": "vrt-87654321", "destination_cidr": "10.10.0.0/16", "next_hop_type": "RouterInterface",
         "next_hop_id": "ri-BBB"}])
    data["expect"] = []
    code, out, err, _ = run_cli(yaml.safe_dump(data, sort_keys=False), "explain", "i-vpca-1", "i-vpcb-1")
    assert code == 1, out + err
    assert "NOT_TRANSITIVE at vbr-12345678" in out and "VPC peering or CEN" in out


# ----- explain as a user types it ------------------------------------------------------------------------

def test_explain_refuses_the_same_host_twice(run_cli):
    code, _, err, _ = run_cli(REFERENCE_TEXT, "explain", "i-vpca-1", "i-vpca-1")
    assert code == 2 and "same host" in err


def test_explain_takes_a_host_address_and_says_which_host_it_is(run_cli):
    code, out, _, _ = run_cli(REFERENCE_TEXT, "explain", "172.16.1.10", "192.168.1.10")
    assert code == 0 and "172.16.1.10 is idc-server-1" in out and "192.168.1.10 is i-vpcb-1" in out


def test_explain_says_where_an_unknown_address_falls(run_cli):
    code, _, err, _ = run_cli(REFERENCE_TEXT, "explain", "10.10.1.99", "i-vpcb-1")
    assert code == 2 and "10.10.1.99" in err and "vpc-12345678" in err and "no instance has it" in err
    code, _, err, _ = run_cli(REFERENCE_TEXT, "explain", "198.51.100.1", "i-vpcb-1")
    assert code == 2 and "in no VPC" in err


def test_names_in_the_wrong_case_get_a_suggestion(run_cli):
    code, _, err, _ = run_cli(REFERENCE_TEXT, "explain", "I-VPCB-1", "idc-server-1")
    assert code == 2 and "did you mean i-vpcb-1" in err


# ----- the malformed shapes, generated -------------------------------------------------------------------

def _parse_to_plan(text: str) -> None:
    _load_text(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(40, 1500), mapping=st.booleans(), where=st.sampled_from(["vpcs", "name", "steps", "idc"]))
def test_generated_nesting_of_any_depth_is_refused_or_read_never_raised(depth, mapping, where):
    nested = ("\n".join("  " * i + f"k{i}:" for i in range(depth)) + " 1") if mapping else "[" * depth + "]" * depth
    text = f"{where}:\n  {nested}\n" if mapping else f"{where}: {nested}\n"
    try:
        _parse_to_plan(text)
    except EmulatorError as error:
        assert error.where.startswith("fuzz.yaml:"), error.render()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digits=st.integers(4000, 20000), field=st.sampled_from(["vlan_id", "bandwidth_mbps", "account"]))
def test_generated_huge_numbers_are_refused_with_a_line(digits, field):
    text = REFERENCE_TEXT
    replaced = {"vlan_id": ("        vlan_id: 1000", "        vlan_id: "),
                "bandwidth_mbps": ("    bandwidth_mbps: 100", "    bandwidth_mbps: "),
                "account": ("  - id: 12345678", "  - id: ")}[field]
    assert replaced[0] in text
    text = text.replace(replaced[0], replaced[1] + "7" * digits, 1)
    with pytest.raises(EmulatorError) as caught:
        _parse_to_plan(text)
    assert caught.value.where.startswith("fuzz.yaml:")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block=st.sampled_from(sorted(RESERVED_BLOCKS)), prefixlen=st.integers(8, 28), offset=st.integers(0, 2**24),
       which=st.sampled_from(["vpc", "idc"]))
def test_generated_blocks_in_every_reserved_range_are_refused_where_written(block, prefixlen, offset, which):
    from ipaddress import IPv4Network

    length = max(prefixlen, block.prefixlen)
    inside = IPv4Network((int(block.network_address) + (offset << (32 - length)) % block.num_addresses, length),
                         strict=False)
    old = "cidr: 10.10.0.0/16" if which == "vpc" else "  cidr: 172.16.0.0/12"
    new = f"cidr: {inside}" if which == "vpc" else f"  cidr: {inside}"
    text = REFERENCE_TEXT.replace(old, new, 1)
    with pytest.raises(EmulatorError) as caught:
        _parse_to_plan(text)
    assert caught.value.where.startswith("fuzz.yaml:")
    assert isinstance(caught.value, CloudError) and caught.value.code in (
        "InvalidCidrBlock.Reserved", "InvalidCidrBlock.Malformed", "InvalidCidrBlock.NotInIdc")


def test_a_performance_check_between_hosts_that_cannot_reach_each_other_is_refused_before_the_run(run_cli):
    """Issue 24: accepted before, although `perf` refuses the same pair before building anything."""
    data = yaml.safe_load(REFERENCE_TEXT)
    data["checks"]["performance"] = [{"from": "i-vpca-1", "to": "i-vpcb-1"}]    # VPC to VPC: no route
    text = yaml.safe_dump(data, sort_keys=False)
    code, out, err, _path = run_cli(text)
    _refused_at((code, out, err, _path), _line_of(text, "  performance:") + 1, "checks.performance[0]",
                "does not reach i-vpcb-1", "NO_ROUTE at vrt-12345678")
    data["checks"]["performance"] = [{"from": "idc-server-1", "to": "i-vpcb-1"}]
    assert run_cli(yaml.safe_dump(data, sort_keys=False))[0] == 0
