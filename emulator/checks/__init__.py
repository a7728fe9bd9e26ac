"""Checks that send real packets: ping matrix, traceroute (scapy), throughput (iperf3).

Each check runs its tool inside a node's namespace and returns a CheckResult,
compared against what the routing layer expects.
"""
