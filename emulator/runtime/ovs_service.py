"""Make sure Open vSwitch is running: systemd where there is one, ovs-ctl otherwise."""

from __future__ import annotations

from pathlib import Path

from emulator.errors import EnvironmentProblem
from emulator.runtime.commands import run

OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"


def is_running() -> bool:
    return run(["ovs-vsctl", "--timeout=3", "show"], check=False, timeout=10).returncode == 0


def ensure_running() -> str:
    """Start Open vSwitch if needed; return how it was found or started."""
    if is_running():
        return "already running"
    if Path("/run/systemd/system").is_dir():
        run(["systemctl", "start", "openvswitch-switch"], check=False, timeout=60)
        how = "started with systemctl"
    elif Path(OVS_CTL).exists():
        run([OVS_CTL, "start", "--system-id=random"], check=False, timeout=60)
        how = "started with ovs-ctl"
    else:
        raise EnvironmentProblem("Open vSwitch is not installed", fix="run `make install`")
    if not is_running():
        raise EnvironmentProblem("Open vSwitch did not start (ovs-vsctl show fails)",
                                 fix=f"start it by hand ({OVS_CTL} start) and look at /var/log/openvswitch/")
    return how
