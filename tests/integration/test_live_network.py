"""A live network, inspected from outside: VLAN 1000 on the wire, shaping, offloads, router addresses."""

import subprocess
import time

import pytest

from emulator import runner, scenario, session
from emulator.runtime.commands import run


@pytest.fixture(scope="module")
def live():
    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    with runner.live_network(prepared) as network:
        yield prepared, network


def _capture_while_pinging(live, interface: str) -> str:
    prepared, network = live
    capture = subprocess.Popen(["tcpdump", "-i", interface, "-e", "-nn", "-l", "-c", "6", "icmp or (vlan and icmp)"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    line = ""
    while "listening on" not in line and time.monotonic() < deadline:
        line = capture.stderr.readline()
    server = prepared.plan.node("idc-server-1").name
    network.network.run_in(server, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "192.168.1.10"], check=False)
    try:
        out, _ = capture.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        capture.kill()
        out, _ = capture.communicate()
    return out


def test_frames_between_access_point_and_vbr_carry_vlan_1000(live):
    prepared, _ = live
    trunk = next(link for link in prepared.plan.links if link.kind == "leased_line_trunk")
    out = _capture_while_pinging(live, trunk.a_intf)
    icmp_lines = [line for line in out.splitlines() if "ICMP" in line]
    assert icmp_lines, out
    assert all("vlan 1000" in line for line in icmp_lines), out


def test_frames_on_the_customer_side_are_untagged(live):
    prepared, _ = live
    line_link = next(link for link in prepared.plan.links if link.kind == "leased_line")
    out = _capture_while_pinging(live, line_link.b_intf)
    icmp_lines = [line for line in out.splitlines() if "ICMP" in line]
    assert icmp_lines and not any("vlan" in line for line in icmp_lines), out


def test_leased_line_and_router_interfaces_are_shaped_with_htb(live):
    prepared, _ = live
    for link in prepared.plan.links:
        if link.bandwidth_mbps and link.a_node.startswith(("ceap", "cevbr", "cevr")):
            shown = run(["tc", "class", "show", "dev", link.a_intf]).stdout
            rate = "1Gbit" if link.bandwidth_mbps == 1000 else f"{link.bandwidth_mbps}Mbit"
            assert f"rate {rate}" in shown, (link, shown)


def test_offloads_are_off_on_bridge_ports(live):
    prepared, _ = live
    port = prepared.plan.node("vbr-12345678").interfaces[0].name
    features = run(["ethtool", "-k", port]).stdout
    assert "tx-checksumming: off" in features and "tcp-segmentation-offload: off" in features


def test_router_addresses_answer_ping(live):
    prepared, network = live
    reachable = {"idc-server-1": ("172.16.1.1", "10.100.0.1"),      # customer device, VBR
                 "i-vpcb-1": ("192.168.1.253", "100.64.0.1")}        # vSwitch gateway, VBR across ri-AAA
    for host, addresses in reachable.items():
        for address in addresses:
            result = network.network.run_in(prepared.plan.node(host).name, ["ping", "-c", "1", "-W", "2", address],
                                            check=False)
            assert result.returncode == 0, (host, address, result.stdout)


def test_router_address_without_a_route_is_unreachable_as_on_the_real_network(live):
    prepared, network = live
    # The customer device routes only the VPC prefixes to the VBR, not the interconnect addresses.
    result = network.network.run_in(prepared.plan.node("idc-server-1").name,
                                    ["ping", "-c", "1", "-W", "1", "100.64.0.2"], check=False)
    assert result.returncode != 0 and "Unreachable" in result.stdout


def test_unreachable_pair_really_drops(live):
    prepared, network = live
    instance = prepared.plan.node("i-vpca-1").name
    result = network.network.run_in(instance, ["ping", "-c", "1", "-W", "1", "192.168.1.10"], check=False)
    assert result.returncode != 0
