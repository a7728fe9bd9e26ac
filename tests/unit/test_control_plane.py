"""The provider's rules, one refusal per test, each with the provider's error code."""

from ipaddress import IPv4Address, IPv4Network

import pytest

from emulator.cloud.control_plane import ControlPlane
from emulator.cloud.resources import NextHopType, RIStatus, Role, RouterType
from emulator.errors import CloudError

A, B = "12345678", "87654321"


def _base() -> ControlPlane:
    cloud = ControlPlane()
    cloud.create_account(A, "A")
    cloud.create_account(B, "B")
    cloud.create_physical_connection(account=A, pc_id="pc-AAA", name="", access_point="Beijing-Daxing-A",
                                     bandwidth_mbps=100)
    cloud.create_vbr(account=A, vbr_id="vbr-1", name="VPC-Beijing", physical_connection_id="pc-AAA", vlan_id=1000,
                     local_gateway_ip=IPv4Address("10.100.0.1"), peer_gateway_ip=IPv4Address("10.100.0.2"),
                     peering_subnet_mask="255.255.255.252", route_table_id="vtb-vbr1")
    cloud.create_vpc(account=B, vpc_id="vpc-b", name="VPC-B", region="cn-hangzhou",
                     cidr=IPv4Network("192.168.0.0/16"), vrouter_id="vrt-b", route_table_id="vtb-b")
    return cloud


def _pair(cloud: ControlPlane, ini: str = "ri-AAA", acc: str = "ri-BBB", vpc_router: str = "vrt-b",
          vpc_account: str = B, spec: str = "Large.1") -> None:
    cloud.create_router_interface(account=A, ri_id=ini, router_type=RouterType.VBR, router_id="vbr-1",
                                  role=Role.INITIATOR, spec=spec, opposite_account=vpc_account,
                                  opposite_router_type=RouterType.VROUTER, opposite_router_id=vpc_router,
                                  opposite_interface_id=acc)
    cloud.create_router_interface(account=vpc_account, ri_id=acc, router_type=RouterType.VROUTER,
                                  router_id=vpc_router, role=Role.ACCEPTOR, spec="Negative", opposite_account=A,
                                  opposite_router_type=RouterType.VBR, opposite_router_id="vbr-1",
                                  opposite_interface_id=ini)


def _code(call) -> str:
    with pytest.raises(CloudError) as caught:
        call()
    assert caught.value.fix, "every refusal says what to change"
    return caught.value.code


def test_initiator_connects_and_both_sides_become_active_with_the_initiators_bandwidth():
    cloud = _base()
    _pair(cloud, spec="Middle.5")
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    ini, acc = cloud.router_interfaces["ri-AAA"], cloud.router_interfaces["ri-BBB"]
    assert ini.status is acc.status is RIStatus.ACTIVE
    assert acc.history == [RIStatus.IDLE, RIStatus.CONNECTING, RIStatus.ACTIVE]
    assert acc.bandwidth_mbps == 500


def test_only_the_initiating_side_connects():
    cloud = _base()
    _pair(cloud)
    assert _code(lambda: cloud.connect_router_interface(account=B, ri_id="ri-BBB")) == "IncorrectRole.NotInitiatingSide"


def test_connecting_twice_is_refused_by_state():
    cloud = _base()
    _pair(cloud)
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    assert _code(lambda: cloud.connect_router_interface(account=A, ri_id="ri-AAA")) == "IncorrectRIStatus"


def test_connect_from_another_account_is_refused():
    cloud = _base()
    _pair(cloud)
    assert _code(lambda: cloud.connect_router_interface(account=B, ri_id="ri-AAA")) == "Forbidden.NotOwner"


