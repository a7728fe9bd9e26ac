"""Delay, jitter and loss: from the scenario file to the tc command lines, without root.

The netem command lines are held here for kernels that have netem (a stock Ubuntu kernel, the Vagrant lab),
whatever kernel runs the tests.
"""

import pytest

from emulator import scenario, session
from emulator.cloud.control_plane import ControlPlane
from emulator.errors import CloudError, ScenarioError
from emulator.impairment import Impairment
from emulator.lab import parse_line_settings
from emulator.plan import Plan
from emulator.runtime import impairment, shaping


def _error_for(write_scenario, text: str):
    with pytest.raises((ScenarioError, CloudError)) as caught:
        scenario.load(str(write_scenario(text)))
    return caught.value


def test_the_shipped_scenario_carries_its_example_values_into_the_plan():
    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    links = {link.cloud_id: link.impairment for link in prepared.plan.links if link.kind != "leased_line_trunk"}
    assert links["pc-AAA"] == Impairment(latency_ms=2, jitter_ms=0.2)
    assert links["ri-AAA/ri-BBB"] == Impairment(latency_ms=14)
    assert links["ri-CCC/ri-DDD"].ideal
    assert Plan.from_json(prepared.plan.to_json()).links == prepared.plan.links


@pytest.mark.parametrize("line, why", [
    ("    latency_ms: -1", "greater than or equal to 0"),
    ("    latency_ms: 100000", "less than or equal to 1000"),
    ("    latency_ms: '20'", "is not a number such as 20"),
    ("    latency_ms: true", "is not a number such as 20"),
    ("    loss_percent: 101", "less than or equal to 100"),
    ("    jitter_ms: 5", "jitter_ms 5 is larger than latency_ms 2"),
])
def test_bad_values_are_refused_at_their_line(write_scenario, reference_text, line, why):
    field = line.split(":")[0]
    text = reference_text.replace("    latency_ms: 2\n    jitter_ms: 0.2\n",
                                  ("    latency_ms: 2\n" if "latency" not in field else "") + line + "\n")
    error = _error_for(write_scenario, text)
    assert why in error.render()
    number = text.splitlines().index(line) + 1 if "jitter" not in field else None
    if number:
        assert error.where.endswith(f"scenario.yaml:{number}")


def test_the_accepting_side_carries_the_initiators_latency(write_scenario, reference_text):
    text = reference_text.replace("        spec: Negative\n        opposite: {account: 12345678, router_type: VBR, "
                                  "router_id: vbr-12345678, interface_id: ri-AAA}",
                                  "        spec: Negative\n        latency_ms: 3\n        opposite: {account: 12345678, "
                                  "router_type: VBR, router_id: vbr-12345678, interface_id: ri-AAA}")
    error = _error_for(write_scenario, text)
    assert "carries the initiating side's latency_ms" in error.message


def test_netem_hangs_below_htb_when_the_link_is_shaped():
    commands = impairment.egress_commands("cecpe1-eth2", 100, Impairment(20, 2, 1), netem=True)
    assert commands[:2] == shaping.htb_commands("cecpe1-eth2", 100)
    assert commands[2] == ["tc", "qdisc", "add", "dev", "cecpe1-eth2", "parent", "5:1", "handle", "10:", "netem",
                           "limit", "1000", "delay", "20ms", "2ms", "loss", "random", "1%"]


def test_netem_is_the_root_of_an_unshaped_link_and_holds_what_is_in_flight():
    commands = impairment.egress_commands("cevbr1-eth2", None, Impairment(latency_ms=50), netem=True)
    # 10 Gbit/s assumed for an unshaped link: 825,627 frames/s x 50 ms, twice over.
    assert commands == [["tc", "qdisc", "add", "dev", "cevbr1-eth2", "root", "handle", "10:", "netem",
                         "limit", "82563", "delay", "50ms"]]


def test_without_netem_only_the_rate_is_set_on_the_ends():
    assert impairment.egress_commands("x", 100, Impairment(20), netem=False) == shaping.htb_commands("x", 100)
    assert impairment.egress_commands("x", None, Impairment(20), netem=False) == []


def test_htb_buckets_hold_a_millisecond_at_the_rate_and_the_ceiling_burst_too():
    assert shaping.burst_bytes(100) == 15_000
    assert shaping.burst_bytes(1000) == 125_000
    rate_class = shaping.htb_commands("x", 1000)[1]
    assert rate_class[-8:] == ["rate", "1000mbit", "ceil", "1000mbit", "burst", "125000", "cburst", "125000"]


def test_line_set_changes_only_the_values_named():
    current = Impairment(2, 0.2, 0)
    assert parse_line_settings(["latency", "30", "loss", "1"], current) == Impairment(30, 0.2, 1)
    for words, why in ((["latency"], "give a number"), (["delay", "3"], "not a property"),
                       (["loss", "x"], "needs a number"), (["loss", "nan"], "outside"),
                       (["latency", "1", "jitter", "3"], "larger than latency_ms")):
        with pytest.raises(ScenarioError, match=why):
            parse_line_settings(words, current)


def test_line_set_without_values_gives_an_example_with_the_line_named():
    """Issue 25: `line set pc-AAA` suggested `e.g. line set PC_ID ...`."""
    with pytest.raises(ScenarioError) as refused:
        parse_line_settings([], Impairment(2, 0.2, 0), "pc-AAA")
    assert refused.value.fix.startswith("e.g. line set pc-AAA latency 30")


def test_the_control_plane_refuses_an_unknown_line():
    cloud = ControlPlane()
    with pytest.raises(CloudError, match="InvalidPhysicalConnectionId.NotFound"):
        cloud.modify_physical_connection_impairment(pc_id="pc-nope", impairment=Impairment(1))


def test_a_line_that_drops_everything_is_not_reachable_for_explain(write_scenario, reference_text):
    """Issue 24: loss_percent 100 is inside the range, but explain said REACHABLE across it, so `run` contradicted
    its own expected matrix. A line that carries nothing is cut for the model, as a silent failure is."""
    from emulator.routing.reachability import evaluate
    from emulator.routing.topology import build_network
    lossy = reference_text.replace("    latency_ms: 2\n", "    latency_ms: 2\n    loss_percent: 100\n", 1)
    assert lossy != reference_text
    network = build_network(scenario.load(str(write_scenario(lossy))).cloud)
    assert not evaluate(network, "idc-server-1", "i-vpca-1").reachable
    almost = reference_text.replace("    latency_ms: 2\n", "    latency_ms: 2\n    loss_percent: 99.9\n", 1)
    assert evaluate(build_network(scenario.load(str(write_scenario(almost))).cloud), "idc-server-1",
                    "i-vpca-1").reachable
