"""Scenario file -> validated values -> ordered control-plane operations.

Every problem is reported with the file, the line and the field, and never as
a traceback. The operations are applied in the tutorial's order, so a refusal
names the step it belongs to.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from emulator import schema
from emulator.cloud.bgp import CustomerNeighbor
from emulator.cloud.control_plane import ControlPlane
from emulator.cloud.resources import Bfd, NextHopType, Role, RouterType
from emulator.errors import CloudError, ScenarioError
from emulator.impairment import Impairment
from emulator.yaml_source import SourceMap, load_yaml
from emulator.yaml_source import dotted as _dotted

SUBNET_KEYS = ("vswitches", "subnets")   # a VPC's subnets, in each provider's word (Provider.SUBNETS_KEY)

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class Scenario:
    """A scenario applied to a control plane up to some step, with what it expects and wants checked."""

    name: str
    title: str
    reference: str
    path: Path
    cloud: ControlPlane
    steps: list[str]                      # what was applied, one line per operation, for the summary
    expectations: tuple[schema.Expectation, ...]
    traceroutes: tuple[schema.Probe, ...]
    throughputs: tuple[schema.Throughput, ...]
    model: schema.ScenarioFile
    source: SourceMap
    steps_total: int = 0
    steps_applied: int = 0

    @property
    def complete(self) -> bool:
        """All tutorial steps applied: the scenario's stated expectations hold only then."""
        return self.steps_applied == self.steps_total

    def step_titles(self) -> list[str]:
        return [step.title for step in self.model.steps]

    def apply_next_step(self) -> list[str]:
        """Apply the next tutorial step to this (possibly live) control plane; return its operations."""
        if self.complete:
            raise ScenarioError(f"all {self.steps_total} steps are already applied", where=str(self.path),
                                fix="nothing left to do")
        applier = _Applier(self.model, self.source, self.cloud)
        applier.step(self.steps_applied)
        self.steps_applied += 1
        self.steps.extend(applier.log)
        return applier.log


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A scenario name (from scenarios/) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if not candidate.is_file():
            raise ScenarioError(f"no scenario file at {name_or_path}",
                                fix="check the path, or give a name: " + ", ".join(available_scenarios()))
        return candidate
    named = SCENARIO_DIR / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    names = available_scenarios()
    close = difflib.get_close_matches(name_or_path, names, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise ScenarioError(f"unknown scenario {name_or_path[:80]!r}",
                        fix=f"{hint}known scenarios: {', '.join(names)}; or give a path to a YAML file")


def load(name_or_path: str, until_step: int | None = None) -> Scenario:
    """Read, validate and apply a scenario (its first `until_step` steps, or all)."""
    path = resolve(name_or_path)
    data, source = load_yaml(path)
    model = validate(data, source)
    return apply(model, source, path, until_step)


def validate(data: Any, source: SourceMap) -> schema.ScenarioFile:
    if not isinstance(data, dict):
        raise ScenarioError("the top level must be a mapping (name:, accounts:, vpcs:, ...)",
                            where=source.where(()), fix="start from scenarios/multi_vpc_leased_line.yaml")
    try:
        return schema.ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None


def _first_error(exc: ValidationError, source: SourceMap) -> ScenarioError:
    problems = exc.errors(include_url=False)
    # A misspelt key also makes the right one "missing": report the misspelling, it explains both.
    first = min(problems, key=lambda p: (p["type"] != "extra_forbidden", source.line_of(p["loc"])))
    loc = first["loc"]
    dotted = _dotted(loc)
    extra = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    if first["type"] == "extra_forbidden":
        allowed = _fields_at(schema.ScenarioFile, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(allowed)}"
        return ScenarioError(f"unknown key '{str(loc[-1])[:60]}' in {_dotted(loc[:-1]) or 'the top level'}{extra}",
                             where=source.where(loc), fix=hint)
    if first["type"] == "missing":
        return ScenarioError(f"{dotted} is required but missing{extra}", where=source.where(loc[:-1]),
                             fix=f"add '{loc[-1]}:' there")
    if first["type"] in ("int_type", "float_type", "bool_type"):    # strict: the console takes a number or a switch
        wanted = {"int_type": "a whole number such as 1000", "float_type": "a number such as 20",
                  "bool_type": "true or false"}[first["type"]]
        given = first["input"]
        shown = "true" if given is True else "false" if given is False else repr(given)[:40]
        return ScenarioError(f"{dotted}: {shown} is not {wanted}{extra}", where=source.where(loc),
                             fix=f"write {wanted}, unquoted")
    if first["type"] == "too_long":
        context = first.get("ctx", {})
        return ScenarioError(f"{dotted}: {context.get('actual_length', 'too many')} items, more than the "
                             f"{context.get('max_length')} the emulator takes in one list{extra}",
                             where=source.where(loc), fix="split the list over several steps where it is a step's "
                             "section; 'Sizes of one file' in docs/scenario-reference.md gives each list's cap and why")
    message = str(first["msg"]).removeprefix("Value error, ")
    return ScenarioError(f"{dotted}: {message}{extra}", where=source.where(loc),
                         fix="see docs/scenario-reference.md for this field's format")


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `loc` in the schema (by alias), for 'did you mean'."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = next((f for name, f in current.model_fields.items() if (f.alias or name) == part), None)
        if info is None:
            return []
        current = _model_in(info.annotation)
        if current is None:
            return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# Which field of the refused resource an error code is about (the first present in the file is named).
CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "InvalidAccount.NotFound": ("account",),
    "Forbidden.NotOwner": ("account",),
    "InvalidParameter.DuplicateId": ("id", "route_table_id", "vrouter_id"),
    "InvalidCidrBlock.Malformed": ("cidr",),
    "InvalidCidrBlock.NotInVpc": ("cidr",),
    "InvalidCidrBlock.NotInIdc": ("cidr",),
    "InvalidCidrBlock.Reserved": ("cidr", "networks"),
    "InvalidDestinationCidrBlock.Reserved": ("destination_cidr", "destination"),
    "InvalidIpAddress.Conflict": ("peer_gateway_ip",),
    "InvalidCidrBlock.Overlapped": ("cidr", "destination_cidr"),
    "InvalidCIDRBlock.Duplicate": ("destination_cidr", "destination"),
    "InvalidDestinationCidrBlock.InVpc": ("destination_cidr",),
    "InvalidPrivateIpAddress.NotInVSwitch": ("ip",),
    "InvalidPrivateIpAddress.Reserved": ("ip",),
    "InvalidPrivateIpAddress.Duplicated": ("ip",),
    "InvalidIpAddress.Malformed": ("ip", "gateway", "peer_gateway_ip", "local_gateway_ip"),
    "InvalidIpAddress.NotInSameSubnet": ("peer_gateway_ip",),
    "InvalidIpAddress.Duplicated": ("peer_gateway_ip",),
    "InvalidPeeringSubnetMask.Malformed": ("peering_subnet_mask",),
    "InvalidPhysicalConnectionId.NotFound": ("physical_connection",),
    "InvalidVlanId.Malformed": ("vlan_id",),
    "InvalidVlanId.Used": ("vlan_id",),
    "InvalidRouterId.NotFound": ("router_id",),
    "InvalidRole.ValueNotSupported": ("role",),
    "IncorrectRole.NotInitiatingSide": ("router_interface",),
    "IncorrectRIStatus": ("router_interface",),
    "IncorrectOppositeInterfaceInfo": ("router_interface",),
    "IncorrectOppositeInterfaceInfo.NotSet": ("router_interface",),
    "InvalidRouterInterfaceId.NotFound": ("router_interface",),
    "InvalidSpec.ValudNotSupported": ("spec",),
    "InvalidNextHopId.NotFound": ("next_hop_id", "next_hop"),
    "InvalidNextHop.NotOwnInterface": ("next_hop_id",),
    "InvalidNextHop.NotAttached": ("next_hop_id",),
    "InvalidNextHopType.NotSupported": ("next_hop_type",),
    "InvalidNextHop.Unreachable": ("next_hop",),
    "InvalidRouteEntry.NotFound": ("destination_cidr",),
    "InvalidParameter.Asn": ("asn", "customer_asn"),
    "InvalidParameter.CrossAccount": ("vpc", "peer_vpc", "border_gateway"),
    "InvalidParameter.VlanId": ("vlan_id",),
    "InvalidParameter.NextHopList": ("next_hop_list",),
    "MissingParameter.NextHop": ("next_hop_id", "next_hop_type"),
    "InvalidParameter.VlanIdConflict": ("vlan_id",),
    "InvalidParameter.InterconnectCidr": ("interconnect_cidr",),
    "QuotaExceeded.PrivateVirtualInterface": ("physical_connection",),
    "QuotaExceeded.DynamicRoute": ("propagate",),
    "InvalidParameter.CrossRegion": ("vpc", "peer_vpc"),
    "InvalidParameter.AttachmentExists": ("vpc",),
    "InvalidSubnetId.NotFound": ("propagate",),
    "InvalidParameter.RouteConflict": ("propagate", "ranges"),
    "InvalidParameter.NotAttached": ("vpc",),
    "InvalidBorderGatewayId.NotFound": ("border_gateway",),
    "InvalidVpcId.NotFound": ("vpc", "peer_vpc"),
    "InvalidParameter.CidrOverlap": ("peer_vpc",),
    "InvalidLocalAsn.Reserved": ("local_asn",),
    "InvalidLocalAsn.Malformed": ("local_asn",),
    "InvalidPeerAsn.SameAsLocal": ("peer_asn",),
    "InvalidBgpGroup": ("bgp_group_id",),
    "InvalidPeerIpAddress": ("peer_ip_address",),
    "InvalidPeerIpAddress.Duplicated": ("peer_ip_address",),
    "InvalidDstCidrBlock.Duplicate": ("dst_cidr_block",),
    "InvalidDstCidrBlock.Reserved": ("dst_cidr_block",),
    "InvalidNeighbor.Unreachable": ("neighbors",),
    "InvalidNeighbor.Duplicated": ("neighbors",),
    "InvalidParameter.Bfd": ("neighbors",),
    "InvalidParameter.MinRxInterval": ("min_rx_interval",),
    "InvalidParameter.MinTxInterval": ("min_tx_interval",),
    "InvalidParameter.DetectMultiplier": ("detect_multiplier",),
    "InvalidParameter.HcRate": ("hc_rate",),
    "InvalidParameter.HcThreshold": ("hc_threshold",),
    "InvalidParameter.Weight": ("next_hop_list",),
}