def test_a_vbr_can_only_initiate():
    cloud = _base()
    assert _code(lambda: cloud.create_router_interface(
        account=A, ri_id="ri-X", router_type=RouterType.VBR, router_id="vbr-1", role=Role.ACCEPTOR,
        spec="Negative", opposite_account=B, opposite_router_type=RouterType.VROUTER, opposite_router_id="vrt-b",
        opposite_interface_id="ri-Y")) == "InvalidRole.ValueNotSupported"


def test_peer_with_the_wrong_account_is_refused_on_connect():
    cloud = _base()
    _pair(cloud)
    cloud.router_interfaces["ri-AAA"].opposite_account = "11111111"
    assert _code(lambda: cloud.connect_router_interface(account=A, ri_id="ri-AAA")) == "IncorrectOppositeInterfaceInfo"


def test_unknown_spec_and_spec_on_the_accepting_side():
    cloud = _base()
    assert _code(lambda: _pair(cloud, spec="Huge.9")) == "InvalidSpec.ValudNotSupported"
    cloud2 = _base()
    assert _code(lambda: cloud2.create_router_interface(
        account=B, ri_id="ri-Y", router_type=RouterType.VROUTER, router_id="vrt-b", role=Role.ACCEPTOR,
        spec="Large.1", opposite_account=A, opposite_router_type=RouterType.VBR, opposite_router_id="vbr-1",
        opposite_interface_id="ri-X")) == "InvalidSpec.ValudNotSupported"


def test_wrong_router_type_is_explained():
    cloud = _base()
    with pytest.raises(CloudError) as caught:
        cloud.create_router_interface(account=A, ri_id="ri-X", router_type=RouterType.VROUTER, router_id="vbr-1",
                                      role=Role.INITIATOR, spec="Large.1", opposite_account=B,
                                      opposite_router_type=RouterType.VROUTER, opposite_router_id="vrt-b",
                                      opposite_interface_id="ri-Y")
    assert caught.value.code == "InvalidRouterId.NotFound" and "router_type: VBR" in caught.value.fix


def test_one_connection_between_two_routers():
    cloud = _base()
    _pair(cloud)
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    _pair(cloud, ini="ri-A2", acc="ri-B2")
    assert _code(lambda: cloud.connect_router_interface(account=A, ri_id="ri-A2")) == "Forbidden.OnlyOneConnection"


def test_at_most_five_router_interfaces_per_router():
    cloud = _base()
    for index in range(5):
        cloud.create_vpc(account=A, vpc_id=f"vpc-{index}", name="", region="r", cidr=IPv4Network(f"10.{index}.0.0/16"),
                         vrouter_id=f"vrt-{index}", route_table_id=f"vtb-{index}")
        _pair(cloud, ini=f"ri-i{index}", acc=f"ri-a{index}", vpc_router=f"vrt-{index}", vpc_account=A)
    cloud.create_vpc(account=A, vpc_id="vpc-9", name="", region="r", cidr=IPv4Network("10.9.0.0/16"),
                     vrouter_id="vrt-9", route_table_id="vtb-9")
    assert _code(lambda: _pair(cloud, ini="ri-i9", acc="ri-a9", vpc_router="vrt-9", vpc_account=A)) == \
        "QuotaExceeded.RouterInterface"


