"""The os-ken app's handlers against os-ken's own ordering: its handler and ours run in different threads.

os-ken's ofp_handler sets `datapath.id` from the switch-features message in its own app's thread, and moves
the datapath to MAIN_DISPATCHER only after a port description; our handlers can run before either. In the VM
lane under TCG a VRouter was left without flows that way. The messages built here are os-ken's real ones.
"""

from types import SimpleNamespace

from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER
from os_ken.controller.ofp_event import EventOFPBarrierReply
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser

from controllers.cloud_router import CloudRouterApp
from controllers.flows import flows_for
from emulator import scenario
from emulator.plan import make_plan
from emulator.routing.topology import build_network


def _app_and_a_vrouter():
    loaded = scenario.load("multi_vpc_leased_line")
    plan = make_plan(build_network(loaded.cloud), loaded.name)
    app = CloudRouterApp.__new__(CloudRouterApp)       # the handlers alone: no plan watcher, no OpenFlow server
    app.nodes = {int(node.dpid, 16): node for node in plan.switches() if node.dpid}
    app.datapaths, app.ready, app.generation, app.status_path = {}, set(), 1, ""
    vrouter = plan.node("vrt-87654321")
    return app, vrouter


def _datapath_not_yet_named():
    sent: list = []
    return SimpleNamespace(id=None, ofproto=ofproto_v1_3, ofproto_parser=ofproto_v1_3_parser, sent=sent,
                           send_msg=sent.append)


def test_a_bridge_gets_its_flows_when_os_kens_handler_has_not_named_the_datapath_yet():
    app, vrouter = _app_and_a_vrouter()
    datapath = _datapath_not_yet_named()
    features = SimpleNamespace(msg=SimpleNamespace(datapath=datapath, datapath_id=int(vrouter.dpid, 16)))
    app.on_features(features)
    flow_mods = [m for m in datapath.sent if isinstance(m, ofproto_v1_3_parser.OFPFlowMod)]
    assert len(flow_mods) == len(flows_for(vrouter)) > 0
    assert isinstance(datapath.sent[-1], ofproto_v1_3_parser.OFPBarrierRequest)


def test_the_barrier_reply_counts_before_the_datapath_reaches_main_dispatcher():
    app, vrouter = _app_and_a_vrouter()
    datapath = _datapath_not_yet_named()
    app.on_features(SimpleNamespace(msg=SimpleNamespace(datapath=datapath, datapath_id=int(vrouter.dpid, 16))))
    dispatchers = CloudRouterApp.on_barrier.callers[EventOFPBarrierReply].dispatchers
    assert {CONFIG_DISPATCHER, MAIN_DISPATCHER} <= set(dispatchers)
    app.on_barrier(SimpleNamespace(msg=SimpleNamespace(datapath=datapath)))
    assert app.ready == {int(vrouter.dpid, 16)}