class _Applier:
    """Replays the file as provider operations: top-level resources, then each step, in the tutorial's order."""

    APPLY: ClassVar[dict[str, Callable[..., None]]]   # section -> its operation; set below the class

    def __init__(self, model: schema.ScenarioFile, source: SourceMap, cloud: ControlPlane | None = None) -> None:
        self.model = model
        self.source = source
        self.cloud = cloud or ControlPlane(model.provider)
        self.log: list[str] = []

    def where(self, *loc: Any) -> str:
        """The file:line of `loc`; remembered, so that a refusal can be pinned to its field."""
        self.current = loc
        return self.source.where(loc)

    def _pin_to_field(self, error: CloudError) -> None:
        """Point a refusal at the field it is about (vbrs[0].vlan_id), where the code says which."""
        loc = getattr(self, "current", ())
        field = next((f for f in CODE_FIELDS.get(error.code, ()) if loc + (f,) in self.source.lines), None)
        if field is not None:
            error.where = self.source.where(loc + (field,))
            error.message = f"{_dotted(loc + (field,))}: {error.message}"

    def base(self) -> None:
        try:
            self._base()
        except CloudError as error:
            self._pin_to_field(error)
            raise

    def _base(self) -> None:
        m = self.model
        for i, account in enumerate(m.accounts):
            self.cloud.create_account(account.id, account.name, where=self.where("accounts", i))
        if m.idc is not None:
            self._idc(m.idc)
        self.sections(m, ())
        if m.idc is not None:
            self.customer_routes(m.idc.access_device.static_routes, ("idc", "access_device", "static_routes"))

    def step(self, index: int) -> None:
        step = self.model.steps[index]
        self.log.append(f"Step {index + 1}: {step.title}")
        try:
            self.sections(step, ("steps", index))
        except CloudError as error:
            self._pin_to_field(error)
            error.where = f"{error.where} (step {index + 1}: {step.title})"
            raise

    def sections(self, part: schema.Sections, prefix: tuple[Any, ...]) -> None:
        """Every section of `part`, in the one order the schema declares (schema.Sections)."""
        for section in schema.Sections.model_fields:
            items = getattr(part, section)
            if section == "customer_routes":
                if items:
                    self.customer_routes(items, prefix + (section,))
                continue
            if section == "customer_bgp":
                if items is not None:
                    self.customer_bgp(items, prefix + (section,))
                continue
            for i, item in enumerate(items):
                self.APPLY[section](self, item, prefix + (section, i))

    def _physical_connection(self, pc: schema.PhysicalConnection, loc: tuple[Any, ...]) -> None:
        self.cloud.create_physical_connection(account=pc.account, pc_id=pc.id, name=pc.name,
                                              access_point=pc.access_point, bandwidth_mbps=pc.bandwidth_mbps,
                                              impairment=Impairment(pc.latency_ms, pc.jitter_ms, pc.loss_percent),
                                              where=self.where(*loc))
        impairment = self.cloud.physical_connections[pc.id].impairment
        physics = "" if impairment.ideal else f", {impairment.describe()}"
        word = "Physical connection" if "private virtual interfaces" in self.cloud.provider.RESOURCES else "Leased line"
        self.log.append(f"{word} {pc.id} ({pc.bandwidth_mbps} Mbit/s{physics}) at access point {pc.access_point}, "
                        f"account {pc.account}")

    def _border_gateway(self, bgw: schema.BorderGateway, loc: tuple[Any, ...]) -> None:
        self.cloud.create_border_gateway(account=bgw.account, bgw_id=bgw.id, name=bgw.name, region=bgw.region,
                                         asn=bgw.asn, route_table_id=bgw.route_table_id, where=self.where(*loc))
        self.log.append(f"Border gateway {bgw.id} ({bgw.name or 'no name'}, {bgw.region}, ASN {bgw.asn})")

    def _vpc_attachment(self, att: schema.VpcAttachment, loc: tuple[Any, ...]) -> None:
        subnets = None if att.propagate == "all" else list(att.propagate)
        created = self.cloud.attach_vpc(attachment_id=att.id, bgw_id=att.border_gateway, vpc_id=att.vpc,
                                        subnets=subnets, latency_ms=att.latency_ms, where=self.where(*loc))
        what = "all segments" if subnets is None else "subnets " + ", ".join(subnets)
        self.log.append(f"Attach {att.vpc} to {att.border_gateway} as {att.id}, propagating {what} "
                        f"({', '.join(map(str, created.segments))})")

    def _vpc_peering(self, peering: schema.VpcPeering, loc: tuple[Any, ...]) -> None:
        self.cloud.create_vpc_peering(peering_id=peering.id, account=peering.account, vpc_id=peering.vpc,
                                      peer_vpc_id=peering.peer_vpc, where=self.where(*loc))
        self.log.append(f"VPC peering {peering.id}: {peering.vpc} <-> {peering.peer_vpc}")

    def _vbr(self, vbr: schema.Vbr, loc: tuple[Any, ...]) -> None:
        self.cloud.create_vbr(account=vbr.account, vbr_id=vbr.id, name=vbr.name,
                              physical_connection_id=vbr.physical_connection, vlan_id=vbr.vlan_id,
                              local_gateway_ip=vbr.local_gateway_ip, peer_gateway_ip=vbr.peer_gateway_ip,
                              peering_subnet_mask=vbr.peering_subnet_mask, route_table_id=vbr.route_table_id,
                              bfd=Bfd(vbr.min_rx_interval, vbr.min_tx_interval, vbr.detect_multiplier),
                              where=self.where(*loc))
        self.log.append(f"VBR {vbr.id} ({vbr.name}) on {vbr.physical_connection}, VLAN {vbr.vlan_id}, "
                        f"{vbr.local_gateway_ip} (VBR) / {vbr.peer_gateway_ip} (customer) "
                        f"mask {vbr.peering_subnet_mask}")

    def _private_virtual_interface(self, pvi: schema.PrivateVirtualInterface, loc: tuple[Any, ...]) -> None:
        created = self.cloud.create_private_virtual_interface(
            account=pvi.account, pvi_id=pvi.id, name=pvi.name, physical_connection_id=pvi.physical_connection,
            bgw_id=pvi.border_gateway, vlan_id=pvi.vlan_id, interconnect=pvi.interconnect_cidr, route_type=pvi.route_type,
            customer_asn=pvi.customer_asn, where=self.where(*loc))
        routing = f"BGP with AS {pvi.customer_asn}" if pvi.route_type == "bgp" else "static routing"
        ignored = "; its BGP key does not take effect (JD Cloud) and is ignored" if pvi.bgp_key else ""
        self.log.append(f"Private virtual interface {pvi.id} on {pvi.physical_connection}, VLAN {pvi.vlan_id}, to "
                        f"{pvi.border_gateway}: {created.peer_gateway.ip} (customer) / {created.local_gateway.ip} "
                        f"(JD Cloud), {routing}{ignored}")

    def _router_interface(self, ri: schema.RouterInterface, loc: tuple[Any, ...]) -> None:
        self.cloud.create_router_interface(
            account=ri.account, ri_id=ri.id, router_type=RouterType(ri.router_type), router_id=ri.router_id,
            role=Role(ri.role), spec=ri.spec, opposite_account=ri.opposite.account,
            opposite_router_type=RouterType(ri.opposite.router_type), opposite_router_id=ri.opposite.router_id,
            opposite_interface_id=ri.opposite.interface_id, latency_ms=ri.latency_ms, where=self.where(*loc))
        self.log.append(f"Router interface {ri.id} on {ri.router_type} {ri.router_id} ({ri.role}, {ri.spec}), "
                        f"peer {ri.opposite.interface_id} of account {ri.opposite.account}")

    def _connect(self, connect: schema.Connect, loc: tuple[Any, ...]) -> None:
        self.cloud.connect_router_interface(account=connect.account, ri_id=connect.router_interface,
                                            where=self.where(*loc))
        ri = self.cloud.router_interfaces[connect.router_interface]
        self.log.append(f"Connect {ri.id} -> {ri.opposite_interface_id}: both "
                        f"{' -> '.join(s.value for s in ri.history)}")

    def _deactivate(self, ref: schema.InterfaceRef, loc: tuple[Any, ...]) -> None:
        self.cloud.deactivate_router_interface(ri_id=ref.router_interface, account=ref.account,
                                               where=self.where(*loc))
        self.log.append(f"Deactivate {ref.router_interface}")

    def _activate(self, ref: schema.InterfaceRef, loc: tuple[Any, ...]) -> None:
        self.cloud.activate_router_interface(ri_id=ref.router_interface, account=ref.account, where=self.where(*loc))
        self.log.append(f"Activate {ref.router_interface}")

    def _health_check(self, check: schema.HealthCheck, loc: tuple[Any, ...]) -> None:
        made = self.cloud.configure_health_check(ri_id=check.router_interface, source_ip=check.health_check_source_ip,
                                                 target_ip=check.health_check_target_ip, rate_ms=check.hc_rate,
                                                 threshold=check.hc_threshold, where=self.where(*loc))
        self.log.append(f"Health check on {check.router_interface}: ping {made.target_ip} from {made.source_ip} every "
                        f"{made.rate_ms} ms, faulty after {made.threshold} unanswered ({made.detection_s:g} s)")

    def _route_entry(self, entry: schema.RouteEntry, loc: tuple[Any, ...]) -> None:
        hops = [hop.next_hop_id for hop in entry.next_hop_list] if entry.next_hop_list is not None else None
        weights = [hop.weight for hop in entry.next_hop_list or []]
        created = self.cloud.add_route_entry(
            router_id=entry.router_id, destination=entry.destination_cidr,
            next_hop_type=NextHopType(entry.next_hop_type) if entry.next_hop_type else None,
            next_hop_id=entry.next_hop_id, next_hop_list=hops, weights=weights, where=self.where(*loc))
        target = (f"{hops[0] if created.weights[0] else hops[1]} active, the other standby" if created.active_standby
                  else f"ECMP over {', '.join(hops)}" if hops else f"{entry.next_hop_type} {entry.next_hop_id}")
        self.log.append(f"Route entry on {entry.router_id}: {entry.destination_cidr} -> {target}")

    def _route_propagation(self, propagation: schema.RoutePropagation, loc: tuple[Any, ...]) -> None:
        self.cloud.propagate_routes(vpc_id=propagation.vpc, bgw_id=propagation.border_gateway,
                                    ranges=list(propagation.ranges), where=self.where(*loc))
        learnt = [str(s) for s, _b, _a in self.cloud.learnt_routes(propagation.vpc)]
        self.log.append(f"Route propagation into {propagation.vpc}'s table from {propagation.border_gateway}, "
                        f"ranges {', '.join(map(str, propagation.ranges))}: learns {', '.join(learnt) or 'nothing'}")

    def _delete_route_entry(self, ref: schema.RouteEntryRef, loc: tuple[Any, ...]) -> None:
        self.cloud.delete_route_entry(router_id=ref.router_id, destination=ref.destination_cidr,
                                      where=self.where(*loc))
        self.log.append(f"Delete route entry {ref.destination_cidr} from {ref.router_id}")

    def customer_routes(self, routes: list[schema.StaticRoute], prefix: tuple[Any, ...]) -> None:
        idc = self.model.idc
        if idc is None:
            raise ScenarioError("customer routes need an IDC", where=self.where(*prefix),
                                fix="declare the IDC under idc:")
        for r, route in enumerate(routes):
            self.cloud.add_idc_static_route(idc_id=idc.id, destination=route.destination, next_hop=route.next_hop,
                                            metric=route.metric, where=self.where(*prefix, r))
            metric = f" metric {route.metric}" if route.metric else ""
            self.log.append(f"Customer device {idc.access_device.id}: ip route {route.destination} {route.next_hop}"
                            f"{metric}")

    def _bgp_group(self, group: schema.BgpGroup, loc: tuple[Any, ...]) -> None:
        self.cloud.create_bgp_group(group_id=group.id, vbr_id=group.router_id, peer_asn=group.peer_asn,
                                    local_asn=group.local_asn, auth_key=group.auth_key, is_fake_asn=group.is_fake_asn,
                                    name=group.name, where=self.where(*loc))
        key = ", MD5 key set" if group.auth_key else ""
        self.log.append(f"BGP group {group.id} on {group.router_id}: AS {group.local_asn} (VBR) with peer AS "
                        f"{group.peer_asn}{key}")

    def _bgp_peer(self, peer: schema.BgpPeer, loc: tuple[Any, ...]) -> None:
        self.cloud.create_bgp_peer(peer_id=peer.id, group_id=peer.bgp_group_id, peer_ip=peer.peer_ip_address,
                                   enable_bfd=peer.enable_bfd, where=self.where(*loc))
        self.log.append(f"BGP peer {peer.id} in {peer.bgp_group_id}: {peer.peer_ip_address}")

    def _bgp_network(self, network: schema.BgpNetwork, loc: tuple[Any, ...]) -> None:
        self.cloud.add_bgp_network(vbr_id=network.router_id, destination=network.dst_cidr_block,
                                   where=self.where(*loc))
        self.log.append(f"BGP network on {network.router_id}: advertise {network.dst_cidr_block}")

    def customer_bgp(self, bgp: schema.CustomerBgp, loc: tuple[Any, ...]) -> None:
        idc = self.model.idc
        if idc is None:
            raise ScenarioError("customer_bgp needs an IDC", where=self.where(*loc), fix="declare the IDC under idc:")
        neighbors = [CustomerNeighbor(ip=n.ip, remote_asn=n.remote_asn, password=n.password,
                                      bfd=Bfd(n.bfd_interval_ms, n.bfd_interval_ms, n.bfd_multiplier) if n.bfd else None)
                     for n in bgp.neighbors]
        self.cloud.configure_customer_bgp(idc_id=idc.id, asn=bgp.asn, neighbors=neighbors, networks=list(bgp.networks),
                                          where=self.where(*loc))
        shown = ", ".join(map(str, bgp.networks[:3])) + (f" and {len(bgp.networks) - 3} more"
                                                         if len(bgp.networks) > 3 else "")
        self.log.append(f"Customer device {idc.access_device.id}: router bgp {bgp.asn}, neighbor "
                        + ", ".join(f"{n.ip} remote-as {n.remote_asn}" for n in bgp.neighbors)
                        + f", networks {shown or 'none'}")

    def _idc(self, idc: schema.Idc) -> None:
        self.cloud.create_idc(idc_id=idc.id, name=idc.name, cidr=idc.cidr, device_id=idc.access_device.id,
                              where=self.where("idc"))
        for s, subnet in enumerate(idc.subnets):
            created = self.cloud.add_idc_subnet(idc_id=idc.id, cidr=subnet.cidr, gateway=subnet.gateway,
                                                where=self.where("idc", "subnets", s))
            for v, server in enumerate(subnet.servers):
                self.cloud.add_idc_server(idc_id=idc.id, subnet=created, server_id=server.id, ip=server.ip,
                                          where=self.where("idc", "subnets", s, "servers", v))

    def _vpc(self, vpc: schema.Vpc, loc: tuple[Any, ...]) -> None:
        word = self.cloud.provider.SUBNETS_KEY
        other = next(key for key in SUBNET_KEYS if key != word)
        if getattr(vpc, other):
            raise ScenarioError(f"{_dotted(loc)}: {self.cloud.provider.NAME} calls them {word}, not {other}",
                                where=self.where(*loc, other), fix=f"rename '{other}:' to '{word}:'")
        self.cloud.create_vpc(account=vpc.account, vpc_id=vpc.id, name=vpc.name, region=vpc.region, cidr=vpc.cidr,
                              vrouter_id=vpc.vrouter_id or f"{vpc.id}-vrouter", route_table_id=vpc.route_table_id,
                              where=self.where(*loc))
        self.log.append(f"VPC {vpc.id} ({vpc.name}, {vpc.region}, {vpc.cidr}) in account {vpc.account}")
        for s, vsw in enumerate(getattr(vpc, word)):
            self.cloud.create_vswitch(vpc_id=vpc.id, vswitch_id=vsw.id, zone=vsw.zone, cidr=vsw.cidr,
                                      where=self.where(*loc, word, s))
            for n, inst in enumerate(vsw.instances):
                self.cloud.create_instance(vswitch_id=vsw.id, instance_id=inst.id, ip=inst.ip, name=inst.name,
                                           where=self.where(*loc, word, s, "instances", n))


