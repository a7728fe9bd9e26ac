"""`flows ROUTER` as a table (issue 25, section 4): ovs-ofctl's lines parsed, nothing of them lost."""

import os

from rich.console import Console

from emulator.report.flow_table import flows_table, parse_dump_flows

# As ovs-ofctl -O OpenFlow13 dump-flows prints them (this project's VRouter with an ECMP route).
DUMP = """\
 cookie=0x2, duration=3.104s, table=0, n_packets=0, n_bytes=0, priority=0 actions=drop
 cookie=0x2, duration=3.104s, table=0, n_packets=1234567, n_bytes=91, priority=300,arp,arp_tpa=10.10.1.1 actions=\
move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:01:01->eth_src,IN_PORT
 cookie=0x2, duration=3.104s, table=1, n_packets=12, n_bytes=1176, priority=1012,ip,nw_dst=172.16.0.0/12 \
actions=multipath(symmetric_l3l4+udp,0,hash_threshold,2,0,NXM_NX_REG0[0..15]),goto_table:100
 cookie=0x2, duration=3.104s, table=100, n_packets=7, n_bytes=686, priority=100,reg0=0x1,reg1=0x20001 \
actions=set_field:02:00:00:00:02:02->eth_dst,output:3
"""


def test_every_flow_becomes_a_row_with_its_table_priority_match_actions_and_packets():
    flows = parse_dump_flows("OFPST_FLOW reply (OF1.3) (xid=0x2):\n" + DUMP)
    assert [(f.table, f.priority, f.packets) for f in flows] == [(0, 300, 1234567), (0, 0, 0), (1, 1012, 12),
                                                                 (100, 100, 7)]
    assert flows[1].match == "any" and flows[1].actions == "drop"
    assert flows[2].match == "ip,nw_dst=172.16.0.0/12"
    assert flows[2].actions == "multipath(symmetric_l3l4+udp,0,hash_threshold,2,0,NXM_NX_REG0[0..15]),goto_table:100"
    assert flows[3].match == "reg0=0x1,reg1=0x20001"


def test_the_table_fits_80_columns_and_keeps_every_action_whole():
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    console.print(flows_table("vrt-12345678", parse_dump_flows(DUMP)))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert max(map(len, lines)) <= 80
    header = next(line for line in lines if "actions" in line)
    start, end = header.index("actions"), header.index("packets") - 2
    actions = "".join(line[start:end].strip() for line in lines[lines.index(header) + 2:])   # the column, unwrapped
    assert "multipath(symmetric_l3l4+udp,0,hash_threshold,2,0,NXM_NX_REG0[0..15])," in actions.replace(" ", ""), lines
    assert any(line.endswith("1,234,567") for line in lines)
