"""Teardown on Ctrl-C and SIGTERM; `clean` after a killed run; `clean` touches nothing else."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.runtime import cleanup
from emulator.runtime.commands import run

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "250"}
# Guards against a hang, not timing claims: a run is ready in ~15 s here and ~60 s in the VM lane's emulated CPU.
READY_WITHIN_S = 240
CLEAN_WITHIN_S = 240


def _default_sigint() -> None:
    """A run started from a shell's background job inherits SIGINT ignored, and Python then keeps ignoring it
    (no KeyboardInterrupt): the convention for background jobs. A user's Ctrl-C reaches a foreground run, so the
    test starts the run as a foreground one is, whatever way the test suite itself was started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_run_and_wait_until_ready(*extra: str, scenario: str = "multi_vpc_leased_line") -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "emulator", "run", scenario, *extra], cwd=ROOT,
                               env=ENV, preexec_fn=_default_sigint,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + READY_WITHIN_S
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "all checks ready" in line:
            return process
    process.kill()
    process.wait(timeout=10)
    try:
        cleaned = subprocess.run([sys.executable, "-m", "emulator", "clean"], cwd=ROOT, env=ENV,
                                 capture_output=True, text=True, timeout=CLEAN_WITHIN_S).stdout.strip()
    except subprocess.TimeoutExpired:
        cleaned = f"did not finish within {CLEAN_WITHIN_S} s"
    pytest.fail(f"the run never became ready (killed, then `clean`: {cleaned}):\n" + "".join(seen))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_a_stopped_run_tears_everything_down(sig, code, tmp_path):
    from scapy.all import rdpcap

    process = _start_run_and_wait_until_ready("--capture", "pc-AAA", "--artifacts", str(tmp_path))
    assert not cleanup.leftovers().empty()          # the network is really there ...
    process.send_signal(sig)
    out, _ = process.communicate(timeout=CLEAN_WITHIN_S)     # the teardown, within the same guard
    assert process.returncode == code, out
    assert "Traceback" not in out
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()   # ... and really gone
    captures = sorted((tmp_path / "captures").glob("*.pcap"))
    assert len(captures) == 4
    for path in captures:
        rdpcap(str(path))                           # closed by the teardown: complete, readable files
    still = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert not still.strip(), f"capture processes left running: {still}"


@pytest.fixture
def foreign_resources():
    """A bridge, a veth pair and a namespaced process that the emulator did not create."""
    run(["ovs-vsctl", "--may-exist", "add-br", "notours0", "--", "set", "bridge", "notours0",
         "datapath_type=netdev"])
    run(["ip", "link", "add", "notours-a", "type", "veth", "peer", "name", "notours-b"])
    sleeper = subprocess.Popen(["unshare", "--net", "--", "sleep", "120"])
    yield sleeper
    sleeper.kill()
    sleeper.wait()
    run(["ovs-vsctl", "--if-exists", "del-br", "notours0"])
    run(["ip", "link", "del", "notours-a"], check=False)


def test_clean_removes_a_killed_runs_leftovers_and_nothing_else(foreign_resources):
    process = _start_run_and_wait_until_ready()
    process.kill()   # SIGKILL: no teardown at all
    process.wait(timeout=10)
    left = cleanup.leftovers()
    assert left.bridges and left.processes, "a killed run leaves its network behind"
    result = subprocess.run([sys.executable, "-m", "emulator", "clean"], cwd=ROOT, env=ENV, capture_output=True,
                            text=True, timeout=CLEAN_WITHIN_S)
    assert result.returncode == 0, result.stderr
    assert "removed" in result.stdout
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()
    assert "notours0" in run(["ovs-vsctl", "list-br"]).stdout
    assert run(["ip", "link", "show", "notours-a"], check=False).returncode == 0
    assert foreign_resources.poll() is None
    again = subprocess.run([sys.executable, "-m", "emulator", "clean"], cwd=ROOT, env=ENV, capture_output=True,
                           text=True, timeout=CLEAN_WITHIN_S)
    assert "nothing left behind" in again.stdout


def _bgp_daemons() -> list[str]:
    found = []
    for pid in cleanup.emulator_processes():
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        if any(name in " ".join(args) for name in ("zebra", "bgpd", "controllers.bgp_speaker")):
            found.append(" ".join(args))
    return found


def test_clean_removes_the_bgp_daemons_of_a_killed_run():
    """FRR detaches itself and the VBR's speaker is the run's child: after SIGKILL, `clean` still finds them."""
    process = _start_run_and_wait_until_ready(scenario="multi_vpc_leased_line_bgp")
    assert len(_bgp_daemons()) == 3, _bgp_daemons()     # zebra, bgpd, the VBR's speaker
    process.kill()
    process.wait(timeout=10)
    time.sleep(0.5)                                      # the node shells see their pipes close and exit
    assert len(_bgp_daemons()) == 3, "the daemons outlive the killed run"
    result = subprocess.run([sys.executable, "-m", "emulator", "clean"], cwd=ROOT, env=ENV, capture_output=True,
                            text=True, timeout=CLEAN_WITHIN_S)
    assert result.returncode == 0, result.stderr
    assert _bgp_daemons() == []
    assert cleanup.leftovers().empty(), cleanup.leftovers().summary()
