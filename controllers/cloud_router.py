"""The os-ken app: a thin shell that connects flows.py and slow_path.py to the datapaths.

On connection it looks the bridge up in the plan by datapath ID and installs
its flows, each with the plan's generation as cookie. When the runtime writes
a new plan (a live change in the lab), every bridge gets the new flow set with
the new cookie and loses the flows still carrying the old one: no restart,
and unchanged flows are simply rewritten. Packet-ins are answered by
slow_path.py. Nothing here decides anything about routing.

An ECMP entry's flow names its set of next hops in register 1 and lets OVS's
multipath action write the chosen next hop into register 0; the register
value carries the generation, so a new generation's ECMP flows never reach
an old one's next hops while both are installed. A restarted controller
takes over without deleting anything: it rewrites the current generation's
flows (same cookie, so transit traffic never misses a flow). After each
bridge's barrier reply it rewrites the status file, from which the runtime
learns when the slow path (ARP, ICMP) is back.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import nicira_ext, ofproto_v1_3

from controllers import slow_path
from controllers.flows import Flow, flows_for
from emulator.atomic_file import write_json_atomically
from emulator.plan import Plan, PlanNode

LOG = logging.getLogger("cloud_router")
PLAN_POLL_S = 0.05
ALL_COOKIE_BITS = 0xFFFFFFFFFFFFFFFF
SETS_PER_GENERATION = 1024       # register 1 = generation * this + the ECMP set's index: generations never share one
ECMP_SET_REGISTER, ECMP_LINK_REGISTER = "reg1", "reg0"
# multipath(symmetric_l3l4+udp, 0, hash_threshold, n, 0, reg0[0..15]): addresses, protocol and TCP/UDP ports, the
# same both ways; hash-threshold (RFC 2992) as routers do it.
MULTIPATH_FIELDS = 3    # NX_HASH_FIELDS_SYMMETRIC_L3L4_UDP (Open vSwitch, nicira-ext.h); os-ken names only 0 and 1


class CloudRouterApp(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    plan_path: str = ""     # set by controllers/__main__.py before the app starts
    status_path: str = ""   # likewise; empty: no status file

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datapaths: dict[int, object] = {}
        self.generation = 0
        self.nodes: dict[int, PlanNode] = {}
        self.ready: set[int] = set()     # bridges whose current flows are confirmed by a barrier reply
        self._plan_stamp = None
        self._load_plan()
        self.watcher = hub.spawn(self._watch_plan)

    def _load_plan(self) -> bool:
        """Read the plan if it changed; True when a newer generation arrived."""
        stamp = os.stat(self.plan_path).st_mtime_ns
        if stamp == self._plan_stamp:
            return False
        self._plan_stamp = stamp
        plan = Plan.from_json(Path(self.plan_path).read_text())
        if plan.generation <= self.generation:
            return False
        self.nodes = {int(n.dpid, 16): n for n in plan.switches() if n.dpid}
        self.generation = plan.generation
        LOG.info("plan %s generation %d: %d OpenFlow bridges", plan.scenario, plan.generation, len(self.nodes))
        return True

    def _watch_plan(self):
        while True:
            hub.sleep(PLAN_POLL_S)
            try:
                previous = self.generation
                if self._load_plan():
                    for dpid, datapath in list(self.datapaths.items()):
                        self._install(datapath, dpid, previous)
            except (OSError, ValueError) as exc:   # a plan being replaced: try again on the next tick
                LOG.warning("could not read the plan: %s", exc)

    def _install(self, datapath, dpid: int, previous: int | None = None) -> None:
        node = self.nodes.get(dpid)
        if node is None:
            LOG.warning("datapath %016x is not in the plan; leaving it alone", dpid)
            return
        flows = flows_for(node)
        for flow in flows:
            datapath.send_msg(to_flow_mod(datapath, flow, self.generation))
        if previous is not None:
            datapath.send_msg(delete_generation(datapath, previous))
        datapath.send_msg(datapath.ofproto_parser.OFPBarrierRequest(datapath))
        LOG.info("%s (%s, %s): generation %d, %d flows", node.name, node.role, node.id, self.generation, len(flows))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_features(self, ev):
        # The ID from the message, never datapath.id: os-ken's own handler sets that from this same message, in
        # its own app's thread, so on a slow machine it can still be None here (the VM lane under TCG saw it:
        # a VRouter left without flows, the run stopped after 31 s).
        datapath, dpid = ev.msg.datapath, ev.msg.datapath_id
        self.datapaths[dpid] = datapath
        self._install(datapath, dpid)

    def _dpid_of(self, datapath) -> int | None:
        if datapath.id is not None:
            return datapath.id
        return next((dpid for dpid, known in self.datapaths.items() if known is datapath), None)

    # CONFIG_DISPATCHER too: the flows' barrier can be answered before os-ken's own handler has moved the
    # datapath to MAIN_DISPATCHER (it waits for the port description first), and a reply missed is a bridge
    # never reported ready.
    @set_ev_cls(ofp_event.EventOFPBarrierReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_barrier(self, ev):
        datapath_id = self._dpid_of(ev.msg.datapath)
        if datapath_id in self.nodes and datapath_id not in self.ready:
            self.ready.add(datapath_id)
            self._write_status()

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def on_disconnect(self, ev):
        datapath_id = self._dpid_of(ev.datapath)
        if datapath_id is not None and self.datapaths.get(datapath_id) is ev.datapath:
            del self.datapaths[datapath_id]
            self.ready.discard(datapath_id)
            self._write_status()

    def _write_status(self) -> None:
        """Atomically, like the plan: the runtime must never read half of it."""
        if not self.status_path:
            return
        write_json_atomically(self.status_path, {"pid": os.getpid(), "generation": self.generation,
                                                 "ready": sorted(self.ready)})

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_error(self, ev):
        msg = ev.msg
        node = self.nodes.get(msg.datapath.id)
        LOG.error("%s refused a message: type=0x%02x code=0x%02x %s", node.name if node else msg.datapath.id,
                  msg.type, msg.code, bytes(msg.data[:64]).hex())

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def on_packet_in(self, ev):
        msg = ev.msg
        datapath = msg.datapath
        node = self.nodes.get(datapath.id)
        if node is None:
            return
        for reply in slow_path.handle(node, msg.match["in_port"], bytes(msg.data)):
            datapath.send_msg(to_packet_out(datapath, reply))


def ecmp_tag(generation: int, index: int) -> int:
    """Register 1's value for an ECMP set of a generation (fits 32 bits)."""
    return (generation % 4_000_000) * SETS_PER_GENERATION + index


