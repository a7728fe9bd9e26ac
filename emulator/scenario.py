"""Scenario file -> validated values -> ordered control-plane operations.

Every problem is reported with the file, the line and the field, and never as
a traceback. The operations are applied in the tutorial's order, so a refusal
names the step it belongs to.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from emulator import schema
from emulator.cloud.control_plane import ControlPlane
from emulator.cloud.resources import NextHopType, Role, RouterType
from emulator.errors import CloudError, ScenarioError
from emulator.yaml_source import SourceMap, load_yaml

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass(frozen=True)
class Scenario:
    """A scenario applied to a fresh control plane, with what it expects and wants checked."""

    name: str
    title: str
    reference: str
    path: Path
    cloud: ControlPlane
    steps: tuple[str, ...]
    expectations: tuple[schema.Expectation, ...]
    traceroutes: tuple[schema.Probe, ...]
    throughputs: tuple[schema.Throughput, ...]
    host_ids: tuple[str, ...] = field(default=())


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


def load(name_or_path: str) -> Scenario:
    """Read, validate and apply a scenario; raise ScenarioError or CloudError with file:line."""
    path = resolve(name_or_path)
    data, source = load_yaml(path)
    model = validate(data, source)
    return apply(model, source, path)


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
    message = str(first["msg"]).removeprefix("Value error, ")
    return ScenarioError(f"{dotted}: {message}{extra}", where=source.where(loc),
                         fix="see docs/scenario-reference.md for this field's format")


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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


class _Applier:
    """Replays the file as provider operations, in the tutorial's order."""

    def __init__(self, model: schema.ScenarioFile, source: SourceMap) -> None:
        self.model = model
        self.source = source
        self.cloud = ControlPlane()
        self.steps: list[str] = []

    def where(self, *loc: Any) -> str:
        return self.source.where(loc)

    def run(self) -> None:
        m = self.model
        for i, account in enumerate(m.accounts):
            self.cloud.create_account(account.id, account.name, where=self.where("accounts", i))
        if m.idc is not None:
            self._idc(m.idc)
        for i, pc in enumerate(m.physical_connections):
            self.cloud.create_physical_connection(account=pc.account, pc_id=pc.id, name=pc.name,
                                                  access_point=pc.access_point, bandwidth_mbps=pc.bandwidth_mbps,
                                                  where=self.where("physical_connections", i))
            self.steps.append(f"Leased line {pc.id} ({pc.bandwidth_mbps} Mbit/s) at access point {pc.access_point}, "
                              f"account {pc.account}")
        for i, vpc in enumerate(m.vpcs):
            self._vpc(i, vpc)
        for i, vbr in enumerate(m.vbrs):
            self.cloud.create_vbr(account=vbr.account, vbr_id=vbr.id, name=vbr.name,
                                  physical_connection_id=vbr.physical_connection, vlan_id=vbr.vlan_id,
                                  local_gateway_ip=vbr.local_gateway_ip, peer_gateway_ip=vbr.peer_gateway_ip,
                                  peering_subnet_mask=vbr.peering_subnet_mask, route_table_id=vbr.route_table_id,
                                  where=self.where("vbrs", i))
            self.steps.append(f"VBR {vbr.id} ({vbr.name}) on {vbr.physical_connection}, VLAN {vbr.vlan_id}, "
                              f"{vbr.local_gateway_ip} (VBR) / {vbr.peer_gateway_ip} (customer) "
                              f"mask {vbr.peering_subnet_mask}")
        for i, ri in enumerate(m.router_interfaces):
            self.cloud.create_router_interface(
                account=ri.account, ri_id=ri.id, router_type=RouterType(ri.router_type), router_id=ri.router_id,
                role=Role(ri.role), spec=ri.spec, opposite_account=ri.opposite.account,
                opposite_router_type=RouterType(ri.opposite.router_type), opposite_router_id=ri.opposite.router_id,
                opposite_interface_id=ri.opposite.interface_id, where=self.where("router_interfaces", i))
            self.steps.append(f"Router interface {ri.id} on {ri.router_type} {ri.router_id} ({ri.role}, {ri.spec}), "
                              f"peer {ri.opposite.interface_id} of account {ri.opposite.account}")
        for i, connect in enumerate(m.connect):
            self.cloud.connect_router_interface(account=connect.account, ri_id=connect.router_interface,
                                                where=self.where("connect", i))
            ri = self.cloud.router_interfaces[connect.router_interface]
            self.steps.append(f"Connect {ri.id} -> {ri.opposite_interface_id}: both "
                              f"{' -> '.join(s.value for s in ri.history)}")
        for i, entry in enumerate(m.route_entries):
            self.cloud.add_route_entry(router_id=entry.router_id, destination=entry.destination_cidr,
                                       next_hop_type=NextHopType(entry.next_hop_type), next_hop_id=entry.next_hop_id,
                                       where=self.where("route_entries", i))
            self.steps.append(f"Route entry on {entry.router_id}: {entry.destination_cidr} -> "
                              f"{entry.next_hop_type} {entry.next_hop_id}")
        if m.idc is not None:
            # The customer configures the access device last, once the VBR's side of the line exists.
            for r, route in enumerate(m.idc.access_device.static_routes):
                self.cloud.add_idc_static_route(idc_id=m.idc.id, destination=route.destination,
                                                next_hop=route.next_hop,
                                                where=self.where("idc", "access_device", "static_routes", r))
                self.steps.append(f"Customer device {m.idc.access_device.id}: "
                                  f"ip route {route.destination} {route.next_hop}")

    def _idc(self, idc: schema.Idc) -> None:
        self.cloud.create_idc(idc_id=idc.id, name=idc.name, cidr=idc.cidr, device_id=idc.access_device.id,
                              where=self.where("idc"))
        for s, subnet in enumerate(idc.subnets):
            created = self.cloud.add_idc_subnet(idc_id=idc.id, cidr=subnet.cidr, gateway=subnet.gateway,
                                                where=self.where("idc", "subnets", s))
            for v, server in enumerate(subnet.servers):
                self.cloud.add_idc_server(idc_id=idc.id, subnet=created, server_id=server.id, ip=server.ip,
                                          where=self.where("idc", "subnets", s, "servers", v))

    def _vpc(self, i: int, vpc: schema.Vpc) -> None:
        self.cloud.create_vpc(account=vpc.account, vpc_id=vpc.id, name=vpc.name, region=vpc.region, cidr=vpc.cidr,
                              vrouter_id=vpc.vrouter_id, route_table_id=vpc.route_table_id,
                              where=self.where("vpcs", i))
        self.steps.append(f"VPC {vpc.id} ({vpc.name}, {vpc.region}, {vpc.cidr}) in account {vpc.account}")
        for s, vsw in enumerate(vpc.vswitches):
            self.cloud.create_vswitch(vpc_id=vpc.id, vswitch_id=vsw.id, zone=vsw.zone, cidr=vsw.cidr,
                                      where=self.where("vpcs", i, "vswitches", s))
            for n, inst in enumerate(vsw.instances):
                self.cloud.create_instance(vswitch_id=vsw.id, instance_id=inst.id, ip=inst.ip, name=inst.name,
                                           where=self.where("vpcs", i, "vswitches", s, "instances", n))


