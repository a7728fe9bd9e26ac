"""What this machine can emulate, as a plain value: detected by runtime/environment.py, read by the reports.

Kept apart from the detection (which runs commands) so that reports render a
run's outcome without importing the runtime.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Environment:
    datapath: str            # "kernel" or "user" (Open vSwitch datapath type for the bridges)
    kernel_ovs_module: bool
    netem: bool
    vlan_8021q: bool
    htb: bool
    delay_line: bool = True   # AF_PACKET sockets in a namespace: the userspace delay line works

    @property
    def impairment_mechanism(self) -> str:
        if self.netem:
            return "netem"
        return "delay line" if self.delay_line else "none"

    def to_json(self) -> dict:
        data = asdict(self)
        data["datapath_kind"] = "kernel" if self.datapath == "kernel" else "userspace (netdev)"
        data["impairment_mechanism"] = self.impairment_mechanism
        return data

    def notes(self) -> list[str]:
        """What is not emulated here, said once, clearly."""
        notes = []
        if not self.kernel_ovs_module:
            notes.append("no openvswitch kernel module: OVS runs its userspace datapath (netdev) with offloads "
                         "disabled; throughput through several bridges is lower than on a stock kernel")
        if not self.netem and self.delay_line:
            notes.append("no sch_netem in this kernel: links with delay, jitter or loss get a userspace delay line")
        elif not self.netem:
            notes.append("no sch_netem and no AF_PACKET sockets: delay, jitter and loss cannot be emulated here")
        if not self.vlan_8021q:
            notes.append("no 802.1Q module: VLAN tags are added and removed by the access point's OpenFlow flows")
        return notes
