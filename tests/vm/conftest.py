"""The VM lane: one guest with Debian's stock kernel for the whole session, provisioned as the Vagrantfile does.

`make vm-test` runs every test here; `make vm-test-ci` (in .ci/run) only those marked `lane_ci`, the default
scenario in the VM. Reports and logs come back to VM_ARTIFACTS (default artifacts/vm) with the lane's timings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.vm.guest import PROJECT, TIMINGS, Guest, Timer, build_image

GUEST_OUT = "/root/lane"
VENV = "/opt/cloud-emulator-venv"


def pytest_configure(config):
    config.addinivalue_line("markers", "lane_ci: the part of the VM lane that CI runs (the default scenario)")


def artifacts_dir() -> Path:
    return Path(os.environ.get("VM_ARTIFACTS", PROJECT / "artifacts" / "vm"))


def guest_state(guest: Guest) -> dict[str, list[str]]:
    """What a run may leave behind in the guest: namespaces, bridges, links, the emulator's processes."""
    commands = {
        "namespaces": "ip netns list",
        "bridges": "ovs-vsctl list-br",
        "links": "ip -o link show | cut -d: -f2 | sed 's/@.*//'",
        "processes": "pgrep -a -f 'controllers|iperf|emulator.checks|delay_line|bgpd|zebra|bfdd|tcpdump|mnexec'"
                     " | grep -v pgrep || true",
        "mounts": "grep -c cloud-emulator /proc/mounts || true",
    }
    return {name: sorted(guest.ssh(command).stdout.split("\n")) for name, command in commands.items()}


@pytest.fixture(scope="session")
def guest(tmp_path_factory):
    with Timer("image (build or cache)"):
        image = build_image()
    TIMINGS["image build (when built)"] = (image / "build-time").read_text().strip()
    vm = Guest(image, tmp_path_factory.mktemp("vm"))
    TIMINGS["accelerator"] = vm.accel
    TIMINGS["guest kernel"] = (image / "kernel-release").read_text().strip()
    print(f"\nvm lane: booting Debian 12 ({TIMINGS['guest kernel']}) with {vm.accel.upper()}"
          + (" (this host's KVM cannot run a stock kernel)" if vm.accel == "tcg" else ""))
    try:
        with Timer("boot to ssh"):
            vm.boot()
        with Timer("copy the project in"):
            vm.put_project()
        vm.ssh(["mkdir", "-p", GUEST_OUT])
        vm.baseline = guest_state(vm)
        yield vm
    finally:
        out = artifacts_dir()
        vm.fetch(GUEST_OUT, out)
        if vm.console_log.exists():
            (out / "console.log").write_text(vm.console_log.read_text(errors="replace"))
        vm.stop()
        out.mkdir(parents=True, exist_ok=True)
        (out / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("VM lane timings (s)")
        for name, value in TIMINGS.items():
            terminalreporter.write_line(f"{name:40} {value}")
