from emulator import generate, scenario
from emulator.runtime.network import bridge_command


def test_generated_scenario_validates_and_connects_every_vpc(write_scenario):
    loaded = scenario.load(str(write_scenario(generate.border_gateway(12))))
    assert len(loaded.cloud.vpcs) == 12 and len(loaded.cloud.attachments) == 12
    assert len(loaded.cloud.learnt_routes("vpc-g001")) == 11


def test_generator_bounds():
    import pytest

    for bad in (1, 251):
        with pytest.raises(ValueError):
            generate.border_gateway(bad)


def test_bridge_command_is_one_transaction_as_an_argument_list():
    argv = bridge_command("cebgw1", "ce00000000000001", "user", "tcp:127.0.0.1:6653",
                          [(f"cebgw1-eth{n}", n) for n in range(1, 65)])
    assert argv[0] == "ovs-vsctl" and "datapath_type=netdev" in argv and "external-ids:cloud-emulator=cebgw1" in argv
    assert 'target="tcp:127.0.0.1:6653"' in argv and "controller=[@c0]" in argv
    assert argv.count("add-port") == 64 and "ofport_request=64" in argv
    assert sum(len(a) + 1 for a in argv) > 4096     # longer than a pty line: why it is not typed into a shell
