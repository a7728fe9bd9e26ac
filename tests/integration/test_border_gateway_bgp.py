"""JD Cloud with real daemons: FRR on the customer device, os-ken speaking for the border gateway's interface.

One network for the module (multi_vpc_border_gateway_bgp): the session comes up through the access point and
VLAN 200, the IDC's block reaches the gateway's flows and, by propagation, every VPC router's; the gateway's
route preference holds on the wire when the IDC advertises a segment an attachment already propagates.
"""

from __future__ import annotations

import re

import pytest

from emulator import runner, scenario, session
from emulator.lab import Lab
from emulator.runtime.commands import run


def _flows(prepared, node_id: str) -> str:
    return run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", prepared.plan.node(node_id).name]).stdout


def _out_port(flows: str, prefix: str) -> int | None:
    """The port the routing flow for `prefix` sends to (its last output action)."""
    for line in flows.splitlines():
        if f"nw_dst={prefix} " in line or line.rstrip().endswith(f"nw_dst={prefix}"):
            outputs = re.findall(r"output:(\d+)", line)
            if outputs:
                return int(outputs[-1])
    return None


def _ping(live, prepared, src: str, dst_ip: str) -> bool:
    node = prepared.plan.node(src).name
    return live.network.run_in(node, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst_ip],
                               check=False).returncode == 0


@pytest.fixture(scope="module")
def jd_live():
    prepared = session.prepare(scenario.load("multi_vpc_border_gateway_bgp"))
    with runner.live_network(prepared) as live:
        yield prepared, live


def test_the_gateway_learns_the_idc_and_every_vpc_learns_it_from_the_gateway(jd_live):
    prepared, live = jd_live
    [watch] = live.bgp_convergence.watches
    assert not live.bgp_convergence.timed_out
    assert watch.status.customer_state == "Established" and watch.status.cloud_state == "Established"
    assert watch.status.cloud_received == ["192.168.0.0/16"]
    assert sorted(watch.status.customer_received) == ["10.0.1.0/24", "10.1.1.0/24", "10.2.1.0/24"]
    gateway = prepared.plan.node("bgw-bj0001")
    assert _out_port(_flows(prepared, "bgw-bj0001"), "192.168.0.0/16") == gateway.interface("pvi-bj0001").port_no
    for vpc in ("vpc-bj0001", "vpc-bj0002", "vpc-bj0003"):
        router = f"{vpc}-vrouter"
        assert _out_port(_flows(prepared, router), "192.168.0.0/16") is not None, f"{router} did not learn the IDC"
    routes = live.network.run_in(prepared.plan.node("customer-router").name, ["ip", "route"]).stdout
    assert re.search(r"10\.0\.1\.0/24 (nhid \d+ )?via 10\.255\.0\.2 .*proto bgp", routes), routes
    assert "10.2.2.0/24" not in routes
    assert _ping(live, prepared, "idc-server-1", "10.0.1.10")
    assert _ping(live, prepared, "i-vm3", "192.168.1.10")
    assert not _ping(live, prepared, "idc-server-1", "10.2.2.10")


def test_an_attachment_beats_the_idc_for_the_same_segment_on_the_wire(jd_live):
    prepared, live = jd_live
    lab = Lab(prepared, live)
    lab.bgp_advertise("10.2.1.0/24")
    [watch] = live.bgp_convergence.watches
    assert "10.2.1.0/24" in live.bgp.status(watch.session).cloud_received
    gateway = lab.prepared.plan.node("bgw-bj0001")
    assert _out_port(_flows(lab.prepared, "bgw-bj0001"), "10.2.1.0/24") == gateway.interface("bgwatt-3").port_no
    assert _ping(live, lab.prepared, "i-vm1", "10.2.1.10")
    # The device keeps its own origination: the IDC loses VPC-3's segment, as explain predicts.
    assert not _ping(live, lab.prepared, "idc-server-1", "10.2.1.10")
    assert lab.explain("idc-server-1", "i-vm3").explanation.code == "OWN_PREFIX"
    lab.bgp_advertise("10.2.1.0/24", withdraw=True)
    assert "10.2.1.0/24" not in live.bgp.status(watch.session).cloud_received
    assert _ping(live, lab.prepared, "idc-server-1", "10.2.1.10")


def test_a_more_specific_idc_prefix_reaches_the_vpcs_and_leaves_with_the_withdrawal(jd_live):
    prepared, live = jd_live
    lab = Lab(prepared, live)
    lab.bgp_advertise("192.168.1.0/24")
    assert _out_port(_flows(lab.prepared, "vpc-bj0002-vrouter"), "192.168.1.0/24") is not None
    assert _ping(live, lab.prepared, "i-vm2", "192.168.1.10")
    lab.bgp_advertise("192.168.1.0/24", withdraw=True)
    assert _out_port(_flows(lab.prepared, "vpc-bj0002-vrouter"), "192.168.1.0/24") is None
    assert "bgw-bj0001 AS 65000: peer 10.255.0.1 AS 65001 Established" in lab.bgp_show("bgw")
