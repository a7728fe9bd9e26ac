"""The emulator on the teaching VM's stock kernel: kernel datapath, sch_netem and the 802.1Q module.

Run in order in one guest (tests/vm/conftest.py): provisioning as the Vagrantfile runs it, the default
scenario with `make run`, the card's command as the Vagrant user with sudo, the BGP and the active/standby
scenarios, the link-impairment tests through netem, the lab through tmux, and nothing left behind.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.vm.conftest import GUEST_OUT, VENV, guest_state
from tests.vm.guest import Timer

RUN_TIMEOUT_S = 1800


def _report(guest, name: str) -> dict:
    return json.loads(guest.ssh(["cat", f"{GUEST_OUT}/{name}.json"]).stdout)


def _failed_checks(report: dict) -> list[str]:
    return [f"{check.get('kind')} {check.get('src')} -> {check.get('dst')}: {check.get('detail')}"
            for check in report.get("checks", []) if not check.get("passed")]


@pytest.mark.lane_ci
def test_the_vagrant_provisioning_installs_nothing_more_in_the_booted_guest(guest):
    with Timer("provision (as the Vagrantfile does)"):
        first = guest.ssh("bash /vagrant/scripts/provision.sh /vagrant 2>&1")
    second = guest.ssh("bash /vagrant/scripts/provision.sh /vagrant 2>&1")
    (guest.workdir / "provision.log").write_text(first.stdout + second.stdout)
    assert "install: Debian packages" not in first.stdout, first.stdout   # the image holds them
    assert "install:" not in second.stdout, second.stdout
    assert guest.ssh("ovs-vsctl --timeout=5 show").returncode == 0


@pytest.mark.lane_ci
def test_make_run_of_the_default_scenario_uses_the_kernel_datapath_netem_and_8021q(guest):
    with Timer("make run (default scenario)"):
        result = guest.ssh(f"cd /vagrant && make run VENV={VENV} RUN_ARGS='--json {GUEST_OUT}/default.json' "
                           f"> {GUEST_OUT}/default.log 2>&1; echo $?", timeout=RUN_TIMEOUT_S)
    report = _report(guest, "default")
    environment = report["environment"]
    assert environment["datapath"] == "kernel", environment
    assert environment["kernel_ovs_module"] is True
    assert environment["netem"] is True and environment["impairment_mechanism"] == "netem"
    assert environment["vlan_8021q"] is True
    assert not _failed_checks(report), _failed_checks(report)
    assert result.stdout.strip() == "0", guest.ssh(["tail", "-40", f"{GUEST_OUT}/default.log"]).stdout


def test_the_cards_command_works_as_typed_by_the_vagrant_user_with_sudo(guest):
    with Timer("sudo python -m emulator run (as the vagrant user)"):
        result = guest.ssh("cd /vagrant && sudo python -m emulator run multi_vpc_leased_line "
                           "--json /tmp/card.json > /tmp/card.log 2>&1; echo $?", user="vagrant",
                           timeout=RUN_TIMEOUT_S)
    guest.ssh(f"cp /tmp/card.json /tmp/card.log {GUEST_OUT}/")
    assert result.stdout.strip() == "0", guest.ssh(["tail", "-40", "/tmp/card.log"]).stdout
    assert _report(guest, "card")["passed"] is True


@pytest.mark.parametrize("scenario", ["multi_vpc_leased_line_bgp", "redundant_leased_lines_standby"])
def test_the_bgp_and_the_standby_scenarios_pass(guest, scenario):
    with Timer(f"run {scenario}"):
        result = guest.ssh(f"cd /vagrant && {VENV}/bin/python -m emulator run {scenario} "
                           f"--json {GUEST_OUT}/{scenario}.json > {GUEST_OUT}/{scenario}.log 2>&1; echo $?",
                           timeout=RUN_TIMEOUT_S)
    report = _report(guest, scenario)
    assert report["environment"]["datapath"] == "kernel"
    assert not _failed_checks(report), _failed_checks(report)
    assert result.stdout.strip() == "0"


# The integration tests whose code paths differ by kernel: netem instead of the delay line (delay, jitter, loss,
# TCP through a delayed line; the lab's live `line set`), the 802.1Q tag on the wire with the kernel datapath,
# ECMP's multipath hash in the kernel datapath, and teardown of kernel-datapath bridges.
KERNEL_DEPENDENT_TESTS = ["tests/integration/test_impairment.py", "tests/integration/test_capture.py",
                          "tests/integration/test_lab.py", "tests/integration/test_ecmp.py",
                          "tests/integration/test_teardown.py"]
# Left out, each for a measured reason (docs/vm-lane.md, "What differs"):
NOT_UNDER_TCG = {   # timing promises an emulated CPU cannot keep; they run where the guest has KVM
    "tests/integration/test_impairment.py::test_jitter_spreads_the_rtt":
        "the path's own RTT spreads 1.7 ms (stdev) under TCG, jitter 3.9: too close to tell them apart",
    "tests/integration/test_lab.py::test_deactivate_then_activate_a_router_interface":
        "flows change in 1.8 s under TCG; the test holds the lab to 1 s",
    "tests/integration/test_lab.py::test_line_set_changes_the_delay_pings_see_within_a_second":
        "2.3 s under TCG; the test holds the lab to 1 s",
    # The emulated CPU carries the path at about 109 Mbit/s unshaped (docs/vm-lane.md), so a rate test that wants
    # 90 % of 100 Mbit/s passes only on a quiet host: one lane in three read 78.2 Mbit/s and 16,273 datagrams.
    # `run`'s checks in this lane measure the same path with their host-limited verdict.
    "tests/integration/test_impairment.py::test_tcp_keeps_its_rate_through_20_ms":
        "TCP through 20 ms read 78.2 Mbit/s under TCG on a busy host; the test wants 86 (0.9 x the line's goodput)",
    "tests/integration/test_impairment.py::test_udp_at_95_mbps_is_not_lost_without_loss_configured":
        "16,273 datagrams in 3 s under TCG on a busy host; the test wants 20,000 at 95 Mbit/s",
}
KNOWN_STOCK_KERNEL_DIFFERENCES: dict[str, str] = {}   # found by the lane, not fixed yet: said in the docs


def left_out(accel: str) -> dict[str, str]:
    return {**KNOWN_STOCK_KERNEL_DIFFERENCES, **(NOT_UNDER_TCG if accel == "tcg" else {})}


def test_the_integration_tests_whose_paths_differ_by_kernel_pass_in_the_guest(guest):
    """Among them the link-impairment tests through netem: 20 ms one way adds 40 ms to the round trip within
    max(1 ms, 5 %), and 5 % loss configured is measured within half a point over at least 20,000 datagrams."""
    with Timer("integration tests that differ by kernel"):
        deselect = " ".join(f"--deselect {test}" for test in left_out(guest.accel))
        # COLUMNS: pytest cuts a summary line to the terminal's width, and at 80 a long test ID left no room for
        # its reason (CI printed "FAILED ...test_clean_removes_the_bgp_daemons_of_a_killed_run" and nothing else).
        result = guest.ssh(f"cd /vagrant && COLUMNS=250 {VENV}/bin/python -m pytest -p no:cacheprovider -q -rA "
                           "--durations=10 "
                           f"{deselect} {' '.join(KERNEL_DEPENDENT_TESTS)} > {GUEST_OUT}/integration.log 2>&1; "
                           "echo $?", timeout=RUN_TIMEOUT_S)
    log = guest.ssh(["cat", f"{GUEST_OUT}/integration.log"]).stdout
    for held in ("test_impairment.py::test_ping_rtt_across_the_line_grows_by_twice_the_one_way_delay",
                 "test_impairment.py::test_configured_loss_is_measured_within_half_a_point[5.0]"):
        assert f"PASSED tests/integration/{held}" in log, log[-3000:]
    assert result.stdout.strip() == "0", _failures(log)


def _failures(log: str, most: int = 6000) -> str:
    """The guest's failed tests with their reasons, then the start of pytest's FAILURES and ERRORS sections: the
    guest's log stays on the CI machine's checkout, which is gone once CI has printed this."""
    summary = "\n".join(line for line in log.splitlines() if line.startswith(("FAILED", "ERROR")))
    sections = re.search(r"^=+ (?:ERRORS|FAILURES) =+$.*?(?=^=+ (?:PASSES|slowest|short test summary))", log,
                         re.MULTILINE | re.DOTALL)
    return summary + ("\n\n" + sections.group(0)[:most] if sections else "")


@pytest.mark.parametrize("mechanism", ["netem", "delay-line"])
def test_the_impairment_bench_measures_both_mechanisms_on_the_stock_kernel(guest, mechanism):
    """bench/bench_impairment.py in the guest, with netem and with the delay line forced (one factor changed):
    the figures of docs/vm-lane.md's side-by-side table, kept in artifacts/vm/bench-impairment-*.txt."""
    force = "CLOUD_EMULATOR_IMPAIRMENT=delay-line " if mechanism == "delay-line" else ""
    with Timer(f"bench_impairment.py ({mechanism})"):
        result = guest.ssh(f"cd /vagrant && {force}{VENV}/bin/python bench/bench_impairment.py --duration 3 "
                           f"> {GUEST_OUT}/bench-impairment-{mechanism}.txt 2>&1; echo $?", timeout=RUN_TIMEOUT_S)
    out = guest.ssh(["cat", f"{GUEST_OUT}/bench-impairment-{mechanism}.txt"]).stdout
    assert result.stdout.strip() == "0", out[-3000:]
    assert f"mechanism on this machine: {mechanism.replace('-', ' ')}, OVS kernel datapath" in out, out[:500]
    assert "20 ms one way: expected  40.0" in out and "5% configured:" in out, out