def apply(model: schema.ScenarioFile, source: SourceMap, path: Path) -> Scenario:
    applier = _Applier(model, source)
    applier.run()
    hosts = _host_ids(applier.cloud)
    for section in ("expect",):
        for i, item in enumerate(getattr(model, section)):
            _check_hosts(hosts, item.src, item.dst, source, (section, i))
    for i, probe in enumerate(model.checks.traceroute):
        _check_hosts(hosts, probe.src, probe.dst, source, ("checks", "traceroute", i))
    for i, test in enumerate(model.checks.throughput):
        _check_hosts(hosts, test.src, test.dst, source, ("checks", "throughput", i))
    return Scenario(name=model.name, title=model.title, reference=model.reference, path=path, cloud=applier.cloud,
                    steps=tuple(applier.steps), expectations=tuple(model.expect),
                    traceroutes=tuple(model.checks.traceroute), throughputs=tuple(model.checks.throughput),
                    host_ids=tuple(hosts))


def _host_ids(cloud: ControlPlane) -> list[str]:
    ids = [server.id for idc in cloud.idcs.values() for subnet in idc.subnets for server in subnet.servers]
    ids += [inst.id for vpc in cloud.vpcs.values() for vsw in vpc.vswitches.values() for inst in vsw.instances.values()]
    return ids


def _check_hosts(hosts: list[str], src: str, dst: str, source: SourceMap, loc: tuple[Any, ...]) -> None:
    for key, host in (("from", src), ("to", dst)):
        if host not in hosts:
            close = difflib.get_close_matches(host, hosts, n=1)
            hint = f"did you mean {close[0]}?" if close else f"hosts are: {', '.join(hosts)}"
            raise ScenarioError(f"{_dotted(loc + (key,))}: {host} is not an IDC server or an instance",
                                where=source.where(loc + (key,)), fix=hint)
    if src == dst:
        raise ScenarioError(f"{_dotted(loc)}: from and to are the same host ({src})", where=source.where(loc),
                            fix="name two different hosts")


__all__ = ["Scenario", "load", "resolve", "available_scenarios", "CloudError"]