# Each section's operation (customer_routes is applied as a whole list); the order is schema.Sections'.
_Applier.APPLY = {
    "physical_connections": _Applier._physical_connection, "vpcs": _Applier._vpc,
    "border_gateways": _Applier._border_gateway, "vpc_attachments": _Applier._vpc_attachment,
    "vpc_peerings": _Applier._vpc_peering, "vbrs": _Applier._vbr,
    "private_virtual_interfaces": _Applier._private_virtual_interface, "router_interfaces": _Applier._router_interface,
    "connect": _Applier._connect, "deactivate": _Applier._deactivate, "activate": _Applier._activate,
    "health_checks": _Applier._health_check,
    "route_entries": _Applier._route_entry, "route_propagations": _Applier._route_propagation,
    "delete_route_entries": _Applier._delete_route_entry, "bgp_groups": _Applier._bgp_group,
    "bgp_peers": _Applier._bgp_peer, "bgp_networks": _Applier._bgp_network,
}


def apply(model: schema.ScenarioFile, source: SourceMap, path: Path, until_step: int | None = None) -> Scenario:
    total = len(model.steps)
    if until_step is not None and not 0 <= until_step <= total:
        raise ScenarioError(f"--until-step {until_step}: the scenario has {total} steps", where=str(path),
                            fix=f"choose a step between 0 and {total}")
    applier = _Applier(model, source)
    applier.base()
    count = total if until_step is None else until_step
    for index in range(count):
        applier.step(index)
    hosts = _host_ids(applier.cloud)
    for i, item in enumerate(model.expect):
        _check_hosts(hosts, item.src, item.dst, source, ("expect", i))
    for i, probe in enumerate(model.checks.traceroute):
        _check_hosts(hosts, probe.src, probe.dst, source, ("checks", "traceroute", i))
    for i, test in enumerate(model.checks.throughput):
        _check_hosts(hosts, test.src, test.dst, source, ("checks", "throughput", i))
    for i, test in enumerate(model.checks.performance):
        _check_hosts(hosts, test.src, test.dst, source, ("checks", "performance", i))
    for i, test in enumerate(model.checks.failover):
        _check_hosts(hosts, test.src, test.dst, source, ("checks", "failover", i))
    _check_events(model, applier.cloud, source)
    return Scenario(name=model.name, title=model.title, reference=model.reference, path=path, cloud=applier.cloud,
                    steps=applier.log, expectations=tuple(model.expect), traceroutes=tuple(model.checks.traceroute),
                    throughputs=tuple(model.checks.throughput), model=model, source=source,
                    steps_total=total, steps_applied=count)


