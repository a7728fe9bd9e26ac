import pytest

from emulator import scenario
from emulator.errors import CloudError, ScenarioError


def test_reference_scenario_applies_the_tutorial(reference_text):
    loaded = scenario.load("multi_vpc_leased_line")
    cloud = loaded.cloud
    assert set(cloud.accounts) == {"12345678", "87654321"}
    assert cloud.vpcs["vpc-12345678"].cidr.exploded == "10.10.0.0/16"
    assert cloud.vpcs["vpc-87654321"].region == "cn-hangzhou"
    vbr = cloud.vbrs["vbr-12345678"]
    assert (vbr.vlan_id, str(vbr.local_gateway), str(vbr.peer_gateway)) == (1000, "10.100.0.1/30", "10.100.0.2/30")
    assert vbr.name == "VPC-Beijing"
    assert cloud.physical_connections["pc-AAA"].access_point == "Beijing-Daxing-A"
    ri_aaa, ri_bbb = cloud.router_interfaces["ri-AAA"], cloud.router_interfaces["ri-BBB"]
    assert ri_aaa.spec == "Large.1" and ri_aaa.bandwidth_mbps == 1000
    assert ri_bbb.bandwidth_mbps == 1000 and ri_bbb.spec == "Negative"
    assert ri_aaa.status.value == ri_bbb.status.value == "Active"
    assert [s.value for s in ri_aaa.history] == ["Idle", "Connecting", "Active"]
    assert ri_aaa.opposite_account == "87654321" and ri_bbb.opposite_account == "12345678"
    assert {(str(r.destination), str(r.next_hop)) for r in cloud.idcs["idc-customer"].static_routes} >= {
        ("192.168.0.0/16", "10.100.0.1")}
    assert len(loaded.expectations) == 4


def test_name_and_path_both_resolve():
    assert scenario.resolve("multi_vpc_leased_line") == scenario.resolve(str(scenario.SCENARIO_DIR /
                                                                           "multi_vpc_leased_line.yaml"))


def test_unknown_scenario_name_suggests_the_closest():
    with pytest.raises(ScenarioError) as caught:
        scenario.load("multi_vpc_leased_lin")
    assert "did you mean multi_vpc_leased_line" in caught.value.fix


def _error_for(write_scenario, text: str) -> ScenarioError:
    with pytest.raises((ScenarioError, CloudError)) as caught:
        scenario.load(str(write_scenario(text)))
    return caught.value


def test_misspelt_key_gets_did_you_mean_with_line(write_scenario, reference_text):
    text = reference_text.replace("        vlan_id: 1000", "        vlan_idd: 1000")
    error = _error_for(write_scenario, text)
    line = text.splitlines().index("        vlan_idd: 1000") + 1
    assert error.where.endswith(f"scenario.yaml:{line}")
    assert "vlan_idd" in error.message and "did you mean 'vlan_id'" in error.fix
    assert "steps[0].vbrs[0]" in error.message


def test_cidr_with_host_bits_suggests_the_network(write_scenario, reference_text):
    error = _error_for(write_scenario, reference_text.replace("cidr: 10.10.0.0/16", "cidr: 10.10.0.1/16"))
    assert "did you mean 10.10.0.0/16" in error.message
    assert "vpcs[0].cidr" in error.message


def test_missing_field_names_the_item(write_scenario, reference_text):
    error = _error_for(write_scenario, reference_text.replace("    access_point: Beijing-Daxing-A\n", ""))
    assert "physical_connections[0].access_point is required" in error.message


def test_provider_rule_errors_carry_the_line_of_the_resource(write_scenario, reference_text):
    text = reference_text.replace("- {account: 12345678, router_interface: ri-AAA}",
                                  "- {account: 87654321, router_interface: ri-BBB}")
    error = _error_for(write_scenario, text)
    assert isinstance(error, CloudError) and error.code == "IncorrectRole.NotInitiatingSide"
    line = text.splitlines().index("      - {account: 87654321, router_interface: ri-BBB}") + 1
    assert error.where.endswith(f":{line} (step 3: Connect from the initiating side; both sides become Active)")


def test_unknown_host_in_expectations_suggests_one(write_scenario, reference_text):
    error = _error_for(write_scenario, reference_text.replace("to: i-vpca-1, reachable: true", "to: i-vpca-2, reachable: true"))
    assert "did you mean i-vpca-1" in error.fix


def test_names_with_shell_metacharacters_are_refused(write_scenario, reference_text):
    error = _error_for(write_scenario, reference_text.replace("id: idc-server-1", "id: 'x; rm -rf /'", 1))
    assert "not a valid ID" in error.message


def test_top_level_must_be_a_mapping(write_scenario):
    error = _error_for(write_scenario, "- just\n- a list\n")
    assert "top level must be a mapping" in error.message


def test_account_ids_may_be_written_as_numbers_or_strings(write_scenario, reference_text):
    loaded = scenario.load(str(write_scenario(reference_text.replace("  - id: 12345678", "  - id: '12345678'"))))
    assert "12345678" in loaded.cloud.accounts


def test_steps_apply_in_order_and_a_lab_can_stop_and_continue():
    first_two = scenario.load("multi_vpc_leased_line", until_step=2)
    assert first_two.steps_applied == 2 and not first_two.complete
    assert {ri.status.value for ri in first_two.cloud.router_interfaces.values()} == {"Idle"}
    assert first_two.step_titles()[2].startswith("Connect")
    applied = first_two.apply_next_step()
    assert applied[0].startswith("Step 3") and first_two.steps_applied == 3
    assert first_two.cloud.router_interfaces["ri-AAA"].status.value == "Active"
    while not first_two.complete:
        first_two.apply_next_step()
    assert len(first_two.cloud.idcs["idc-customer"].static_routes) == 2
    with pytest.raises(ScenarioError, match="already applied"):
        first_two.apply_next_step()


def test_until_step_out_of_range():
    with pytest.raises(ScenarioError) as caught:
        scenario.load("multi_vpc_leased_line", until_step=9)
    assert "has 5 steps" in caught.value.message


def test_provider_refusals_name_the_field(write_scenario, reference_text):
    text = reference_text.replace("        vlan_id: 1000", "        vlan_id: 3000")
    error = _error_for(write_scenario, text)
    line = text.splitlines().index("        vlan_id: 3000") + 1
    assert error.code == "InvalidVlanId.Malformed"
    assert error.where.split(" (step")[0].endswith(f":{line}")
    assert error.message.startswith("steps[0].vbrs[0].vlan_id: InvalidVlanId.Malformed")
