"""One range, one code (issue 24): every whole number whose range the provider checks is refused with the
provider's code, at its line, however far outside the range it is. Before, -1 for a BFD interval or 256 for a
weight got pydantic's "greater than or equal to 0" from the schema's own coarse bounds, which no document
names, while 199 or 50 got the documented code. The published JSON schema carries the provider's range."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import scenario, schema
from emulator.errors import CloudError, EmulatorError
from emulator.scenario import SCENARIO_DIR
from emulator.yaml_source import parse_yaml

# (scenario, key, which occurrence of the key, the provider's range, its code); the refusal names the key's line,
# or the line of the list it sits in (PINNED)
RANGED = [
    ("redundant_leased_lines_bgp", "min_rx_interval", 0, (200, 1000), "InvalidParameter.MinRxInterval"),
    ("redundant_leased_lines_bgp", "min_tx_interval", 0, (200, 1000), "InvalidParameter.MinTxInterval"),
    ("redundant_leased_lines_bgp", "detect_multiplier", 0, (3, 10), "InvalidParameter.DetectMultiplier"),
    ("redundant_leased_lines_bgp", "bfd_interval_ms", 0, (10, 60000), "InvalidParameter.Bfd"),
    ("redundant_leased_lines_bgp", "bfd_multiplier", 0, (2, 255), "InvalidParameter.Bfd"),
    ("redundant_leased_lines_standby", "hc_rate", 0, (2000, 3000), "InvalidParameter.HcRate"),
    ("redundant_leased_lines_standby", "hc_threshold", 0, (3, 8), "InvalidParameter.HcThreshold"),
    ("redundant_leased_lines_standby", "weight", 0, (100, 100), "InvalidParameter.Weight"),   # the active one
    ("multi_vpc_leased_line", "vlan_id", 0, (0, 2999), "InvalidVlanId.Malformed"),
    ("multi_vpc_border_gateway_bgp", "vlan_id", 0, (1, 4094), "InvalidParameter.VlanId"),
    ("multi_vpc_border_gateway_bgp", "asn", 0, (65000, 65000), "InvalidParameter.Asn"),
]
IDS = [f"{name}:{key}" for name, key, *_ in RANGED]
PINNED = {"weight": "next_hop_list:", "bfd_interval_ms": "neighbors:", "bfd_multiplier": "neighbors:"}


def _paths_of(data, key: str, prefix=()):
    if isinstance(data, dict):
        for name, item in data.items():
            if name == key:
                yield prefix + (name,)
            yield from _paths_of(item, key, prefix + (name,))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _paths_of(item, key, prefix + (index,))


def _with(name: str, key: str, occurrence: int, value: int, inside: tuple = ()) -> tuple[str, str]:
    """The scenario's text with the key's value replaced (or added to the mapping at `inside`, where the scenario
    leaves it at its default), and the text of the line the refusal must name."""
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text())
    found = list(_paths_of(data, key))
    path = found[occurrence] if found else (*inside, key)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return yaml.safe_dump(data, sort_keys=False, width=400), f"{key}: {value}"


def _refusal(text: str) -> EmulatorError:
    data, source = parse_yaml(text, "ranged.yaml")
    with pytest.raises(EmulatorError) as refused:
        scenario.apply(scenario.validate(data, source), source, SCENARIO_DIR / "ranged.yaml")
    return refused.value


def _outside(low: int, high: int):
    shapes = [low - 1, high + 1, -1, 0, 256, 100_001, 2**31, 2**32, -(2**63), 10**30]   # the issue's, and beyond
    return st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1),
                     st.sampled_from([v for v in shapes if not low <= v <= high]))


@pytest.mark.parametrize(("name", "key", "occurrence", "bounds", "code"), RANGED, ids=IDS)
def test_values_just_inside_the_provider_range_are_taken(name, key, occurrence, bounds, code):
    for value in bounds:
        text, _line = _with(name, key, occurrence, value)
        data, source = parse_yaml(text, "ranged.yaml")
        scenario.apply(scenario.validate(data, source), source, SCENARIO_DIR / "ranged.yaml")


@pytest.mark.parametrize(("name", "key", "occurrence", "bounds", "code"), RANGED, ids=IDS)
def test_any_value_outside_it_gets_the_provider_code_at_its_line(name, key, occurrence, bounds, code):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(value=_outside(*bounds))
    def refused_with_the_code(value: int) -> None:
        text, line = _with(name, key, occurrence, value)
        error = _refusal(text)
        assert isinstance(error, CloudError) and error.code == code, (value, error.message)
        line_no = next(i for i, row in enumerate(text.splitlines(), start=1) if PINNED.get(key, line) in row)
        assert error.where.split()[0] == f"ranged.yaml:{line_no}", (value, error.where, line_no)

    refused_with_the_code()


def test_the_published_schema_shows_the_provider_ranges_and_no_coarse_bounds():
    published = json.loads(schema.json_schema())
    definitions = published["$defs"]
    assert {"minimum": 200, "maximum": 1000}.items() <= definitions["Vbr"]["properties"]["min_rx_interval"].items()
    assert definitions["HealthCheck"]["properties"]["hc_rate"]["minimum"] == 2000
    assert definitions["EcmpNextHop"]["properties"]["weight"]["maximum"] == 100
    assert "100000" not in json.dumps(definitions["Vbr"]) and "2147483648" not in json.dumps(published)


def _standby_with(old: str, new: str) -> EmulatorError:
    base = (SCENARIO_DIR / "redundant_leased_lines_standby.yaml").read_text()
    assert old in base
    return _refusal(base.replace(old, new, 1))


def test_the_schema_and_the_rule_agree_on_the_first_event():
    """The published schema said the first event may be at 1 s; validate then refused it as "less than 2 s after
    the event before it (0 s)", naming an event that does not exist."""
    at_s = json.loads(schema.json_schema())["$defs"]["Event"]["properties"]["at_s"]
    assert at_s["minimum"] == 2
    error = _standby_with("at_s: 5,", "at_s: 1,")
    assert "events[0].at_s" in error.message and "greater than or equal to 2" in error.message
    assert error.where.endswith(":161")
    again = _standby_with("at_s: 30,", "at_s: 6,")
    assert "after events[0] (5 s)" in again.message and "the second before each event" in again.message