class TmuxInGuest:
    """The lab as a person uses it: a tmux session in the guest, typed into and read."""

    def __init__(self, guest, name: str = "lab"):
        self.guest, self.name = guest, name

    def start(self, command: str) -> None:
        """A shell first, kept on screen after its command ends (remain-on-exit), then the command in its place:
        a lab that stops at once leaves its last words to read instead of an empty, vanished session."""
        self.guest.ssh(["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", "-c", "/vagrant"])
        self.guest.ssh(["tmux", "set-option", "-t", self.name, "remain-on-exit", "on"])
        self.guest.ssh(["tmux", "respawn-pane", "-k", "-t", self.name, "-c", "/vagrant", command])

    def type(self, line: str) -> None:
        self.guest.ssh(["tmux", "send-keys", "-t", self.name, line, "Enter"])

    def screen(self) -> str:
        return self.guest.ssh(["tmux", "capture-pane", "-t", self.name, "-p", "-J", "-S", "-3000"],
                              check=False).stdout.rstrip()

    def wait_for(self, pattern: str, timeout_s: float, after: int = 0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text[after:]):
                return text
            if not self.alive():
                raise AssertionError(f"the command ended before {pattern!r} showed:\n{text[-3000:]}")
            time.sleep(3)
        raise AssertionError(f"{pattern!r} not on the screen within {timeout_s:.0f} s:\n{self.screen()[-3000:]}")

    def alive(self) -> bool:
        """The command still runs (its pane is not dead)."""
        state = self.guest.ssh(["tmux", "display-message", "-p", "-t", self.name, "#{pane_dead}"], check=False)
        return state.returncode == 0 and state.stdout.strip() == "0"

    def close(self) -> None:
        self.guest.ssh(["tmux", "kill-session", "-t", self.name], check=False)


