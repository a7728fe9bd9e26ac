"""Pure: what a cloud router answers to a packet its flows sent to the controller.

ARP requests for a router address get a reply out of the port they came in by.
ICMP echo to a router address gets an echo reply; other IP to a router
address gets port unreachable (so UDP traceroutes end); TTL <= 1 gets ICMP time
exceeded from the ingress port's address. IP replies are injected back into
the router's own pipeline (OFPP_TABLE), so they are routed, MAC-rewritten and
tagged by the same flows as transit traffic.

Uses os-ken's packet library to parse and build, but no datapath: it is tested
without a switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface

from os_ken.lib.packet import arp, ethernet, icmp, ipv4, packet, vlan
from os_ken.ofproto import ether, inet

from emulator.plan import PlanNode

ICMP_ERROR_TYPES = {icmp.ICMP_DEST_UNREACH, icmp.ICMP_TIME_EXCEEDED, icmp.ICMP_SRC_QUENCH, icmp.ICMP_REDIRECT, 12}
REPLY_TTL = 64
PLACEHOLDER_MAC = "02:00:00:00:00:00"   # rewritten by the route flow
ETH_HEADER_LEN = 14
VLAN_HEADER_LEN = 4


@dataclass(frozen=True)
class Reply:
    """A frame to send: out of `port` as it is, or (port None) through the router's own table."""

    frame: bytes
    port: int | None


def handle(node: PlanNode, in_port: int, frame: bytes) -> list[Reply]:
    pkt = packet.Packet(frame)
    eth = pkt.get_protocol(ethernet.ethernet)
    if eth is None:
        return []
    ingress = next((i for i in node.interfaces if i.port_no == in_port), None)
    if ingress is None or ingress.address is None:
        return []
    address = IPv4Interface(ingress.address)
    request = pkt.get_protocol(arp.arp)
    if request is not None:
        return _arp_reply(request, eth, ingress.mac, str(address.ip), ingress.vlan, in_port)
    ip = pkt.get_protocol(ipv4.ipv4)
    if ip is None:
        return []
    own = {str(IPv4Interface(i.address).ip) for i in node.interfaces if i.address}
    if ip.dst in own:
        return _answer_router_address(pkt, frame, ip)
    if ip.ttl <= 1:
        return _time_exceeded(pkt, frame, ip, str(address.ip))
    return []


def _arp_reply(request: arp.arp, eth: ethernet.ethernet, mac: str, ip: str, vid: int | None,
               in_port: int) -> list[Reply]:
    if request.opcode != arp.ARP_REQUEST or request.dst_ip != ip:
        return []
    reply = packet.Packet()
    if vid is None:
        reply.add_protocol(ethernet.ethernet(dst=eth.src, src=mac, ethertype=ether.ETH_TYPE_ARP))
    else:
        reply.add_protocol(ethernet.ethernet(dst=eth.src, src=mac, ethertype=ether.ETH_TYPE_8021Q))
        reply.add_protocol(vlan.vlan(vid=vid, ethertype=ether.ETH_TYPE_ARP))
    reply.add_protocol(arp.arp(opcode=arp.ARP_REPLY, src_mac=mac, src_ip=ip, dst_mac=request.src_mac,
                               dst_ip=request.src_ip))
    reply.serialize()
    return [Reply(bytes(reply.data), in_port)]


def _routed(ip_header: ipv4.ipv4, message: icmp.icmp, src: str) -> Reply:
    reply = packet.Packet()
    reply.add_protocol(ethernet.ethernet(dst=PLACEHOLDER_MAC, src=PLACEHOLDER_MAC, ethertype=ether.ETH_TYPE_IP))
    reply.add_protocol(ipv4.ipv4(src=src, dst=ip_header.src, ttl=REPLY_TTL, proto=inet.IPPROTO_ICMP))
    reply.add_protocol(message)
    reply.serialize()
    return Reply(bytes(reply.data), None)


def _quoted(pkt: packet.Packet, frame: bytes, ip_header: ipv4.ipv4) -> bytes:
    """The offending datagram's IP header and first 8 bytes of payload (RFC 792)."""
    offset = ETH_HEADER_LEN + VLAN_HEADER_LEN * len(pkt.get_protocols(vlan.vlan))
    return bytes(frame[offset:offset + ip_header.header_length * 4 + 8])


def _answer_router_address(pkt: packet.Packet, frame: bytes, ip_header: ipv4.ipv4) -> list[Reply]:
    message = pkt.get_protocol(icmp.icmp)
    if message is not None and message.type == icmp.ICMP_ECHO_REQUEST:
        echo = message.data
        return [_routed(ip_header, icmp.icmp(type_=icmp.ICMP_ECHO_REPLY, code=0,
                                             data=icmp.echo(id_=echo.id, seq=echo.seq, data=echo.data)),
                        ip_header.dst)]
    if message is not None and message.type in ICMP_ERROR_TYPES:
        return []
    unreachable = icmp.icmp(type_=icmp.ICMP_DEST_UNREACH, code=icmp.ICMP_PORT_UNREACH_CODE,
                            data=icmp.dest_unreach(data=_quoted(pkt, frame, ip_header)))
    return [_routed(ip_header, unreachable, ip_header.dst)]


def _time_exceeded(pkt: packet.Packet, frame: bytes, ip_header: ipv4.ipv4, src: str) -> list[Reply]:
    message = pkt.get_protocol(icmp.icmp)
    if message is not None and message.type in ICMP_ERROR_TYPES:
        return []
    exceeded = icmp.icmp(type_=icmp.ICMP_TIME_EXCEEDED, code=icmp.ICMP_TTL_EXPIRED_CODE,
                         data=icmp.TimeExceeded(data=_quoted(pkt, frame, ip_header)))
    return [_routed(ip_header, exceeded, src)]
