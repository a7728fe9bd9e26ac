"""The os-ken app: a thin shell that connects flows.py and slow_path.py to the datapaths.

On connection it looks the bridge up in the plan by datapath ID and installs
its flows, each with the plan's generation as cookie. When the runtime writes
a new plan (a live change in the lab), every bridge gets the new flow set with
the new cookie and loses the flows still carrying the old one: no restart,
and unchanged flows are simply rewritten. Packet-ins are answered by
slow_path.py. Nothing here decides anything about routing.

ECMP entries use select groups whose IDs carry the generation too: the new
generation's groups are added before its flows, the old ones deleted after
the old flows. A restarted controller takes over without deleting anything: it
rewrites the current generation's flows (same cookie, so transit traffic never
misses a flow; adding a group that exists already is refused harmlessly). After each bridge's barrier reply it rewrites the status file, from
which the runtime learns when the slow path (ARP, ICMP) is back.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from controllers import slow_path
from controllers.flows import Flow, Group, flows_for, groups_for
from emulator.plan import Plan, PlanNode

LOG = logging.getLogger("cloud_router")
PLAN_POLL_S = 0.05
ALL_COOKIE_BITS = 0xFFFFFFFFFFFFFFFF
GROUPS_PER_GENERATION = 1024     # group ID = generation * this + the group's index: generations never share one


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
        self.group_counts: dict[int, int] = {}   # bridge -> how many groups its current generation has
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
                    for datapath in list(self.datapaths.values()):
                        self._install(datapath, previous)
            except (OSError, ValueError) as exc:   # a plan being replaced: try again on the next tick
                LOG.warning("could not read the plan: %s", exc)

    def _install(self, datapath, previous: int | None = None) -> None:
        node = self.nodes.get(datapath.id)
        if node is None:
            LOG.warning("datapath %016x is not in the plan; leaving it alone", datapath.id)
            return
        groups = groups_for(node)
        for group in groups:
            datapath.send_msg(to_group_mod(datapath, group, self.generation))
        flows = flows_for(node)
        for flow in flows:
            datapath.send_msg(to_flow_mod(datapath, flow, self.generation))
        if previous is not None:
            datapath.send_msg(delete_generation(datapath, previous))
            for index in range(self.group_counts.get(datapath.id, 0)):
                datapath.send_msg(delete_group(datapath, group_id(previous, index)))
        self.group_counts[datapath.id] = len(groups)
        datapath.send_msg(datapath.ofproto_parser.OFPBarrierRequest(datapath))
        LOG.info("%s (%s, %s): generation %d, %d flows", node.name, node.role, node.id, self.generation, len(flows))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_features(self, ev):
        datapath = ev.msg.datapath
        self.datapaths[datapath.id] = datapath
        self._install(datapath)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def on_barrier(self, ev):
        datapath_id = ev.msg.datapath.id
        if datapath_id in self.nodes and datapath_id not in self.ready:
            self.ready.add(datapath_id)
            self._write_status()

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def on_disconnect(self, ev):
        datapath_id = ev.datapath.id
        if datapath_id is not None and self.datapaths.get(datapath_id) is ev.datapath:
            del self.datapaths[datapath_id]
            self.ready.discard(datapath_id)
            self._write_status()

    def _write_status(self) -> None:
        """Atomically, like the plan: the runtime must never read half of it."""
        if not self.status_path:
            return
        temporary = f"{self.status_path}.{os.getpid()}.tmp"
        with open(temporary, "w") as status:
            json.dump({"pid": os.getpid(), "generation": self.generation,
                       "ready": sorted(self.ready)}, status)
        os.replace(temporary, self.status_path)

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


def group_id(generation: int, index: int) -> int:
    return (generation % 4_000_000) * GROUPS_PER_GENERATION + index


def to_group_mod(datapath, group: Group, generation: int):
    parser, ofproto = datapath.ofproto_parser, datapath.ofproto
    buckets = [parser.OFPBucket(weight=1, watch_port=ofproto.OFPP_ANY, watch_group=ofproto.OFPG_ANY,
                                actions=to_actions(parser, ofproto, bucket, generation)) for bucket in group.buckets]
    return parser.OFPGroupMod(datapath, ofproto.OFPGC_ADD, ofproto.OFPGT_SELECT, group_id(generation, group.index),
                              buckets)


def delete_group(datapath, gid: int):
    parser, ofproto = datapath.ofproto_parser, datapath.ofproto
    return parser.OFPGroupMod(datapath, ofproto.OFPGC_DELETE, ofproto.OFPGT_SELECT, gid, [])


def to_actions(parser, ofproto, actions, generation: int = 0):
    built = []
    for action in actions:
        kind = action[0]
        if kind == "group":
            built.append(parser.OFPActionGroup(group_id(generation, action[1])))
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
    match = parser.OFPMatch(_ordered_fields=flow.ordered_match())
    return parser.OFPFlowMod(datapath=datapath, cookie=cookie, table_id=flow.table, priority=flow.priority,
                             match=match, instructions=instructions)


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
