"""A fake OpenFlow 1.3 switch for unit tests: it takes the messages the controller sends as bytes on the wire.

Each message is serialised and parsed back by os-ken (what ovs-vswitchd would receive), then kept in flow
tables; `forward` runs a packet through them as Open vSwitch does: the highest-priority match per table,
apply-actions in order, goto-table, output. The same idea as FAUCET's clib/fakeoftable.py, for the few
match fields and actions our flows use. A packet is a dict of OpenFlow field values (ipv4_dst dotted,
vlan_vid with OFPVID_PRESENT or 0, nw_ttl).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

OFPVID_NONE = 0
CONTROLLER = "controller"


@dataclass
class FakeSwitch:
    dpid: int = 1
    flows: list[Any] = field(default_factory=list)     # parsed OFPFlowMod messages, as installed
    barriers: int = 0
    id: int | None = None                              # what cloud_router reads as datapath.id
    ofproto = ofp
    ofproto_parser = parser
    _xid: int = 0

    def send_msg(self, msg) -> None:
        self._xid += 1
        msg.set_xid(self._xid)
        msg.serialize()
        data = bytes(msg.buf)
        version, msg_type, length, xid = ofproto_parser.header(data)
        assert version == ofp.OFP_VERSION and length == len(data)
        if msg_type == ofp.OFPT_BARRIER_REQUEST:       # a header alone (os-ken has no parser for it)
            self.barriers += 1
            return
        wire = ofproto_parser.msg(self, version, msg_type, length, xid, data)
        if isinstance(wire, parser.OFPFlowMod):
            self._flow_mod(wire)
        else:
            raise AssertionError(f"the fake switch does not take {type(wire).__name__}")

    def _flow_mod(self, mod) -> None:
        if mod.command == ofp.OFPFC_ADD:
            self.flows = [f for f in self.flows if not (f.table_id == mod.table_id and f.priority == mod.priority
                                                        and list(f.match.items()) == list(mod.match.items()))]
            self.flows.append(mod)
        elif mod.command == ofp.OFPFC_DELETE:
            assert not list(mod.match.items()) and mod.table_id == ofp.OFPTT_ALL, "only deletes by cookie"
            self.flows = [f for f in self.flows if (f.cookie & mod.cookie_mask) != (mod.cookie & mod.cookie_mask)]
        else:
            raise AssertionError(f"flow-mod command {mod.command} not expected")

    def cookies(self) -> set[int]:
        return {f.cookie for f in self.flows}

    def forward(self, packet: dict[str, Any]) -> list[tuple[int | str, dict[str, Any]]]:
        """Where `packet` leaves ([] when dropped), each output with the packet as it left."""
        packet = dict(packet)
        outputs: list[tuple[int | str, dict[str, Any]]] = []
        table: int | None = 0
        for _ in range(16):             # a goto only goes forward; 16 tables are more than any plan has
            if table is None:
                return outputs
            flow = self.lookup(table, packet)
            if flow is None:
                return outputs         # table miss: OpenFlow 1.3 drops
            table = None
            for instruction in flow.instructions:
                if isinstance(instruction, parser.OFPInstructionActions):
                    assert instruction.type == ofp.OFPIT_APPLY_ACTIONS
                    for action in instruction.actions:
                        _apply(action, packet, outputs)
                elif isinstance(instruction, parser.OFPInstructionGotoTable):
                    assert instruction.table_id > flow.table_id, "a goto must go forward"
                    table = instruction.table_id
        raise AssertionError("more than 16 tables visited")

    def lookup(self, table: int, packet: dict[str, Any]):
        candidates = [f for f in self.flows if f.table_id == table and _matches(f.match, packet)]
        return max(candidates, key=lambda f: f.priority, default=None)


def _matches(match, packet: dict[str, Any]) -> bool:
    for name, want in match.items():
        have = packet.get(name)
        if have is None:
            return False
        value, mask = want if isinstance(want, tuple) else (want, None)
        if name in ("ipv4_dst", "arp_tpa"):
            network = IPv4Network(f"{value}/{mask or '255.255.255.255'}")
            if IPv4Address(have) not in network:
                return False
        elif mask is not None:
            if (have & mask) != (value & mask):
                return False
        elif have != value:
            return False
    return True


def _apply(action, packet: dict[str, Any], outputs: list) -> None:
    if isinstance(action, parser.OFPActionOutput):
        outputs.append((CONTROLLER if action.port == ofp.OFPP_CONTROLLER else action.port, dict(packet)))
    elif isinstance(action, parser.OFPActionSetField):
        packet[action.key] = action.value
    elif isinstance(action, parser.OFPActionPushVlan):
        assert packet.get("vlan_vid", OFPVID_NONE) == OFPVID_NONE, "one tag at most here"
        packet["vlan_vid"] = ofp.OFPVID_PRESENT
    elif isinstance(action, parser.OFPActionPopVlan):
        assert packet.get("vlan_vid", OFPVID_NONE) & ofp.OFPVID_PRESENT, "pop without a tag"
        packet["vlan_vid"] = OFPVID_NONE
    elif isinstance(action, parser.OFPActionDecNwTtl):
        packet["nw_ttl"] -= 1
    elif type(action).__name__ == "NXActionMultipath":       # os-ken generates the Nicira classes at import
        packet[action.dst] = _five_tuple_hash(packet) % (action.max_link + 1)
    else:
        raise AssertionError(f"action {type(action).__name__} not known to the fake switch")


def _five_tuple_hash(packet: dict[str, Any]) -> int:
    """Symmetric, as OVS's symmetric_l3l4+udp: the same for both directions of a flow."""
    ends = sorted([(packet.get("ipv4_src", ""), packet.get("tcp_src") or packet.get("udp_src") or 0),
                   (packet.get("ipv4_dst", ""), packet.get("tcp_dst") or packet.get("udp_dst") or 0)])
    return zlib.crc32(repr((ends, packet.get("ip_proto"))).encode())
