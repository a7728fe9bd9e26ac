"""The lab's commands as values (issue 25, section 2): only what the scenario can use, help with its own IDs,
did-you-mean, completion."""

from emulator import scenario, session
from emulator.lab_commands import LabIds, command_list, completions, help_for, suggest, unavailable_reason


def _ids(name: str, until_step: int | None = None) -> LabIds:
    loaded = scenario.load(name, until_step=until_step)
    return LabIds.of(loaded.cloud, session.prepare(loaded).network.hosts)


def test_the_list_has_only_what_the_scenario_can_use():
    plain, bgp = command_list(_ids("multi_vpc_leased_line")), command_list(_ids("multi_vpc_leased_line_bgp"))
    assert "\n  bgp " not in plain and "\n  bgp " in bgp
    assert "pingall" not in plain and "xterm" not in plain          # Mininet's help is not the lab's
    before_any_interface = command_list(_ids("multi_vpc_leased_line", until_step=0))
    assert "\n  ri " not in before_any_interface and "\n  ri " in plain        # a later step creates them
    assert unavailable_reason("bgp", _ids("multi_vpc_leased_line")).startswith("this scenario runs no BGP")
    assert unavailable_reason("ping", _ids("multi_vpc_leased_line")) is None


def test_help_gives_usage_and_examples_with_the_scenarios_own_ids():
    ids = _ids("multi_vpc_leased_line")
    line = help_for("line", ids)
    assert line.startswith("usage: line down|up PC_ID | line fail|restore PC_ID | line set PC_ID")
    assert "line set pc-AAA latency 30 jitter 2 loss 1" in line and "fail/restore" in line
    route = help_for("route", ids)
    assert "route del vrt-87654321 172.16.0.0/12" in route
    assert "route add vrt-87654321 172.16.0.0/12 RouterInterface ri-BBB" in route
    assert "ping idc-server-1 i-vpca-1" in help_for("ping", ids)
    assert help_for("xterm", ids) is None and help_for("bgp", ids) is None
    redundant = help_for("line", _ids("redundant_leased_lines"))
    assert "line down pc-AAA" in redundant


def test_a_typo_gets_the_command_meant():
    ids = _ids("multi_vpc_leased_line")
    assert suggest("explian", ids) == ["explain"]
    assert suggest("rout", ids)[0] == "route"
    assert suggest("zzzz", ids) == []
    assert suggest("pingal", ids)[0] == "pingall"                          # Mininet's own, still known
    assert help_for("nodes", ids).startswith("`nodes` is one of Mininet's own commands")


def test_tab_completes_commands_then_their_words_and_the_scenarios_ids():
    ids = _ids("multi_vpc_leased_line")
    assert completions("pi", ids) == ["ping"]
    assert set(completions("", ids)) >= {"route", "ping", "explain", "check", "probe"}
    assert completions("ri de", ids) == ["deactivate"]
    assert completions("ri deactivate ri-A", ids) == ["ri-AAA"]
    assert "idc-server-1" in completions("ping ", ids) and "i-vpcb-1" in completions("ping idc-server-1 i-vpc", ids)
    assert completions("line set pc-AAA lat", ids) == ["latency"]
    assert completions("cesrv1 pi", ids) == []          # a node's own command: nothing of ours to offer
    assert completions("help li", ids) == ["line"] and "idc-server-1" not in completions("help ", ids)
    assert completions("help line ", ids) == []
    assert completions("ce", ids, node_names=("cesrv1", "cevbr1")) == ["cesrv1", "cevbr1"]