def test_a_leased_line_connects_at_most_five_vpcs():
    cloud = _base()
    for vbr_index in range(2):
        if vbr_index:
            cloud.create_vbr(account=A, vbr_id="vbr-2", name="", physical_connection_id="pc-AAA", vlan_id=1001,
                             local_gateway_ip=IPv4Address("10.100.1.1"), peer_gateway_ip=IPv4Address("10.100.1.2"),
                             peering_subnet_mask="255.255.255.252", route_table_id="vtb-vbr2")
    for index in range(6):
        vbr = "vbr-1" if index < 4 else "vbr-2"
        cloud.create_vpc(account=A, vpc_id=f"vpc-{index}", name="", region="r", cidr=IPv4Network(f"10.{index}.0.0/16"),
                         vrouter_id=f"vrt-{index}", route_table_id=f"vtb-{index}")
        cloud.create_router_interface(account=A, ri_id=f"ri-i{index}", router_type=RouterType.VBR, router_id=vbr,
                                      role=Role.INITIATOR, spec="Small.1", opposite_account=A,
                                      opposite_router_type=RouterType.VROUTER, opposite_router_id=f"vrt-{index}",
                                      opposite_interface_id=f"ri-a{index}")
        cloud.create_router_interface(account=A, ri_id=f"ri-a{index}", router_type=RouterType.VROUTER,
                                      router_id=f"vrt-{index}", role=Role.ACCEPTOR, spec="Negative",
                                      opposite_account=A, opposite_router_type=RouterType.VBR, opposite_router_id=vbr,
                                      opposite_interface_id=f"ri-i{index}")
        if index < 5:
            cloud.connect_router_interface(account=A, ri_id=f"ri-i{index}")
    assert _code(lambda: cloud.connect_router_interface(account=A, ri_id="ri-i5")) == \
        "QuotaExceeded.VpcPerPhysicalConnection"


@pytest.mark.parametrize("vlan, code", [(1000, "InvalidVlanId.Used"), (3000, "InvalidVlanId.Malformed"),
                                        (-1, "InvalidVlanId.Malformed")])
def test_vlan_ids_are_unique_per_line_and_in_range(vlan, code):
    cloud = _base()
    assert _code(lambda: cloud.create_vbr(
        account=A, vbr_id="vbr-2", name="", physical_connection_id="pc-AAA", vlan_id=vlan,
        local_gateway_ip=IPv4Address("10.100.1.1"), peer_gateway_ip=IPv4Address("10.100.1.2"),
        peering_subnet_mask="255.255.255.252", route_table_id="vtb-2")) == code


def test_gateway_ips_must_share_the_peering_subnet():
    cloud = _base()
    assert _code(lambda: cloud.create_vbr(
        account=A, vbr_id="vbr-2", name="", physical_connection_id="pc-AAA", vlan_id=1001,
        local_gateway_ip=IPv4Address("10.100.1.1"), peer_gateway_ip=IPv4Address("10.100.1.6"),
        peering_subnet_mask="255.255.255.252", route_table_id="vtb-2")) == "InvalidIpAddress.NotInSameSubnet"


