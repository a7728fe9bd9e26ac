"""Whether each health check can pass at all, from the routes: its replies must come back to its own VBR.

Alibaba: a reply that returns over another line counts as lost, and with static routing the customer device
needs a /32 route to the check's source over the checked line. A check whose replies cannot return is declared
faulty after its detection time even with both lines up; this says so before anything is built.
"""

from __future__ import annotations

from emulator.cloud.control_plane import ControlPlane
from emulator.routing.model import Network
from emulator.routing.reachability import trace
from emulator.routing.topology import prober_id


def health_check_problems(cloud: ControlPlane, network: Network) -> dict[str, str]:
    """The router interface of each check whose replies cannot reach it, with why and the fix."""
    problems = {}
    for ri_id, check in cloud.health_checks().items():
        vbr = cloud.vbrs[cloud.router_interfaces[ri_id].router_id]
        device = next((idc.device_id for idc in cloud.idcs.values()), None)
        if device is None or device not in network.nodes or prober_id(ri_id) not in network.nodes:
            continue
        verdict = trace(network, device, check.source_ip)
        if verdict.reached and verdict.hops[-1].node == prober_id(ri_id):
            continue
        crossed = [link.cloud_id for link in verdict.links if link.cloud_id in cloud.physical_connections]
        how = (f"they leave the customer device over {crossed[0]}, not {vbr.physical_connection_id}" if crossed
               and crossed[0] != vbr.physical_connection_id else verdict.message or "they are lost on the way")
        problems[ri_id] = (f"the health check of {ri_id} cannot pass: its replies to {check.source_ip} do not come "
                           f"back to {vbr.id} ({how}); it will declare {vbr.physical_connection_id} faulty after "
                           f"{check.detection_s:g} s with the line up. Fix: route {check.source_ip}/32 on the customer "
                           f"device via {vbr.local_gateway.ip} (customer_routes), or advertise it from {vbr.id} "
                           "over BGP (bgp_networks)")
    return problems
