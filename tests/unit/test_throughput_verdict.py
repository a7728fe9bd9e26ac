"""A TCP check below its range is judged beside the same test unshaped: host-limited, or a shaping fault."""

from emulator.checks import throughput
from emulator.checks.results import CheckResult, ThroughputDetail


def _check(measured, configured=100, error=None, idle=60.0) -> CheckResult:
    ratio = measured / configured if measured is not None else None
    detail = ThroughputDetail("tcp", configured, measured, ratio, 3, (0.7, 1.1), error, cpu_idle_percent=idle)
    return CheckResult("idc-server-1", "i-vpcb-1", throughput.judge(configured, measured), detail)


def test_a_check_in_range_or_that_did_not_run_gets_no_unshaped_run():
    assert not throughput.short_of_the_rate(_check(95.0))
    assert not throughput.short_of_the_rate(_check(None, error="no output from iperf3"))
    assert not throughput.short_of_the_rate(_check(150.0))          # above: shaping broken, the host is fine
    assert throughput.short_of_the_rate(_check(52.0))


def test_a_machine_that_cannot_carry_the_rate_unshaped_is_host_limited_and_passes():
    check = throughput.with_unshaped(_check(52.0), {"received_mbps": 61.04})
    assert check.passed and check.detail.host_limited and check.detail.unshaped_mbps == 61.0


def test_a_path_with_too_little_headroom_unshaped_is_host_limited():
    # The VM lane under TCG: 57.3 shaped, 108.8 unshaped (one vCPU saturated by the path's softirq).
    check = throughput.with_unshaped(_check(57.3, idle=40.5), {"received_mbps": 108.8})
    assert check.passed and check.detail.host_limited


def test_a_path_that_carries_the_rate_unshaped_keeps_the_failure():
    check = throughput.with_unshaped(_check(52.0), {"received_mbps": 900.0})
    assert not check.passed and not check.detail.host_limited and check.detail.unshaped_mbps == 900.0
    assert not throughput.with_unshaped(_check(52.0), {"error": "x"}).passed


def test_a_saturated_machine_is_host_limited_whatever_the_unshaped_run_carried_later():
    # Seen in the VM lane under TCG with the host busy: 37.4 Mbit/s shaped, then 149.7 unshaped a moment later.
    check = throughput.with_unshaped(_check(37.4, idle=2.5), {"received_mbps": 149.7})
    assert check.passed and check.detail.host_limited


def test_cpu_times_are_read_from_proc_stat_and_give_the_idle_share():
    before = throughput.cpu_times("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 ...")
    after = throughput.cpu_times("cpu  200 0 200 750 100 0 0 0 0 0\n")
    assert before == (800, 1000) and throughput.idle_percent(before, after) == 20.0
    assert throughput.idle_percent(after, after) is None
    idle, total = throughput.cpu_times()
    assert 0 < idle <= total