@pytest.mark.parametrize(("old", "new"), [("at_s: 5,", "at_s: '5',"), ("at_s: 5,", "at_s: true,"),
                                          ("settle_s: 20", "settle_s: '20'")])
def test_event_times_are_numbers_as_strictly_as_every_other_number(old, new):
    error = _standby_with(old, new)
    assert "is not a number such as 20" in error.message and "unquoted" in error.fix


def _list_caps() -> set[tuple[str, int]]:
    import annotated_types
    from pydantic import BaseModel
    caps = set()
    for model in vars(schema).values():
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel:
            for name, info in model.model_fields.items():
                caps |= {(info.alias or name, meta.max_length) for meta in info.metadata
                         if isinstance(meta, annotated_types.MaxLen)}
    return caps


def test_every_list_cap_is_in_the_reference_with_its_number():
    """Issue 24: 17 private virtual interfaces were refused at a cap of 16 that no page named, below the
    provider's quota of 50; the refusal pointed at a page that did not mention it."""
    text = (SCENARIO_DIR.parent / "docs" / "scenario-reference.md").read_text()
    sizes = text.split("### Sizes of one file", 1)[1].split("\n## ", 1)[0]
    rows = [row for row in sizes.splitlines() if row.startswith("| `")]
    missing = [(name, cap) for name, cap in sorted(_list_caps())
               if not any(f"`{name}`" in row.split("|")[1] and row.split("|")[2].strip() == str(cap) for row in rows)]
    assert not missing, missing
    assert ("private_virtual_interfaces", 400) in _list_caps()


def test_a_list_over_its_cap_is_refused_with_its_cap_and_the_page_that_names_it():
    base = (SCENARIO_DIR / "multi_vpc_leased_line.yaml").read_text()
    data = yaml.safe_load(base)
    data["expect"] = data["expect"] * 1025
    error = _refusal(yaml.safe_dump(data, sort_keys=False))
    assert error.message.startswith("expect: ") and "more than the 1024 the emulator takes" in error.message
    assert "Sizes of one file" in error.fix


# The emulator's own ranges (the schema's bounds, each in the reference): a located refusal naming the field.
SCHEMA_RANGED = [
    ("multi_vpc_leased_line", "bandwidth_mbps", (1, 100_000)),
    ("multi_vpc_leased_line", "latency_ms", (0, 1000)),
    ("multi_vpc_leased_line", "loss_percent", (0, 100), ("physical_connections", 0)),
    ("multi_vpc_leased_line", "duration_s", (1, 60)),
    ("redundant_leased_lines_standby", "metric", (0, 65535)),
    ("redundant_leased_lines_standby", "interval_ms", (5, 1000), ("checks", "failover", 0)),
    ("redundant_leased_lines_standby", "tcp_mbps", (0, 1000), ("checks", "failover", 0)),
    ("redundant_leased_lines_standby", "at_s", (2, 600)),
    ("redundant_leased_lines_standby", "settle_s", (2, 600)),
    ("multi_vpc_leased_line_bgp", "remote_asn", (1, 2**32 - 1)),
    ("multi_vpc_leased_line_bgp", "peer_asn", (1, 2**32 - 1)),
]


@pytest.mark.parametrize(("name", "key", "bounds", "inside"), [(*entry, ())[:4] for entry in SCHEMA_RANGED],
                         ids=[f"{entry[0]}:{entry[1]}" for entry in SCHEMA_RANGED])
def test_the_emulators_own_ranges_refuse_any_value_outside_at_the_fields_line(name, key, bounds, inside):
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(value=_outside(*bounds))
    def refused_there(value: int) -> None:
        text, line = _with(name, key, 0, value, inside)
        error = _refusal(text)
        line_no = next(i for i, row in enumerate(text.splitlines(), start=1) if line in row)
        assert key in error.message and error.where.split()[0] == f"ranged.yaml:{line_no}", (value, error)
        assert "Traceback" not in error.render()

    refused_there()
