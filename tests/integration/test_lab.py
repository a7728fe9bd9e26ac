"""Live changes in the lab: every action goes through the control plane and reaches the running network."""

import re
import time

import pytest

from emulator import runner, scenario, session
from emulator.errors import CloudError
from emulator.lab import Lab


@pytest.fixture(scope="module")
def lab():
    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    with runner.live_network(prepared) as live:
        yield Lab(prepared, live)


def _reachable_within(lab: Lab, src: str, dst: str, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if lab.ping(src, dst).reachable:
            return time.monotonic() - started
    return None


def test_deactivate_then_activate_a_router_interface(lab):
    assert lab.ping("idc-server-1", "i-vpcb-1").reachable
    assert lab.ping("172.16.1.10", "192.168.1.10").reachable          # hosts by address, as a user may type them
    lab.deactivate("ri-AAA")
    assert not lab.ping("idc-server-1", "i-vpcb-1").reachable
    assert lab.explain("idc-server-1", "i-vpcb-1").explanation.code == "INTERFACE_NOT_ACTIVE"
    assert lab.ping("idc-server-1", "i-vpca-1").reachable, "the other VPC's pair is untouched"
    lab.activate("ri-AAA")
    assert _reachable_within(lab, "idc-server-1", "i-vpcb-1", 1.0) is not None
    assert lab.last_update_s < 1.0


def test_a_deleted_route_breaks_the_return_path_and_adding_it_back_restores_it(lab):
    lab.delete_route("vrt-87654321", "172.16.0.0/12")
    assert not lab.ping("idc-server-1", "i-vpcb-1").reachable
    assert lab.explain("idc-server-1", "i-vpcb-1").explanation.code == "NO_RETURN_ROUTE"
    lab.add_route("vrt-87654321", "172.16.0.0/12", "RouterInterface", "ri-BBB")
    assert _reachable_within(lab, "idc-server-1", "i-vpcb-1", 1.0) is not None


def test_refused_actions_change_nothing(lab):
    generation = lab.prepared.plan.generation
    with pytest.raises(CloudError) as caught:
        lab.activate("ri-AAA")                       # already Active
    assert caught.value.code == "IncorrectRIStatus"
    with pytest.raises(CloudError) as caught:
        lab.add_route("vbr-12345678", "192.168.0.0/16", "RouterInterface", "ri-BBB")   # the peer's interface
    assert caught.value.code in ("InvalidCIDRBlock.Duplicate", "InvalidNextHop.NotOwnInterface")
    assert lab.prepared.plan.generation == generation
    assert lab.ping("idc-server-1", "i-vpcb-1").reachable


def test_leased_line_down_and_up(lab):
    lab.line("pc-AAA", up=False)
    assert not lab.ping("idc-server-1", "i-vpcb-1").reachable
    assert not lab.ping("i-vpca-1", "idc-server-1").reachable
    assert lab.explain("idc-server-1", "i-vpca-1").explanation.code == "INTERFACE_NOT_ACTIVE"
    lab.line("pc-AAA", up=True)
    assert _reachable_within(lab, "idc-server-1", "i-vpcb-1", 2.0) is not None


def test_checks_follow_the_changed_state(lab):
    lab.deactivate("ri-CCC")
    try:
        checks = [c for c in lab.check() if c.kind == "ping"]
        assert all(c.passed for c in checks), [c.to_json() for c in checks if not c.passed]
        to_vpc_a = next(c for c in checks if (c.src, c.dst) == ("idc-server-1", "i-vpca-1"))
        assert to_vpc_a.detail.reachable is False and to_vpc_a.detail.expected is False
    finally:
        lab.activate("ri-CCC")


def test_capture_start_and_stop_in_the_lab(lab, tmp_path):
    lab.artifacts = tmp_path          # `lab --artifacts DIR`
    said = lab.capture_start("ri-AAA")
    assert "2 link ends" in said and str(tmp_path / "captures") in said
    assert lab.ping("idc-server-1", "i-vpcb-1").reachable
    listed = lab.capture_stop()
    files = sorted((tmp_path / "captures").glob("*.pcap"))
    assert len(files) == 2 and all(path.stat().st_size > 24 for path in files)
    assert "wireshark" in listed and " 0 packets" not in listed
    assert lab.capture_stop() == "no capture is running"


def test_line_set_changes_the_delay_pings_see_within_a_second(lab):
    server = lab.prepared.plan.node("idc-server-1").name

    def mean_rtt() -> float:
        out = lab.live.network.run_in(server, ["ping", "-c", "20", "-i", "0.02", "-W", "1", "10.10.1.10"],
                                      check=False, timeout=30).stdout
        values = [float(v) for v in re.findall(r"time=([0-9.]+) ms", out)]
        return sum(values) / len(values)

    before = mean_rtt()
    changed = lab.line_set("pc-AAA", ["latency", "30", "jitter", "0"])
    assert "30 ms one way" in changed.message and lab.last_update_s < 1.0
    assert 59 <= mean_rtt() - before + 4 <= 62     # the line had 2 ms one way (4 ms of RTT) before
    lab.line_set("pc-AAA", ["latency", "2", "jitter", "0.2"])
