"""Alibaba Cloud's health check of a leased line, on a VBR-to-VPC connection (a mixin of the control plane).

The rules as Express Connect states them (ModifyRouterInterfaceAttribute's
HealthCheckSourceIp, HealthCheckTargetIp, HcRate and HcThreshold, and the
console's "Health Check" of a VBR-to-VPC peering connection): the check pings
the target, the customer-side address of the VBR's line, from the source, an
idle private address of the VPC (CEN's health check also allows an address of
100.96.0.0/16, which the emulator accepts too); every HcRate milliseconds
(CEN: 2 or 3 s, default 2), and after HcThreshold unanswered pings in a row
(CEN: 3 to 8, default 8) the line is declared faulty: the VPC's routes over
this connection stop carrying traffic, so an active/standby or ECMP route
moves to the other line. With static routing the customer device needs a /32
route back to the source over the same line: a reply over the other line
counts as lost, as Alibaba says it does.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from emulator.cloud.resources import HealthCheck, RIStatus, RouterType
from emulator.errors import CloudError

HC_RATE_MS = range(2000, 3001)          # CEN: 2 or 3 s; the router interface's HcRate is in ms (2000 recommended)
HC_THRESHOLD = range(3, 9)              # CEN: 3 to 8 probes; 8 recommended
DEFAULT_HC_RATE_MS = 2000
DEFAULT_HC_THRESHOLD = 8
AUTOMATIC_SOURCE_BLOCK = IPv4Network("100.96.0.0/16")   # CEN's automatic source addresses


class HealthCheckOperations:
    def configure_health_check(self, *, ri_id: str, source_ip: IPv4Address, target_ip: IPv4Address,
                               rate_ms: int = DEFAULT_HC_RATE_MS, threshold: int = DEFAULT_HC_THRESHOLD,
                               where: str = "") -> HealthCheck:
        """ModifyRouterInterfaceAttribute with HealthCheckSourceIp/TargetIp, HcRate and HcThreshold."""
        ri = self.router_interfaces.get(ri_id)   # type: ignore[attr-defined]
        if ri is None:
            raise CloudError("InvalidRouterInterfaceId.NotFound", f"router interface {ri_id} does not exist",
                             fix="name the VBR's router interface of a VBR-to-VPC connection", where=where)
        if ri.router_type is not RouterType.VBR or ri.opposite_router_type is not RouterType.VROUTER:
            raise CloudError("OperationUnsupported.HealthCheck",
                             f"{ri_id} is not a VBR's interface towards a VPC: a health check probes a leased line "
                             "from a VBR-to-VPC connection", fix="configure it on the VBR's router interface", where=where)
        vpc = self.vpc_of_vrouter(ri.opposite_router_id)   # type: ignore[attr-defined]
        if vpc is None or ri.opposite_interface_id not in self.router_interfaces \
                or RIStatus.ACTIVE not in ri.history:   # type: ignore[attr-defined]
            why = (f"its opposite VRouter {ri.opposite_router_id} does not exist" if vpc is None else
                   f"its pair with {ri.opposite_interface_id} was never connected")
            raise CloudError("OperationUnsupported.HealthCheck",
                             f"{ri_id} is not a VBR-to-VPC connection: {why}; a health check is configured on a "
                             "connection, which exists once the pair is connected",
                             fix=f"connect the pair first (a `connect:` entry for {ri_id}, in this step or an earlier one)",
                             where=where)
        if rate_ms not in HC_RATE_MS:
            raise CloudError("InvalidParameter.HcRate", f"hc_rate {rate_ms} ms is outside 2000-3000",
                             fix="probe every 2000 ms (the default) or up to 3000 ms", where=where)
        if threshold not in HC_THRESHOLD:
            raise CloudError("InvalidParameter.HcThreshold", f"hc_threshold {threshold} is outside 3-8",
                             fix="declare the line faulty after 3 to 8 unanswered probes (8 by default)", where=where)
        vbr = self.vbrs[ri.router_id]   # type: ignore[attr-defined]
        if target_ip != vbr.peer_gateway.ip:
            raise CloudError("InvalidHealthCheckTargetIp", f"the target {target_ip} is not the customer side of "
                             f"{vbr.id}'s line", fix=f"probe {vbr.peer_gateway.ip}, the customer device's address on "
                             f"the line (peer_gateway_ip of {vbr.id})", where=where)
        self._check_source(ri_id, source_ip, vpc, vbr, where)
        ri.health_check = HealthCheck(source_ip=source_ip, target_ip=target_ip, rate_ms=rate_ms, threshold=threshold)
        return ri.health_check

    def _check_source(self, ri_id: str, source_ip: IPv4Address, vpc, vbr, where: str) -> None:
        """An idle private address of the VPC, or one of 100.96.0.0/16; never an address already in use."""
        if source_ip not in AUTOMATIC_SOURCE_BLOCK and (vpc is None or source_ip not in vpc.cidr):
            raise CloudError("InvalidHealthCheckSourceIp", f"the source {source_ip} is neither in "
                             f"{vpc.id if vpc else 'the VPC'}'s block {vpc.cidr if vpc else ''} nor in "
                             f"{AUTOMATIC_SOURCE_BLOCK}", fix="use an idle address of the VPC, or one of "
                             f"{AUTOMATIC_SOURCE_BLOCK} (what the console assigns automatically)", where=where)
        used = {vbr.local_gateway.ip: f"{vbr.id}'s own address", vbr.peer_gateway.ip: "the customer side"}
        if vpc is not None:
            for vswitch in vpc.vswitches.values():
                first_usable, last_usable = self.provider.usable_range(vswitch.cidr)   # type: ignore[attr-defined]
                if source_ip in vswitch.cidr and not first_usable <= source_ip <= last_usable:
                    raise CloudError("InvalidHealthCheckSourceIp", f"the source {source_ip} is reserved by the "
                                     f"provider in {vswitch.id} ({vswitch.cidr}): no address of the vSwitch's "
                                     "network can send from it", fix=f"pick an idle address between {first_usable} "
                                     f"and {last_usable}, or one outside the vSwitches", where=where)
                used[vswitch.gateway.ip] = f"{vswitch.id}'s gateway"
                used.update({instance.ip: instance.id for instance in vswitch.instances.values()})
        for other in self.router_interfaces.values():   # type: ignore[attr-defined]
            if other.health_check is not None and other.id != ri_id:
                used[other.health_check.source_ip] = f"the health check of {other.id}"
        if source_ip in used:
            raise CloudError("InvalidHealthCheckSourceIp", f"the source {source_ip} is in use ({used[source_ip]})",
                             fix="pick an idle address: one no instance, gateway or other health check uses",
                             where=where)

    def set_health_verdict(self, *, ri_id: str, healthy: bool) -> bool:
        """The running check's verdict (the runtime's prober reports it); True if it changed."""
        check = self.router_interfaces[ri_id].health_check   # type: ignore[attr-defined]
        if check is None or check.healthy == healthy:
            return False
        check.healthy = healthy
        return True

    def health_checks(self) -> dict[str, HealthCheck]:
        """Every configured health check, by its VBR's router interface."""
        return {ri.id: ri.health_check for ri in self.router_interfaces.values()   # type: ignore[attr-defined]
                if ri.health_check is not None}
