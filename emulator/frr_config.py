"""The customer device's FRR configuration, generated from the scenario (pure text, no I/O).

Every value that reaches the file was validated by the schema and the control
plane (ASNs are integers, prefixes and addresses parsed, keys printable ASCII
without spaces), so nothing from the scenario can add a line of its own.

Choices, each needed for the session to behave like the provider's:
- `no bgp ebgp-requires-policy`: FRR 8 exchanges nothing with an eBGP peer
  without a policy otherwise.
- `no bgp network import-check`: the device advertises its `networks` whether
  or not its kernel has a route for them (the IDC's LAN is a connected /24,
  the advertised block the /12 around it).
- An outbound prefix-list of exactly those networks: without it FRR sends the
  VBR's own prefixes back (os-ken then logs AS_PATH loop errors).
- `timers connect 1`: the VBR's speaker may start a moment later; FRR's
  default is to wait 120 s before trying again.
- `neighbor IP bfd profile P` with bfdd's profile P (its timers), for a neighbor with `bfd`: when BFD says the
  VBR is gone, bgpd drops the session and its routes at once instead of waiting for the hold timer.
- `maximum-paths 1` and `bgp bestpath compare-routerid`: with two lines to the same AS, FRR would install both
  paths (eBGP multipath) or keep whichever arrived first; one path, the lower router ID's (the first VBR's
  address), is what the emulator's model predicts. Customer-side multipath is not modelled yet.
- `coalesce-time 100`: FRR holds its first UPDATEs for its update-group
  coalesce time, 1 s by default; the lab waits for routes after every change
  (bench/bench_bgp.py: converged 1.2 s after Established before, 0.05-0.4 s
  after).
"""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.cloud.bgp import CustomerBgp, CustomerNeighbor

OUT_LIST = "TO-CLOUD"
LAST_SEQ = 1000000


def zebra_conf(hostname: str, log_file: str) -> str:
    return f"hostname {hostname}\nlog file {log_file}\n"


def bfd_profile(neighbor: CustomerNeighbor) -> str:
    return f"cloud-{neighbor.ip}".replace(".", "-")


def bfdd_conf(bgp: CustomerBgp, hostname: str, log_file: str) -> str:
    """A BFD profile per neighbor with `bfd` (FRR's bfdd): its intervals and detect-multiplier."""
    lines = [f"hostname {hostname}", f"log file {log_file}", "!", "bfd"]
    for neighbor in bgp.neighbors:
        if neighbor.bfd is not None:
            lines += [f" profile {bfd_profile(neighbor)}", f"  receive-interval {neighbor.bfd.min_rx_ms}",
                      f"  transmit-interval {neighbor.bfd.min_tx_ms}",
                      f"  detect-multiplier {neighbor.bfd.multiplier}", " exit"]
    lines += ["exit", "!", ""]
    return "\n".join(lines)


def bgpd_conf(bgp: CustomerBgp, router_id: IPv4Address, hostname: str, log_file: str) -> str:
    lines = [f"hostname {hostname}", f"log file {log_file}", "!"]
    for seq, network in enumerate(bgp.networks, start=1):
        lines.append(f"ip prefix-list {OUT_LIST} seq {seq * 5} permit {network}")
    lines.append(f"ip prefix-list {OUT_LIST} seq {LAST_SEQ} deny any")   # the list exists even when empty
    lines += ["!", f"router bgp {bgp.asn}", f" bgp router-id {router_id}", " no bgp ebgp-requires-policy",
              " no bgp network import-check", " bgp bestpath compare-routerid", " coalesce-time 100"]
    for neighbor in bgp.neighbors:
        lines.append(f" neighbor {neighbor.ip} remote-as {neighbor.remote_asn}")
        lines.append(f" neighbor {neighbor.ip} timers connect 1")
        if neighbor.password:
            lines.append(f" neighbor {neighbor.ip} password {neighbor.password}")
        if neighbor.bfd is not None:
            lines.append(f" neighbor {neighbor.ip} bfd profile {bfd_profile(neighbor)}")
    lines += [" address-family ipv4 unicast", "  maximum-paths 1"]
    lines += [f"  network {network}" for network in bgp.networks]
    lines += [f"  neighbor {neighbor.ip} prefix-list {OUT_LIST} out" for neighbor in bgp.neighbors]
    lines += [" exit-address-family", "!", ""]
    return "\n".join(lines)