def _host_ids(cloud: ControlPlane) -> list[str]:
    ids = cloud.idc_server_ids()
    ids += [inst.id for vpc in cloud.vpcs.values() for vsw in vpc.vswitches.values() for inst in vsw.instances.values()]
    return ids


def host_hint(host: str, hosts: Sequence[str]) -> str:
    """The fix for a host name that is not in the scenario: the closest one (whatever the case), or the list."""
    by_lower = {name.lower(): name for name in hosts}
    close = difflib.get_close_matches(host.lower(), list(by_lower), n=1)
    return f"did you mean {by_lower[close[0]]}?" if close else f"hosts are: {', '.join(hosts)}"


def _check_hosts(hosts: list[str], src: str, dst: str, source: SourceMap, loc: tuple[Any, ...]) -> None:
    for key, host in (("from", src), ("to", dst)):
        if host not in hosts:
            hint = host_hint(host, hosts)
            raise ScenarioError(f"{_dotted(loc + (key,))}: {host} is not an IDC server or an instance",
                                where=source.where(loc + (key,)), fix=hint)
    if src == dst:
        raise ScenarioError(f"{_dotted(loc)}: from and to are the same host ({src})", where=source.where(loc),
                            fix="name two different hosts")



MIN_EVENT_GAP_S = 2.0    # the failover check reads which line carried traffic in the second before each event
# Each event's operation on the control plane, as the lab's commands call them (runner.apply_event uses lab.py).
EVENT_OPERATIONS: dict[str, Callable[[ControlPlane, str], object]] = {
    "line_down": lambda cloud, pc: cloud.set_physical_connection_state(pc_id=pc, up=False),
    "line_up": lambda cloud, pc: cloud.set_physical_connection_state(pc_id=pc, up=True),
    "line_fail": lambda cloud, pc: cloud.set_physical_connection_failure(pc_id=pc, failed=True),
    "line_restore": lambda cloud, pc: cloud.set_physical_connection_failure(pc_id=pc, failed=False),
    "deactivate": lambda cloud, ri: cloud.deactivate_router_interface(ri_id=ri),
    "activate": lambda cloud, ri: cloud.activate_router_interface(ri_id=ri),
}


