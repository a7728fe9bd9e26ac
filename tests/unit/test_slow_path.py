"""What a router answers to the packets its flows send to the controller."""

from os_ken.lib.packet import arp, ethernet, icmp, ipv4, packet, udp, vlan

from controllers.slow_path import handle
from emulator import scenario
from emulator.plan import make_plan
from emulator.routing.topology import build_network

HOST_MAC = "02:ce:00:01:00:02"


def _vbr():
    loaded = scenario.load("multi_vpc_leased_line")
    return make_plan(build_network(loaded.cloud), loaded.name).node("vbr-12345678")


def _frame(*protocols) -> bytes:
    pkt = packet.Packet()
    for protocol in protocols:
        pkt.add_protocol(protocol)
    pkt.serialize()
    return bytes(pkt.data)


def test_arp_for_the_leased_line_gateway_is_answered_with_the_vlan_tag():
    vbr = _vbr()
    port = vbr.interface("pc-AAA")
    frame = _frame(ethernet.ethernet(dst="ff:ff:ff:ff:ff:ff", src=HOST_MAC, ethertype=0x0806),
                   arp.arp(opcode=arp.ARP_REQUEST, src_mac=HOST_MAC, src_ip="10.100.0.2", dst_ip="10.100.0.1"))
    [reply] = handle(vbr, port.port_no, frame)
    assert reply.port == port.port_no
    parsed = packet.Packet(reply.frame)
    assert parsed.get_protocol(vlan.vlan).vid == 1000
    answer = parsed.get_protocol(arp.arp)
    assert (answer.opcode, answer.src_ip, answer.src_mac, answer.dst_ip) == (arp.ARP_REPLY, "10.100.0.1", port.mac,
                                                                             "10.100.0.2")


def test_arp_for_someone_else_is_ignored():
    vbr = _vbr()
    frame = _frame(ethernet.ethernet(src=HOST_MAC, ethertype=0x0806),
                   arp.arp(opcode=arp.ARP_REQUEST, src_mac=HOST_MAC, src_ip="10.100.0.2", dst_ip="10.100.0.3"))
    assert handle(vbr, vbr.interface("pc-AAA").port_no, frame) == []


def test_echo_to_a_router_address_is_answered_through_the_routing_table():
    vbr = _vbr()
    frame = _frame(ethernet.ethernet(src=HOST_MAC), ipv4.ipv4(src="172.16.1.10", dst="10.100.0.1", ttl=63, proto=1),
                   icmp.icmp(type_=icmp.ICMP_ECHO_REQUEST, data=icmp.echo(id_=7, seq=3, data=b"abc")))
    [reply] = handle(vbr, vbr.interface("pc-AAA").port_no, frame)
    assert reply.port is None   # injected into the pipeline, routed like transit traffic
    parsed = packet.Packet(reply.frame)
    ip = parsed.get_protocol(ipv4.ipv4)
    message = parsed.get_protocol(icmp.icmp)
    assert (ip.src, ip.dst, message.type, message.data.id, message.data.seq) == ("10.100.0.1", "172.16.1.10", 0, 7, 3)


def test_expiring_ttl_gets_time_exceeded_from_the_ingress_address_quoting_the_probe():
    vbr = _vbr()
    probe = _frame(ethernet.ethernet(src=HOST_MAC), ipv4.ipv4(src="172.16.1.10", dst="192.168.1.10", ttl=1, proto=1),
                   icmp.icmp(type_=icmp.ICMP_ECHO_REQUEST, data=icmp.echo(id_=9, seq=2)))
    [reply] = handle(vbr, vbr.interface("pc-AAA").port_no, probe)
    parsed = packet.Packet(reply.frame)
    ip = parsed.get_protocol(ipv4.ipv4)
    message = parsed.get_protocol(icmp.icmp)
    assert (ip.src, ip.dst, message.type) == ("10.100.0.1", "172.16.1.10", icmp.ICMP_TIME_EXCEEDED)
    assert message.data.data == probe[14:14 + 20 + 8]


def test_udp_to_a_router_address_gets_port_unreachable():
    vbr = _vbr()
    frame = _frame(ethernet.ethernet(src=HOST_MAC), ipv4.ipv4(src="172.16.1.10", dst="100.64.0.1", proto=17),
                   udp.udp(src_port=4000, dst_port=33434))
    [reply] = handle(vbr, vbr.interface("pc-AAA").port_no, frame)
    message = packet.Packet(reply.frame).get_protocol(icmp.icmp)
    assert (message.type, message.code) == (icmp.ICMP_DEST_UNREACH, icmp.ICMP_PORT_UNREACH_CODE)


def test_no_icmp_error_about_an_icmp_error():
    vbr = _vbr()
    frame = _frame(ethernet.ethernet(src=HOST_MAC), ipv4.ipv4(src="172.16.1.10", dst="192.168.1.10", ttl=1, proto=1),
                   icmp.icmp(type_=icmp.ICMP_TIME_EXCEEDED, data=icmp.TimeExceeded(data=b"\x00" * 28)))
    assert handle(vbr, vbr.interface("pc-AAA").port_no, frame) == []
