"""BGP on the leased line with real daemons: FRR on the customer device, os-ken's BGPSpeaker for the VBR.

Each test builds the network, lets the sessions come up through the access point and VLAN 1000, and checks
what a person would: the session states both daemons report, the routes in the VBR's flows and the device's
kernel, pings that follow the routing, and the BGP packets on the wire.
"""

from __future__ import annotations

import re

import pytest

from emulator import runner, scenario, session
from emulator.lab import Lab
from emulator.runtime.commands import run


def _vbr_flows(live, prepared) -> str:
    return run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", prepared.plan.node("vbr-12345678").name]).stdout


def _kernel_routes(live, prepared) -> str:
    return live.network.run_in(prepared.plan.node("customer-router").name, ["ip", "route"]).stdout


def _ping(live, prepared, src: str, dst_ip: str) -> bool:
    node = prepared.plan.node(src).name
    return live.network.run_in(node, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst_ip],
                               check=False).returncode == 0


@pytest.fixture(scope="module")
def bgp_live():
    prepared = session.prepare(scenario.load("multi_vpc_leased_line_bgp"))
    with runner.live_network(prepared) as live:
        yield prepared, live


def test_the_session_comes_up_and_routes_are_installed_on_both_sides(bgp_live):
    prepared, live = bgp_live
    [watch] = live.bgp_convergence.watches
    assert not live.bgp_convergence.timed_out
    assert watch.status.customer_state == "Established" and watch.status.cloud_state == "Established"
    assert watch.established_s is not None and watch.converged_s >= watch.established_s
    assert watch.status.cloud_received == ["172.16.0.0/12"]
    assert sorted(watch.status.customer_received) == ["10.10.0.0/16", "192.168.0.0/16"]
    assert "nw_dst=172.16.0.0/12" in _vbr_flows(live, prepared), "the learned route is a flow on the VBR"
    routes = _kernel_routes(live, prepared)
    assert re.search(r"192\.168\.0\.0/16 (nhid \d+ )?via 10\.100\.0\.1 .*proto bgp", routes), routes
    assert _ping(live, prepared, "idc-server-1", "192.168.1.10")
    assert _ping(live, prepared, "i-vpca-1", "172.16.1.10")


def test_a_withdrawn_prefix_leaves_the_vbr_and_pings_follow(bgp_live):
    prepared, live = bgp_live
    lab = Lab(prepared, live)
    lab.bgp_advertise("172.16.0.0/12", withdraw=True)
    assert "nw_dst=172.16.0.0/12" not in _vbr_flows(live, lab.prepared)
    assert not _ping(live, lab.prepared, "i-vpcb-1", "172.16.1.10")
    assert lab.explain("i-vpcb-1", "idc-server-1").explanation.code == "NOT_ADVERTISED"
    lab.bgp_advertise("172.16.0.0/12")
    assert "nw_dst=172.16.0.0/12" in _vbr_flows(live, lab.prepared)
    assert _ping(live, lab.prepared, "i-vpcb-1", "172.16.1.10")


def test_the_session_goes_down_and_comes_back(bgp_live):
    prepared, live = bgp_live
    lab = Lab(prepared, live)
    lab.bgp_session(up=False)
    status = live.bgp.status(live.bgp_convergence.watches[0].session)
    assert not status.established and status.cloud_received == []
    assert "192.168.0.0/16" not in _kernel_routes(live, lab.prepared)
    assert not _ping(live, lab.prepared, "idc-server-1", "192.168.1.10")
    lab.bgp_session(up=True)
    assert _ping(live, lab.prepared, "idc-server-1", "192.168.1.10")
    assert "VBR" not in lab.bgp_show("vbr") and "Established" in lab.bgp_show("vbr")