def test_route_next_hop_must_be_the_routers_own_interface():
    cloud = _base()
    _pair(cloud)
    with pytest.raises(CloudError) as caught:
        cloud.add_route_entry(router_id="vbr-1", destination=IPv4Network("192.168.0.0/16"),
                              next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-BBB")
    assert caught.value.code == "InvalidNextHop.NotOwnInterface" and "ri-AAA" in caught.value.fix


def test_route_destinations_are_unique_per_table_outside_vswitches_and_outside_100_64():
    cloud = _base()
    _pair(cloud)
    cloud.add_route_entry(router_id="vrt-b", destination=IPv4Network("172.16.0.0/12"),
                          next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-BBB")
    assert _code(lambda: cloud.add_route_entry(
        router_id="vrt-b", destination=IPv4Network("172.16.0.0/12"), next_hop_type=NextHopType.ROUTER_INTERFACE,
        next_hop_id="ri-BBB")) == "InvalidCIDRBlock.Duplicate"
    cloud.create_vswitch(vpc_id="vpc-b", vswitch_id="vsw-b", zone="z", cidr=IPv4Network("192.168.1.0/24"))
    assert _code(lambda: cloud.add_route_entry(
        router_id="vrt-b", destination=IPv4Network("192.168.1.128/25"), next_hop_type=NextHopType.ROUTER_INTERFACE,
        next_hop_id="ri-BBB")) == "InvalidDestinationCidrBlock.InVpc"
    assert _code(lambda: cloud.add_route_entry(
        router_id="vrt-b", destination=IPv4Network("100.64.1.0/24"), next_hop_type=NextHopType.ROUTER_INTERFACE,
        next_hop_id="ri-BBB")) == "InvalidDestinationCidrBlock.Reserved"


def test_only_a_vbr_routes_to_its_own_physical_connection():
    cloud = _base()
    assert _code(lambda: cloud.add_route_entry(
        router_id="vrt-b", destination=IPv4Network("172.16.0.0/12"),
        next_hop_type=NextHopType.PHYSICAL_CONNECTION, next_hop_id="pc-AAA")) == "InvalidNextHopType.NotSupported"
    assert _code(lambda: cloud.add_route_entry(
        router_id="vbr-1", destination=IPv4Network("172.16.0.0/12"),
        next_hop_type=NextHopType.PHYSICAL_CONNECTION, next_hop_id="pc-ZZZ")) == "InvalidNextHopId.NotFound"


def test_vswitch_and_instance_addresses():
    cloud = _base()
    assert _code(lambda: cloud.create_vswitch(vpc_id="vpc-b", vswitch_id="vsw-x", zone="z",
                                              cidr=IPv4Network("10.0.0.0/24"))) == "InvalidCidrBlock.NotInVpc"
    cloud.create_vswitch(vpc_id="vpc-b", vswitch_id="vsw-1", zone="z", cidr=IPv4Network("192.168.1.0/24"))
    assert _code(lambda: cloud.create_vswitch(vpc_id="vpc-b", vswitch_id="vsw-2", zone="z",
                                              cidr=IPv4Network("192.168.1.0/25"))) == "InvalidCidrBlock.Overlapped"
    assert cloud.vpcs["vpc-b"].vswitches["vsw-1"].gateway.ip == IPv4Address("192.168.1.253")
    assert _code(lambda: cloud.create_instance(vswitch_id="vsw-1", instance_id="i-1",
                                               ip=IPv4Address("192.168.1.253"))) == "InvalidPrivateIpAddress.Reserved"
    cloud.create_instance(vswitch_id="vsw-1", instance_id="i-1", ip=IPv4Address("192.168.1.252"))
    assert _code(lambda: cloud.create_instance(vswitch_id="vsw-1", instance_id="i-2",
                                               ip=IPv4Address("192.168.1.252"))) == "InvalidPrivateIpAddress.Duplicated"


def test_ids_are_unique_across_resources():
    cloud = _base()
    assert _code(lambda: cloud.create_vpc(account=A, vpc_id="vbr-1", name="", region="r",
                                          cidr=IPv4Network("10.0.0.0/16"), vrouter_id="vrt-z",
                                          route_table_id="vtb-z")) == "InvalidParameter.DuplicateId"


def test_deactivate_activate_and_delete_follow_the_state_machine():
    cloud = _base()
    _pair(cloud)
    assert _code(lambda: cloud.deactivate_router_interface(ri_id="ri-AAA")) == "IncorrectRIStatus"   # Idle
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    assert _code(lambda: cloud.delete_router_interface(ri_id="ri-AAA")) == "IncorrectRIStatus"      # Active
    cloud.add_route_entry(router_id="vbr-1", destination=IPv4Network("192.168.0.0/16"),
                          next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-AAA")
    cloud.deactivate_router_interface(ri_id="ri-AAA")
    assert not cloud.router_interfaces["ri-AAA"].carries_traffic
    assert _code(lambda: cloud.deactivate_router_interface(ri_id="ri-AAA")) == "IncorrectRIStatus"
    assert _code(lambda: cloud.delete_router_interface(ri_id="ri-AAA")) == "DependencyViolation.RouteEntry"
    cloud.activate_router_interface(ri_id="ri-AAA")
    assert cloud.router_interfaces["ri-AAA"].history[-3:] == [RIStatus.ACTIVE, RIStatus.INACTIVE, RIStatus.ACTIVE]
    assert _code(lambda: cloud.activate_router_interface(ri_id="ri-AAA")) == "IncorrectRIStatus"
    cloud.deactivate_router_interface(ri_id="ri-AAA")
    cloud.delete_route_entry(router_id="vbr-1", destination=IPv4Network("192.168.0.0/16"))
    cloud.delete_router_interface(ri_id="ri-AAA")
    assert "ri-AAA" not in cloud.router_interfaces
    assert _code(lambda: cloud.activate_router_interface(ri_id="ri-AAA")) == "InvalidRouterInterfaceId.NotFound"


def test_deleting_a_route_that_is_not_there():
    cloud = _base()
    assert _code(lambda: cloud.delete_route_entry(router_id="vbr-1", destination=IPv4Network("10.0.0.0/8"))) == \
        "InvalidRouteEntry.NotFound"


def test_leased_line_state():
    cloud = _base()
    cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)
    assert cloud.physical_connections["pc-AAA"].status == "Down"
    assert _code(lambda: cloud.set_physical_connection_state(pc_id="pc-AAA", up=False)) == \
        "IncorrectStatus.PhysicalConnection"
    assert _code(lambda: cloud.set_physical_connection_state(pc_id="pc-ZZZ", up=True)) == \
        "InvalidPhysicalConnectionId.NotFound"


def test_overlapping_vpcs_may_not_meet_in_one_route_table():
    cloud = _base()
    cloud.create_vpc(account=A, vpc_id="vpc-a", name="", region="r", cidr=IPv4Network("192.168.0.0/20"),
                     vrouter_id="vrt-a", route_table_id="vtb-a")
    _pair(cloud)
    _pair(cloud, ini="ri-CCC", acc="ri-DDD", vpc_router="vrt-a", vpc_account=A)
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    cloud.connect_router_interface(account=A, ri_id="ri-CCC")
    cloud.add_route_entry(router_id="vbr-1", destination=IPv4Network("192.168.0.0/16"),
                          next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-AAA")
    with pytest.raises(CloudError) as caught:
        cloud.add_route_entry(router_id="vbr-1", destination=IPv4Network("192.168.0.0/20"),
                              next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-CCC")
    assert caught.value.code == "InvalidCidrBlock.Overlapped"
    assert "192.168.0.0/16 -> ri-AAA" in caught.value.message and "narrow" in caught.value.fix


def test_a_route_towards_a_block_overlapping_the_vpc_itself_is_refused():
    cloud = _base()
    cloud.create_idc(idc_id="idc", name="", cidr=IPv4Network("192.168.0.0/16"), device_id="cpe")
    _pair(cloud)
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    with pytest.raises(CloudError) as caught:
        # VPC-B is 192.168.0.0/16 too: a route to the IDC would lead to its own addresses
        cloud.add_route_entry(router_id="vrt-b", destination=IPv4Network("192.0.0.0/8"),
                              next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-BBB")
    assert caught.value.code == "InvalidCidrBlock.Overlapped"


def test_deleting_one_side_of_a_pair_leaves_the_other_idle_and_the_network_consistent():
    from emulator.routing.reachability import expected_matrix
    from emulator.routing.topology import build_network

    cloud = _base()
    _pair(cloud)
    cloud.connect_router_interface(account=A, ri_id="ri-AAA")
    cloud.add_route_entry(router_id="vbr-1", destination=IPv4Network("192.168.0.0/16"),
                          next_hop_type=NextHopType.ROUTER_INTERFACE, next_hop_id="ri-AAA")
    cloud.deactivate_router_interface(ri_id="ri-BBB")
    cloud.delete_router_interface(ri_id="ri-BBB")
    assert cloud.router_interfaces["ri-AAA"].status is RIStatus.IDLE
    network = build_network(cloud)
    expected_matrix(network)
    route = next(r for r in network.nodes["vbr-1"].routes if r.target == "ri-AAA")
    assert route.port is None and not route.usable
