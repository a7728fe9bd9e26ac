"""Every FRR configuration the emulator writes is one FRR itself accepts (`vtysh --dryrun`), and one it would
refuse stops the run before any daemon starts: the daemons log a bad line and start anyway."""

from pathlib import Path

import pytest

from emulator import frr_config, scenario
from emulator.routing import bgp as bgp_model
from emulator.runtime.bgp import refused_by_frr
from emulator.scenario import SCENARIO_DIR

WITH_CUSTOMER_BGP = sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml") if "customer_bgp:" in path.read_text())


def test_the_shipped_scenarios_with_customer_bgp_are_all_checked():
    assert len(WITH_CUSTOMER_BGP) >= 6, WITH_CUSTOMER_BGP


@pytest.mark.parametrize("name", WITH_CUSTOMER_BGP)
def test_frr_accepts_every_configuration_written_for_a_shipped_scenario(name, tmp_path: Path):
    cloud = scenario.load(name).cloud
    sessions = bgp_model.sessions(cloud)
    router_id = sessions[0].customer_ip if sessions else "10.255.255.254"
    written = {"zebra": frr_config.zebra_conf("cecpe1", str(tmp_path / "zebra.log")),
               "bgpd": frr_config.bgpd_conf(cloud.customer_bgp, router_id, "cecpe1", str(tmp_path / "bgpd.log")),
               "bfdd": frr_config.bfdd_conf(cloud.customer_bgp, "cecpe1", str(tmp_path / "bfdd.log"))}
    for daemon, text in written.items():
        path = tmp_path / f"{daemon}.conf"
        path.write_text(text)
        assert refused_by_frr(path) is None, (daemon, text)


def test_a_configuration_frr_refuses_is_said_with_its_line(tmp_path: Path):
    path = tmp_path / "bgpd.conf"
    path.write_text("hostname x\nrouter bgp 65000\n neighbor 10.0.0.1 remote-as 45104\n neighbor 10.0.0.1 bogus\n!\n")
    refused = refused_by_frr(path)
    assert refused is not None and "line 4" in refused and "bogus" in refused, refused