def to_actions(parser, ofproto, actions, generation: int = 0):
    built = []
    for action in actions:
        kind = action[0]
        if kind == "multipath":
            _kind, index, links = action
            built.append(parser.OFPActionSetField(**{ECMP_SET_REGISTER: ecmp_tag(generation, index)}))
            built.append(parser.NXActionMultipath(
                fields=MULTIPATH_FIELDS, basis=0, algorithm=nicira_ext.NX_MP_ALG_HASH_THRESHOLD,
                max_link=links - 1, arg=0, ofs_nbits=nicira_ext.ofs_nbits(0, 15), dst=ECMP_LINK_REGISTER))
        elif kind == "output":
            built.append(parser.OFPActionOutput(action[1]))
        elif kind == "controller":
            built.append(parser.OFPActionOutput(ofproto.OFPP_CONTROLLER, ofproto.OFPCML_NO_BUFFER))
        elif kind == "set_field":
            built.append(parser.OFPActionSetField(**{action[1]: action[2]}))
        elif kind == "push_vlan":
            built.append(parser.OFPActionPushVlan(action[1]))
        elif kind == "pop_vlan":
            built.append(parser.OFPActionPopVlan())
        elif kind == "dec_ttl":
            built.append(parser.OFPActionDecNwTtl())
        else:
            raise ValueError(f"unknown action {action!r}")
    return built


def to_flow_mod(datapath, flow: Flow, cookie: int):
    parser, ofproto = datapath.ofproto_parser, datapath.ofproto
    instructions = []
    if flow.actions:
        instructions.append(parser.OFPInstructionActions(ofproto.OFPIT_APPLY_ACTIONS,
                                                         to_actions(parser, ofproto, flow.actions, cookie)))
    if flow.goto is not None:
        instructions.append(parser.OFPInstructionGotoTable(flow.goto))
    # Ordered so that prerequisites come first: os-ken puts Nicira fields (nw_ttl) before eth_type otherwise.
    match = parser.OFPMatch(_ordered_fields=[_register(name, value, cookie) for name, value in flow.ordered_match()])
    return parser.OFPFlowMod(datapath=datapath, cookie=cookie, table_id=flow.table, priority=flow.priority,
                             match=match, instructions=instructions)


def _register(name: str, value, generation: int) -> tuple:
    """flows.py's ECMP match fields -> the registers the multipath action fills."""
    if name == "ecmp_set":
        return ECMP_SET_REGISTER, ecmp_tag(generation, value)
    if name == "ecmp_link":
        return ECMP_LINK_REGISTER, value
    return name, value


def delete_generation(datapath, cookie: int):
    """Delete every flow still carrying an older generation's cookie."""
    parser, ofproto = datapath.ofproto_parser, datapath.ofproto
    return parser.OFPFlowMod(datapath=datapath, command=ofproto.OFPFC_DELETE, table_id=ofproto.OFPTT_ALL,
                             cookie=cookie, cookie_mask=ALL_COOKIE_BITS, out_port=ofproto.OFPP_ANY,
                             out_group=ofproto.OFPG_ANY, match=parser.OFPMatch())


def to_packet_out(datapath, reply: slow_path.Reply):
    parser, ofproto = datapath.ofproto_parser, datapath.ofproto
    port = ofproto.OFPP_TABLE if reply.port is None else reply.port
    return parser.OFPPacketOut(datapath=datapath, buffer_id=ofproto.OFP_NO_BUFFER, in_port=ofproto.OFPP_CONTROLLER,
                               actions=[parser.OFPActionOutput(port)], data=reply.frame)