def _replay_events(model: schema.ScenarioFile, cloud: ControlPlane, source: SourceMap) -> None:
    """The timeline applied to a copy of the control plane, in order: an event the provider would refuse (a line
    restored that never failed, line_down twice, an Active interface activated) is refused now, at its line,
    instead of minutes into the run as that event's result."""
    replay = copy.deepcopy(cloud)
    for i, event in enumerate(model.events):
        try:
            EVENT_OPERATIONS[event.action](replay, event.id)
        except CloudError as refused:
            raise CloudError(refused.code, f"events[{i}] ({event.action} {event.id} at {event.at_s:g} s): "
                             + refused.message.removeprefix(f"{refused.code}: "),
                             fix="the events are applied in order, each to what the ones before it left: remove "
                             "this one, or put the event it needs before it", where=source.where(("events", i))) from None


def _check_events(model: schema.ScenarioFile, cloud: ControlPlane, source: SourceMap) -> None:
    """Events name existing lines or router interfaces, in time order, at least MIN_EVENT_GAP_S apart."""
    previous: float | None = None
    for i, event in enumerate(model.events):
        loc = ("events", i)
        known = cloud.physical_connections if event.action.startswith("line_") else cloud.router_interfaces
        if event.id not in known:
            what = "physical connection" if event.action.startswith("line_") else "router interface"
            raise ScenarioError(f"events[{i}]: {event.action} names {event.id}, which is no {what}",
                                where=source.where(loc + ("id",)), fix=f"name one of: {', '.join(known) or 'none'}")
        if previous is not None and event.at_s < previous + MIN_EVENT_GAP_S:
            raise ScenarioError(f"events[{i}]: at {event.at_s:g} s, less than {MIN_EVENT_GAP_S:g} s after "
                                f"events[{i - 1}] ({previous:g} s): the failover check reads which line carried "
                                "the probe in the second before each event", where=source.where(loc + ("at_s",)),
                                fix=f"list the events in time order, at least {MIN_EVENT_GAP_S:g} s apart")
        previous = event.at_s
    _replay_events(model, cloud, source)
    if model.events and not model.checks.failover:
        raise ScenarioError("events happen but nothing measures them", where=source.where(("events",)),
                            fix="add checks.failover: [{from: HOST, to: HOST}] (a probe across the events)")
