"""Delay, jitter and loss on the leased line, measured with real packets on whatever this kernel offers.

Here (no sch_netem) the userspace delay line does the work; on a stock kernel netem does. One network with
20 ms one way on pc-AAA and the router interfaces ideal, so the path IDC -> VPC-A crosses only the line's
delay; values change live through the same path the lab uses (a new plan, applied). Tolerances are the
issue's: RTT within max(1 ms, 5%) of 40 ms (the mean of 100 echoes), loss within 0.5 points over 20,000
datagrams, TCP at least 0.9 x 95.6 Mbit/s (the same line without delay).
"""

import math
import re
import statistics
from pathlib import Path

import pytest

from emulator import runner, scenario, session
from emulator.checks import ping, throughput

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios" / "multi_vpc_leased_line.yaml"
LINE_RATE_GOODPUT = 95.6


def _scenario(tmp_path: Path, latency: float, jitter: float = 0.0, loss: float = 0.0) -> session.Prepared:
    text = SHIPPED.read_text()
    text = re.sub(r"    latency_ms: 2\n    jitter_ms: 0.2\n",
                  f"    latency_ms: {latency}\n    jitter_ms: {jitter}\n    loss_percent: {loss}\n", text)
    text = text.replace("        latency_ms: 14\n", "")
    path = tmp_path / f"line_{latency}_{jitter}_{loss}.yaml"
    path.write_text(text)
    return session.prepare(scenario.load(str(path)))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("impairment")
    prepared = _scenario(folder, 20)
    with runner.live_network(prepared) as network:
        yield folder, prepared, network


def _apply(live, **values) -> session.Prepared:
    folder, _, network = live
    prepared = _scenario(folder, values.get("latency", 20), values.get("jitter", 0), values.get("loss", 0))
    network.apply(prepared)
    return prepared


def _rtts(live, count: int = 100) -> list[float]:
    _, prepared, network = live
    server = prepared.plan.node("idc-server-1").name
    out = network.network.run_in(server, ["ping", "-c", str(count), "-i", "0.02", "-W", "1", "10.10.1.10"],
                                 check=False, timeout=60).stdout
    return [float(value) for value in re.findall(r"time=([0-9.]+) ms", out)]


def _iperf(live, prepared, **options) -> dict:
    _, _, network = live
    node_name = {node.id: node.name for node in prepared.plan.nodes}
    return throughput.run_iperf(prepared.expected[("idc-server-1", "i-vpca-1")], options.pop("duration", 4),
                                lambda node_id, argv: network.processes.spawn(node_name[node_id], argv), **options)


def test_the_line_is_built_with_the_mechanism_this_kernel_offers(live):
    _, prepared, network = live
    index = next(i for i, link in enumerate(prepared.plan.links) if link.cloud_id == "pc-AAA")
    expected = "netem" if network.environment.netem else "delay line"
    assert network.network.mechanism(index).value == expected


def _path_rtt(live) -> float:
    """The path's own RTT (three userspace bridges, ~1 ms on a loaded machine), the line ideal: what delay adds to."""
    _apply(live, latency=0)
    return statistics.mean(_rtts(live, 50)[5:])


def test_ping_rtt_across_the_line_grows_by_twice_the_one_way_delay(live):
    base = _path_rtt(live)
    _apply(live, latency=20)
    rtts = _rtts(live)[5:]                 # the first echoes may wait for ARP
    assert len(rtts) >= 90
    added = statistics.mean(rtts) - base
    assert abs(added - 40) <= max(1.0, 0.05 * 40), (base, rtts)


def _reported_ping_rtt(live) -> dict:
    """What `run`'s ping check reports for idc-server-1 -> i-vpca-1, every neighbour entry forgotten first (as
    in a freshly built network), so the first echoes wait for ARP across the line."""
    _, prepared, network = live
    for node in prepared.plan.nodes:
        if node.dpid is None:
            network.network.run_in(node.name, ["ip", "-4", "neigh", "flush", "all"], check=False)
    server = prepared.plan.node("idc-server-1").name
    pair = prepared.expected[("idc-server-1", "i-vpca-1")]
    echoes = ping.ping_matrix([(server, "i-vpca-1", str(pair.forward.dst))], network.processes.spawn)
    return ping.ping_result(echoes[(server, "i-vpca-1")], pair, None).detail.rtt_ms