def test_the_lab_through_tmux_changes_the_running_network(guest):
    tmux = TmuxInGuest(guest)
    text = ""
    try:
        with Timer("lab through tmux"):
            tmux.start("sudo python -m emulator lab multi_vpc_leased_line")
            tmux.wait_for(r"cloud-lab>\s*$", 900)
            seen = len(tmux.screen())
            tmux.type("ping idc-server-1 i-vpcb-1")
            text = tmux.wait_for(r"i-vpcb-1: (reachable|unreachable)", 300, after=seen)
            assert "i-vpcb-1: reachable" in text[seen:], text[seen:]
            seen = len(text)
            tmux.type("ri deactivate ri-AAA")
            text = tmux.wait_for(r"ri-AAA is Inactive", 300, after=seen)
            seen = len(text)
            tmux.type("ping idc-server-1 i-vpcb-1")
            text = tmux.wait_for(r"i-vpcb-1: (reachable|unreachable)", 300, after=seen)
            assert "i-vpcb-1: unreachable" in text[seen:], text[seen:]
            seen = len(text)
            tmux.type("explain idc-server-1 i-vpcb-1")
            text = tmux.wait_for(r"INTERFACE_NOT_ACTIVE", 300, after=seen)
            tmux.type("exit")
            deadline = time.monotonic() + 300
            while tmux.alive() and time.monotonic() < deadline:
                time.sleep(3)
            assert not tmux.alive(), "the lab did not exit"
    finally:
        text = tmux.screen() or text
        if tmux.alive():          # a failed step: leave the guest clean for the tests after this one
            tmux.type("exit")
            deadline = time.monotonic() + 300
            while tmux.alive() and time.monotonic() < deadline:
                time.sleep(3)
        tmux.close()
        guest.ssh(f"cat > {GUEST_OUT}/lab-screen.txt", stdin=text.encode())


@pytest.mark.lane_ci
def test_nothing_is_left_behind_in_the_guest(guest):
    leftovers = guest.ssh(f"cd /vagrant && {VENV}/bin/python -c 'from emulator.runtime import cleanup; "
                          f"print(cleanup.leftovers().summary())'").stdout.strip()
    assert leftovers == "nothing left behind by the emulator", leftovers
    assert guest_state(guest) == guest.baseline
