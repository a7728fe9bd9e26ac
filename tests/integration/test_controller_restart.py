"""A controller killed mid-run: noticed, replaced, reported; transit traffic never notices; a lost one stops the run."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from emulator import runner, scenario, session
from emulator.report import json_report
from emulator.runtime import cleanup
from emulator.runtime.controller_process import ControllerLost

STREAM_INTERVAL_S = 0.01
STREAM_COUNT = 400          # 4 s of pings, the kill 1 s in
SLOW_PATH_BACK_WITHIN_S = 1.0   # the issue asks for 2 s; about 0.2 s measured: waiting out OVS's backoff (1-2 s) fails


def _ping_once(network, node: str, address: str) -> bool:
    result = network.run_in(node, ["ping", "-n", "-c", "1", "-W", "0.2", address], check=False)
    return result.returncode == 0


def test_killed_controller_is_replaced_without_losing_a_transit_packet():
    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    events: list[str] = []
    with runner.live_network(prepared, progress=events.append) as live:
        server, cpe = prepared.plan.node("idc-server-1").name, prepared.plan.node("customer-router").name
        network = live.network
        assert _ping_once(network, cpe, "10.100.0.1")            # the VBR's address: answered by the controller
        stream = live.processes.spawn(server, ["ping", "-n", "-q", "-i", str(STREAM_INTERVAL_S), "-c",
                                               str(STREAM_COUNT), "-W", "1", "192.168.1.10"])
        time.sleep(1.0)
        killed_pid = live.controller.pid
        os.kill(killed_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        while not _ping_once(network, cpe, "10.100.0.1"):
            assert time.monotonic() - killed_at < 10, "the VBR's address never answered again"
        slow_path_back_s = time.monotonic() - killed_at
        out, _ = stream.communicate(timeout=30)
        assert live.controller.pid != killed_pid
        restarts = list(live.controller.restarts)

    assert f"{STREAM_COUNT} received" in out or f"{STREAM_COUNT} packets received" in out, out
    assert slow_path_back_s < SLOW_PATH_BACK_WITHIN_S, slow_path_back_s
    assert len(restarts) == 1 and restarts[0].exit_status == "killed by SIGKILL"
    assert 0 < restarts[0].slow_path_unavailable_s < SLOW_PATH_BACK_WITHIN_S
    assert any("the controller died" in line and "unavailable for" in line for line in events), events
    assert cleanup.leftovers().empty()


def test_restart_is_in_the_run_report():
    """A run whose controller is killed during its checks still passes, and its notes say what happened."""
    prepared = session.prepare(scenario.load("vpc_peering"))
    original = runner.run_checks

    def kill_then_check(prepared, network, processes, progress, **kwargs):
        os.kill(live_controller["process"].pid, signal.SIGKILL)
        time.sleep(0.2)
        return original(prepared, network, processes, progress, **kwargs)

    live_controller = {}
    real_live_network = runner.live_network

    def spying_live_network(*args, **kwargs):
        context = real_live_network(*args, **kwargs)
        live = context.__enter__()
        live_controller["process"] = live.controller
        return _Reentered(context, live)

    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "run_checks", kill_then_check)
    mp.setattr(runner, "live_network", spying_live_network)
    try:
        outcome = runner.execute(prepared)
    finally:
        mp.undo()
    assert outcome.passed, [c.to_json() for c in outcome.checks if not c.passed]
    assert len(outcome.controller_restarts) == 1
    assert any("the controller died" in note for note in outcome.notes)
    report = json_report.build(outcome)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "report-format.md").read_text()
    documented = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])["controller_restarts"][0]
    assert set(report["controller_restarts"][0]) == set(documented)
    assert any("the controller died" in note for note in report["notes"])


class _Reentered:
    """A context manager already entered: what `execute` gets from the spy above."""

    def __init__(self, context, live):
        self.context, self.live = context, live

    def __enter__(self):
        return self.live

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)


def test_a_controller_that_cannot_come_back_stops_the_run():
    prepared = session.prepare(scenario.load("vpc_peering"))
    started = time.monotonic()
    with pytest.raises(ControllerLost) as caught:
        with runner.live_network(prepared) as live:
            live.plan_path.write_text("{ not a plan")          # every new controller dies reading it
            os.kill(live.controller.pid, signal.SIGKILL)
            time.sleep(60)                                     # interrupted by the runtime
    assert time.monotonic() - started < 60
    assert "could not be restarted" in caught.value.message
    assert cleanup.leftovers().empty()
    leftover = subprocess.run(["pgrep", "-f", "controllers --plan"], capture_output=True, text=True).stdout
    assert not leftover.strip(), leftover
