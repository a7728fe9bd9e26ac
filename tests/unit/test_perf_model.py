"""The performance test's plan and judgement, without a network: which tests, what a working line gives."""

import pytest

from emulator.perf_model import Counters, PerfResult, PerfTest, RttSeries, method_tests


def test_the_method_runs_tcp_one_and_n_streams_udp_bandwidth_and_packet_rate_both_ways():
    plan = method_tests(100, streams=4)
    assert [test.name for test in plan] == [
        "TCP x1 forward", "TCP x4 forward", "UDP 1400 B forward", "UDP 16 B forward",
        "TCP x1 reverse", "TCP x4 reverse", "UDP 1400 B reverse", "UDP 16 B reverse"]
    assert [test.name for test in method_tests(100, streams=1)][:3] == ["TCP x1 forward", "UDP 1400 B forward",
                                                                     "UDP 16 B forward"]


def test_udp_is_offered_at_what_the_line_carries_once_headers_are_counted():
    bandwidth, rate = method_tests(100, 1)[1], method_tests(100, 1)[2]
    assert bandwidth.offered_mbps == pytest.approx(100 * 1400 / 1442)
    assert rate.offered_mbps == pytest.approx(100 * 16 / 58)
    assert rate.target_pps == pytest.approx(100e6 * 16 / 58 / 8 / 16)      # ~215,517 datagrams per second
    tcp = method_tests(100, 1)[0]
    assert tcp.offered_mbps is None and tcp.target_mbps == pytest.approx(95.6)
    assert method_tests(None, 1)[0].rate_mbps == 1000                          # nothing shaped: offered at 1 Gbit/s


def _result(measured, unshaped, test=None):
    return PerfResult(test or PerfTest("tcp", "forward", 131072, 1, 100), measured, 1.0, unshaped_mbps=unshaped)


def test_a_test_the_machine_cannot_carry_unshaped_is_host_limited_never_a_failure():
    limited = _result(40.0, 60.0)
    assert limited.host_limited and limited.passed and "host-limited" in limited.verdict()
    assert not _result(95.0, 400.0).host_limited and _result(95.0, 400.0).passed
    failed = _result(50.0, 400.0)
    assert not failed.host_limited and not failed.passed and "below 70%" in failed.verdict()
    assert not PerfResult(PerfTest("udp", "reverse", 16, 1, 100), None, None, error="boom").passed


def test_json_has_the_documented_fields():
    data = _result(95.0, 400.0).to_json()
    assert {"protocol", "direction", "payload_bytes", "streams", "configured_mbps", "measured_mbps", "pps",
            "jitter_ms", "loss_percent", "host_limited", "receiver_counters"} <= set(data)
    counters = Counters(rx_bytes=37_500_000, rx_packets=25_000, seconds=3.0)
    assert counters.mbps == pytest.approx(100.0) and counters.pps == pytest.approx(8333.3, rel=1e-3)
    assert RttSeries((1.0, 2.0, 3.0), 4).summary() == {"min": 1.0, "avg": 2.0, "max": 3.0, "mdev": 0.816,
                                                       "sent": 4, "received": 3}


def test_the_receivers_counters_cover_the_seconds_iperf3_measured_not_the_whole_run():
    """Issue 25, section 4: counters of the whole run (set-up, the omitted second, teardown) over the nominal
    3 s read 130-151 Mbit/s on a 100 Mbit/s line."""
    from emulator.perf_model import counters_over_last

    rate = 12_500_000 // 10            # bytes per 0.1 s sample: 100 Mbit/s
    samples = [(0.0, 0, 0), (0.5, 0, 0)]                                          # set-up: nothing yet
    samples += [(0.5 + 0.1 * i, rate * i, 1000 * i) for i in range(1, 41)]       # 1 s omitted + 3 s measured
    samples += [(4.5 + 0.1 * i, rate * 40 + 10 * i, 40_000 + i) for i in range(1, 11)]   # teardown: a trickle
    counters = counters_over_last(samples, 3.0)
    assert counters.seconds == pytest.approx(3.0)
    assert counters.mbps == pytest.approx(100.0, rel=0.01) and counters.pps == pytest.approx(10_000, rel=0.01)


def test_rx_counters_reads_one_interface_of_proc_net_dev():
    from emulator.perf_model import rx_counters

    text = ("Inter-|   Receive                            |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n"
            "    lo:       0       0    0    0    0     0          0         0        0       0\n"
            "cesrv1-eth0: 123456789  98765    0    0    0     0          0         0    555     7\n")
    assert rx_counters(text, "cesrv1-eth0") == (123456789, 98765)
    assert rx_counters(text, "cesrv2-eth0") is None
