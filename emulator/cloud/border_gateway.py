"""JD Cloud's multi-VPC interconnection: border gateways, VPC attachments, route propagation, VPC peering.

A mixin of the control plane (it uses the VPCs, accounts and IDs the control
plane keeps). Rules as the tutorial states them: same account and region only,
one attachment per VPC and border gateway, BGP ASN 65000, and no overlapping
segments in one route table (an error names both routes and suggests
narrowing a propagation range). Preference in a VPC table: the local route
first, then the longest prefix, then static (100) over propagated (120).
"""

from __future__ import annotations

from ipaddress import IPv4Network

from emulator.cloud.resources import BorderGateway, RoutePropagation, RouteTable, VpcAttachment, VpcPeering
from emulator.errors import CloudError

BORDER_GATEWAY_ASN = 65000
# JD Cloud's Direct Connect restrictions, per border gateway: dynamic routes (propagated by attachments and
# learnt over BGP together; what BGP brings beyond the quota is not installed). Its 50 VPC
# attachments are a quota raised by ticket, not enforced here: the scale benchmark attaches 250 VPCs.
MAX_DYNAMIC_ROUTES_PER_GATEWAY = 300


class BorderGatewayOperations:
    def __init__(self) -> None:
        self.border_gateways: dict[str, BorderGateway] = {}
        self.attachments: dict[str, VpcAttachment] = {}
        self.propagations: list[RoutePropagation] = []
        self.peerings: dict[str, VpcPeering] = {}

    # ----- lookups -------------------------------------------------------------------------

    def attachment_of(self, vpc_id: str, bgw_id: str) -> VpcAttachment | None:
        return next((a for a in self.attachments.values()
                     if a.vpc_id == vpc_id and a.border_gateway_id == bgw_id), None)

    def gateway_table(self, bgw_id: str) -> list[tuple[IPv4Network, VpcAttachment, bool]]:
        """The border gateway's table as the console lists it: (segment, attachment, valid).

        JD Cloud: when two attachments propagate the identical segment, the first propagated route wins and the
        later one is invalid (kept in the table, never used).
        """
        table, seen = [], set()
        for attachment in self.attachments.values():
            if attachment.border_gateway_id != bgw_id:
                continue
            for segment in attachment.segments:
                table.append((segment, attachment, segment not in seen))
                seen.add(segment)
        return table

    def gateway_routes(self, bgw_id: str) -> list[tuple[IPv4Network, VpcAttachment]]:
        """The border gateway's effective routes: the valid entries of its table."""
        return [(segment, attachment) for segment, attachment, valid in self.gateway_table(bgw_id) if valid]

    def learnt_routes(self, vpc_id: str) -> list[tuple[IPv4Network, str, VpcAttachment]]:
        """Routes a VPC table learns: (segment, border gateway, the attachment that propagated it).

        Only the gateways' valid routes propagate, a VPC does not learn its own segments back, and of identical
        segments learnt from two gateways the first propagated wins.
        """
        learnt, seen = [], set()
        for propagation in self.propagations:
            if propagation.vpc_id != vpc_id:
                continue
            # subnet_of by integer bounds: a VPC of a 250-VPC gateway checks 249 segments against its ranges
            bounds = [(int(r.network_address), int(r.broadcast_address)) for r in propagation.ranges]
            for segment, attachment in self.gateway_routes(propagation.border_gateway_id):
                low, high = int(segment.network_address), int(segment.broadcast_address)
                if (attachment.vpc_id != vpc_id and segment not in seen
                        and any(first <= low and high <= last for first, last in bounds)):
                    learnt.append((segment, propagation.border_gateway_id, attachment))
                    seen.add(segment)
        return learnt

    # ----- operations ----------------------------------------------------------------------

    def create_border_gateway(self, *, account: str, bgw_id: str, name: str, region: str, asn: int,
                              route_table_id: str, where: str = "") -> BorderGateway:
        self.require_resource("border gateways", where)
        self._require_account(account, where)
        if asn != BORDER_GATEWAY_ASN:
            raise CloudError("InvalidParameter.Asn", f"a border gateway's BGP ASN is fixed at {BORDER_GATEWAY_ASN}, "
                             f"not {asn}", fix=f"set asn: {BORDER_GATEWAY_ASN}", where=where)
        self._claim_id(bgw_id, "border gateway", where)
        self._claim_id(route_table_id, "route table", where)
        bgw = BorderGateway(id=bgw_id, account=account, region=region, name=name, asn=asn,
                            route_table=RouteTable(id=route_table_id, router_id=bgw_id))
        self.border_gateways[bgw_id] = bgw
        return bgw

    def _gateway(self, bgw_id: str, where: str) -> BorderGateway:
        bgw = self.border_gateways.get(bgw_id)
        if bgw is None:
            raise CloudError("InvalidBorderGatewayId.NotFound", f"border gateway {bgw_id} does not exist",
                             fix="use one of: " + (", ".join(self.border_gateways) or "none yet"), where=where)
        return bgw

    def _vpc(self, vpc_id: str, where: str):
        vpc = self.vpcs.get(vpc_id)
        if vpc is None:
            raise CloudError("InvalidVpcId.NotFound", f"VPC {vpc_id} does not exist",
                             fix="use one of: " + (", ".join(self.vpcs) or "none"), where=where)
        return vpc

    def attach_vpc(self, *, attachment_id: str, bgw_id: str, vpc_id: str, subnets: list[str] | None,
                   latency_ms: float = 0.0, where: str = "") -> VpcAttachment:
        """Attach a VPC; it propagates all its segments (subnets None) or the named subnets' segments."""
        bgw = self._gateway(bgw_id, where)
        vpc = self._vpc(vpc_id, where)
        if vpc.account != bgw.account:
            raise CloudError("InvalidParameter.CrossAccount",
                             f"{vpc_id} belongs to account {vpc.account}, {bgw_id} to {bgw.account}: a border gateway "
                             "connects VPCs of its own account only", fix="attach VPCs of the same account", where=where)
        if vpc.region != bgw.region:
            raise CloudError("InvalidParameter.CrossRegion",
                             f"{vpc_id} is in {vpc.region}, {bgw_id} in {bgw.region}: a border gateway connects VPCs "
                             "of its own region only", fix="attach VPCs of the same region", where=where)
        existing = self.attachment_of(vpc_id, bgw_id)
        if existing is not None:
            raise CloudError("InvalidParameter.AttachmentExists",
                             f"{vpc_id} is already attached to {bgw_id} by {existing.id}",
                             fix="one attachment per VPC and border gateway: change the existing one", where=where)
        if subnets is None:
            segments = [vsw.cidr for vsw in vpc.vswitches.values()] or [vpc.cidr]
        else:
            missing = [name for name in subnets if name not in vpc.vswitches]
            if missing:
                raise CloudError("InvalidSubnetId.NotFound", f"{vpc_id} has no subnet {missing[0]}",
                                 fix="name subnets of this VPC: " + (", ".join(vpc.vswitches) or "none"), where=where)
            segments = [vpc.vswitches[name].cidr for name in subnets]
        attached = [a for a in self.attachments.values() if a.border_gateway_id == bgw_id]
        dynamic = sum(len(a.segments) for a in attached)
        if dynamic + len(segments) > MAX_DYNAMIC_ROUTES_PER_GATEWAY:
            raise CloudError("QuotaExceeded.DynamicRoute",
                             f"{bgw_id} would hold {dynamic + len(segments)} propagated routes, more than its "
                             f"{MAX_DYNAMIC_ROUTES_PER_GATEWAY} dynamic routes", fix="propagate fewer, wider segments",
                             where=where)
        self._claim_id(attachment_id, "VPC attachment", where)
        attachment = VpcAttachment(id=attachment_id, border_gateway_id=bgw_id, vpc_id=vpc_id,
                                   all_segments=subnets is None, segments=segments, latency_ms=latency_ms)
        self.attachments[attachment_id] = attachment
        try:
            self._check_gateway_table(bgw, attachment, where)
            for propagation in self.propagations:
                if propagation.border_gateway_id == bgw_id:
                    self._check_learnt(propagation.vpc_id, where)
        except CloudError:
            del self.attachments[attachment_id]
            self._ids.discard(attachment_id)
            raise
        return attachment

    def _check_gateway_table(self, bgw: BorderGateway, new: VpcAttachment, where: str) -> None:
        for segment in new.segments:
            for other, attachment in self.gateway_routes(bgw.id):
                if attachment.id != new.id and other != segment and other.overlaps(segment):
                    raise CloudError("InvalidParameter.RouteConflict",
                                     f"{segment} -> {new.id} ({new.vpc_id}) and {other} -> {attachment.id} "
                                     f"({attachment.vpc_id}) would overlap in {bgw.route_table.id}",
                                     fix=f"propagate named subnets of {new.vpc_id} instead of all segments, so that "
                                         "no two segments overlap", where=where)

    def propagate_routes(self, *, vpc_id: str, bgw_id: str, ranges: list[IPv4Network],
                         where: str = "") -> RoutePropagation:
        vpc = self._vpc(vpc_id, where)
        self._gateway(bgw_id, where)
        if self.attachment_of(vpc_id, bgw_id) is None:
            raise CloudError("InvalidParameter.NotAttached", f"{vpc_id} is not attached to {bgw_id}",
                             fix=f"create a VPC attachment of {vpc_id} to {bgw_id} first", where=where)
        if any(p.vpc_id == vpc_id and p.border_gateway_id == bgw_id for p in self.propagations):
            raise CloudError("InvalidParameter.PropagationExists",
                             f"{vpc.route_table.id} already learns from {bgw_id}", fix="change the existing ranges",
                             where=where)
        propagation = RoutePropagation(vpc_id=vpc_id, border_gateway_id=bgw_id, ranges=list(ranges))
        self.propagations.append(propagation)
        try:
            self._check_learnt(vpc_id, where)
        except CloudError:
            self.propagations.remove(propagation)
            raise
        return propagation

    def _check_learnt(self, vpc_id: str, where: str) -> None:
        """Learnt segments must not overlap the VPC's own block nor each other."""
        vpc = self.vpcs[vpc_id]
        learnt = self.learnt_routes(vpc_id)
        table = vpc.route_table.id
        for segment, bgw_id, attachment in learnt:
            if segment.overlaps(vpc.cidr):
                clear = sorted({str(s) for s, _b, _a in learnt if not s.overlaps(vpc.cidr)})
                hint = f" (for instance to {', '.join(clear)})" if clear else ""
                raise CloudError("InvalidParameter.RouteConflict",
                                 f"the learnt route {segment} -> {bgw_id} (from {attachment.vpc_id}) would overlap "
                                 f"the local route {vpc.cidr} in {table}",
                                 fix=f"narrow the propagation range of {table} so that it excludes {vpc.cidr}{hint}",
                                 where=where)
        if not _any_overlap({segment for segment, _b, _a in learnt}):
            return      # the common case, in O(n log n): 249 learnt segments in each of 250 VPCs
        for index, (segment, _bgw, attachment) in enumerate(learnt):
            for other, _other_bgw, other_attachment in learnt[index + 1:]:
                if segment != other and segment.overlaps(other):
                    raise CloudError("InvalidParameter.RouteConflict",
                                     f"the learnt routes {segment} (from {attachment.vpc_id}) and {other} "
                                     f"(from {other_attachment.vpc_id}) would overlap in {table}",
                                     fix=f"narrow the propagation ranges of {table} so that only one is learnt",
                                     where=where)

    def create_vpc_peering(self, *, peering_id: str, account: str, vpc_id: str, peer_vpc_id: str,
                           where: str = "") -> VpcPeering:
        self._require_account(account, where)
        vpc, peer = self._vpc(vpc_id, where), self._vpc(peer_vpc_id, where)
        if vpc_id == peer_vpc_id:
            raise CloudError("InvalidParameter.SameVpc", "a VPC cannot peer with itself",
                             fix="name two different VPCs", where=where)
        if {vpc.account, peer.account} != {account}:
            raise CloudError("InvalidParameter.CrossAccount", f"{vpc_id} and {peer_vpc_id} must both belong to {account}",
                             fix="peer VPCs of the same account", where=where)
        if vpc.region != peer.region:
            raise CloudError("InvalidParameter.CrossRegion", f"{vpc_id} is in {vpc.region}, {peer_vpc_id} in "
                             f"{peer.region}", fix="peer VPCs of the same region", where=where)
        if vpc.cidr.overlaps(peer.cidr):
            raise CloudError("InvalidParameter.CidrOverlap", f"{vpc_id} ({vpc.cidr}) and {peer_vpc_id} ({peer.cidr}) "
                             "overlap", fix="peer only VPCs whose CIDRs do not overlap", where=where)
        for other in self.peerings.values():
            if {other.vpc_id, other.peer_vpc_id} == {vpc_id, peer_vpc_id}:
                raise CloudError("InvalidParameter.PeeringExists",
                                 f"{vpc_id} and {peer_vpc_id} are already peered by {other.id}",
                                 fix="use the existing peering", where=where)
        self._claim_id(peering_id, "VPC peering", where)
        peering = VpcPeering(id=peering_id, account=account, vpc_id=vpc_id, peer_vpc_id=peer_vpc_id)
        self.peerings[peering_id] = peering
        return peering


def _any_overlap(segments: set[IPv4Network]) -> bool:
    """Do two different blocks overlap? Sorted by first address, a block overlaps an earlier one exactly when it
    starts before the furthest end seen so far (CIDR blocks either nest or are apart)."""
    furthest_end = -1
    for segment in sorted(segments, key=lambda s: (int(s.network_address), -s.num_addresses)):
        if int(segment.network_address) <= furthest_end:
            return True
        furthest_end = max(furthest_end, int(segment.broadcast_address))
    return False
