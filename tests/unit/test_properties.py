"""No input, however malformed, produces a traceback: only the emulator's own errors, with a place."""

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import scenario
from emulator.errors import EmulatorError
from emulator.plan import LINUX_NAME_MAX, make_plan
from emulator.routing.reachability import expected_matrix
from emulator.routing.topology import build_network
from emulator.yaml_source import parse_yaml
from tests.conftest import REFERENCE

REFERENCE_DATA = yaml.safe_load(REFERENCE.read_text())

nasty_text = st.sampled_from(["", " ", "x; rm -rf /", "$(reboot)", "`id`", "a" * 300, "ünï", "\x00", "-1",
                              "10.0.0.0/33", "999.1.1.1", "0.0.0.0/0", "Large.1", "ri-AAA", "vbr-12345678",
                              "eth0", "../../etc/passwd", "1e309"])
leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                 st.floats(allow_nan=True), nasty_text, st.text(max_size=40))
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=6)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, item in data.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _paths(item, prefix + (index,))


ALL_PATHS = [p for p in _paths(REFERENCE_DATA) if p]


def _replace(data, path, new):
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new


def _load_text(text: str):
    data, source = parse_yaml(text, "fuzz.yaml")
    model = scenario.validate(data, source)
    loaded = scenario.apply(model, source, REFERENCE)
    network = build_network(loaded.cloud)
    plan = make_plan(network, loaded.name)
    expected_matrix(network)
    assert all(len(i.name) <= LINUX_NAME_MAX for n in plan.nodes for i in n.interfaces)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(ALL_PATHS), new=value)
def test_any_single_edit_of_the_reference_gives_a_result_or_a_located_error(path, new):
    data = copy.deepcopy(REFERENCE_DATA)
    _replace(data, path, new)
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    try:
        _load_text(text)
    except EmulatorError as error:
        assert error.message
        assert error.where.startswith("fuzz.yaml"), error.render()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_a_scenario_error(text):
    try:
        _load_text(text)
    except EmulatorError as error:
        assert error.where.startswith("fuzz.yaml")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ALL_PATHS), min_size=1, max_size=4))
def test_deleting_parts_of_the_reference_never_tracebacks(paths):
    data = copy.deepcopy(REFERENCE_DATA)
    for path in sorted(set(paths), key=len, reverse=True):
        target = data
        try:
            for part in path[:-1]:
                target = target[part]
            del target[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
    try:
        _load_text(yaml.safe_dump(data))
    except EmulatorError as error:
        assert error.where.startswith("fuzz.yaml")


def test_long_cloud_ids_still_give_short_linux_names():
    data = copy.deepcopy(REFERENCE_DATA)
    long_id = "i-" + "x" * 61
    data["vpcs"][1]["vswitches"][0]["instances"][0]["id"] = long_id
    for item in data["expect"] + data["checks"]["traceroute"] + data["checks"]["throughput"]:
        for key in ("from", "to"):
            if item[key] == "i-vpcb-1":
                item[key] = long_id
    _load_text(yaml.safe_dump(data))


OPERATIONS = st.sampled_from(["deactivate", "activate", "delete_ri", "add_route", "delete_route", "line"])
RI_IDS = st.sampled_from(["ri-AAA", "ri-BBB", "ri-CCC", "ri-DDD", "ri-ZZZ"])
ROUTERS = st.sampled_from(["vbr-12345678", "vrt-12345678", "vrt-87654321", "vpc-12345678", "nothing"])
PREFIXES = st.sampled_from(["172.16.0.0/12", "192.168.0.0/16", "10.10.0.0/16", "10.10.1.0/24", "0.0.0.0/0",
                            "192.168.0.0/20", "100.64.0.0/10"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(OPERATIONS, RI_IDS, ROUTERS, PREFIXES, st.booleans()), max_size=12))
def test_any_sequence_of_console_actions_is_accepted_or_refused_with_a_code(actions):
    from ipaddress import IPv4Network

    from emulator.cloud.resources import NextHopType
    from emulator.errors import CloudError

    loaded = scenario.load("multi_vpc_leased_line")
    cloud = loaded.cloud
    for operation, ri, router, prefix, flag in actions:
        network = IPv4Network(prefix)
        try:
            if operation == "deactivate":
                cloud.deactivate_router_interface(ri_id=ri)
            elif operation == "activate":
                cloud.activate_router_interface(ri_id=ri)
            elif operation == "delete_ri":
                cloud.delete_router_interface(ri_id=ri)
            elif operation == "add_route":
                kind = NextHopType.PHYSICAL_CONNECTION if flag else NextHopType.ROUTER_INTERFACE
                cloud.add_route_entry(router_id=router, destination=network, next_hop_type=kind,
                                      next_hop_id="pc-AAA" if flag else ri)
            elif operation == "delete_route":
                cloud.delete_route_entry(router_id=router, destination=network)
            else:
                cloud.set_physical_connection_state(pc_id="pc-AAA", up=flag)
        except CloudError as error:
            assert error.code and error.fix
        topology = build_network(cloud)
        expected_matrix(topology)
        make_plan(topology, loaded.name)