def test_the_ping_check_reports_the_round_trip_the_wire_gives_not_the_arp_wait(live):
    """20 ms one way: the check's average is 40 ms plus the path's own within max(1 ms, 5 %), from at least 9
    echoes; the ARP exchange across the line (40 ms more on the first echo) is not in it."""
    base = _path_rtt(live)
    _apply(live, latency=20)
    rtt = _reported_ping_rtt(live)
    assert rtt["received"] >= 9, rtt
    assert abs(rtt["avg"] - base - 40) <= max(1.0, 0.05 * 40), (base, rtt)
    assert rtt["max"] - base < 40 + 10 and rtt["mdev"] < 5, (base, rtt)


def test_other_delays_follow_within_the_same_tolerance(live):
    for latency in (1, 5):
        base = _path_rtt(live)
        _apply(live, latency=latency)
        added = statistics.mean(_rtts(live, 50)[5:]) - base
        assert abs(added - 2 * latency) <= max(1.0, 0.05 * 2 * latency), (latency, base, added)


def test_jitter_spreads_the_rtt(live):
    _apply(live, latency=20, jitter=0)
    steady = statistics.pstdev(_rtts(live)[5:])
    _apply(live, latency=20, jitter=5)
    spread = statistics.pstdev(_rtts(live)[5:])
    # Two uniform draws of +-5 ms (one each way) add a standard deviation of 5 x sqrt(2/3) = 4.1 ms. The path's
    # own spread is independent of it, so their variances add: < 1 ms idle, but 1.56 ms beside a CPU hog (a
    # fresh-clone run), where "3 x the path's own" failed with the jitter there (4.09 ms measured).
    added = math.sqrt(max(0.0, spread ** 2 - steady ** 2))
    assert 3.0 < added < 5.5, (steady, spread, added)


def test_tcp_keeps_its_rate_through_20_ms(live):
    prepared = _apply(live, latency=20)
    result = _iperf(live, prepared, duration=5)
    assert result.get("received_mbps", 0) >= 0.9 * LINE_RATE_GOODPUT, result


def test_udp_at_95_mbps_is_not_lost_without_loss_configured(live):
    prepared = _apply(live, latency=20)
    result = _iperf(live, prepared, udp=True, bandwidth_bps=95_000_000, length=1400)
    assert result["packets"] >= 20_000
    assert result["lost_percent"] < 0.5, result


def _line_counters(live) -> dict | None:
    """The delay line's counters for the direction IDC -> VPC, now (None where netem does the work: a stock
    kernel has no delay line, which unpacking one from an empty list took for an error until the VM lane ran it)."""
    _, _, network = live
    lines = list(network.network.delay_lines.values())
    if not lines:
        return None
    [line] = lines
    counters = line.snapshot()
    if counters is None:
        return None
    return max(counters["directions"].values(), key=lambda way: way["received"])


@pytest.mark.parametrize("loss", [1.0, 5.0])
def test_configured_loss_is_measured_within_half_a_point(live, loss):
    """Two claims: the line drops the configured share of what it carries (within 0.5 points over 20,000+
    datagrams), and end to end the receiver misses at least that. Above it, a machine under a CPU hog adds
    losses of its own outside the line: measured 0-1.5 points in one of five to eight 5-s tests (the delay line
    dropping 4.99% of what it received meanwhile; no drop counted by softnet, qdiscs, OVS or the receiving socket),
    so the end-to-end figure is bounded, not pinned, there."""
    prepared = _apply(live, latency=20, loss=loss)
    before = _line_counters(live)
    result = _iperf(live, prepared, udp=True, bandwidth_bps=60_000_000, length=1400, duration=5)
    after = _line_counters(live)
    assert result["packets"] >= 20_000, result
    if not live[2].environment.netem:
        assert before is not None and after is not None, "the delay line did not report its counters"
    if before is not None and after is not None:
        received = after["received"] - before["received"]
        dropped = after["dropped_by_loss"] - before["dropped_by_loss"]
        assert received >= 20_000 and abs(100 * dropped / received - loss) <= 0.5, (received, dropped)
        assert loss - 0.5 <= result["lost_percent"] <= loss + 2.0, result
    else:       # netem: no counters of its own; the end-to-end figure is the measure
        assert abs(result["lost_percent"] - loss) <= 0.5, result
