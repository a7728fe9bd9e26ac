"""Ctrl-C reaches no helper, and a helper that dies anyway is noticed, restarted where it can be, and said (issue 25).

Real but tiny processes (this interpreter running one line) stand in for the delay lines and workers: no
namespace, no root.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.errors import RuntimeFailure
from emulator.impairment import Impairment
from emulator.runtime import commands, impairment, supervision
from emulator.runtime.health import Prober, Reading
from emulator.runtime.health_prober import Verdict
from emulator.runtime.supervision import MAX_RESTARTS, Helper, Watch

ROOT = Path(__file__).resolve().parents[2]
# A delay line's manners: "ready" once it forwards, SIGHUP to read its parameters again (here: ignored).
READY = "import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); print('ready', flush=True); time.sleep(30)"


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)


def _dead() -> subprocess.Popen:
    process = _python("import sys; sys.exit(0)")
    process.communicate()
    return process


class FakeHelper:
    """A helper whose death the test decides; restarts counted, and failing on demand."""

    def __init__(self, ended: str | None = None, fails: bool = False, dies_again: bool = False) -> None:
        self.state, self.fails, self.dies_again, self.restarts = ended, fails, dies_again, 0

    def restart(self) -> None:
        self.restarts += 1
        if self.fails:
            raise RuntimeFailure("no namespace any more")
        self.state = self.state if self.dies_again else None

    def helper(self, name: str, restartable: bool = True) -> Helper:
        return Helper(name, lambda: self.state, self.restart if restartable else None, why_not="it cannot be")


def test_a_dead_helper_is_restarted_and_said_and_a_running_one_left_alone():
    said = []
    running, dead = FakeHelper(), FakeHelper("killed by SIGINT")
    watch = Watch([running.helper("the delay line of pc-AAA"), dead.helper("the delay line of ri-AAA/ri-BBB")],
                  said.append)
    watch.look()
    watch.look()
    assert (running.restarts, dead.restarts) == (0, 1)
    assert said == ["the delay line of ri-AAA/ri-BBB died (killed by SIGINT); restarted with its current settings"]


def test_a_helper_that_cannot_be_restarted_is_said_once():
    said = []
    frr, broken = FakeHelper("gone"), FakeHelper("exit 1", fails=True)
    watch = Watch([frr.helper("FRR's bgpd", restartable=False), broken.helper("the prober")], said.append)
    for _ in range(3):
        watch.look()
    assert broken.restarts == 1
    assert said == ["FRR's bgpd died (gone) and is not restarted (it cannot be); start the lab (or the run) again",
                    "the prober died (exit 1) and could not be restarted: no namespace any more; start the lab (or "
                    "the run) again"]


def test_a_helper_that_keeps_dying_is_not_restarted_for_ever():
    said = []
    looping = FakeHelper("exit 1", dies_again=True)
    watch = Watch([looping.helper("the speaker")], said.append)
    for _ in range(MAX_RESTARTS + 3):
        watch.look()
    assert looping.restarts == MAX_RESTARTS
    assert said[-1].startswith(f"the speaker died again (exit 1) after {MAX_RESTARTS} restarts; not started again")
    assert len(said) == MAX_RESTARTS + 1


def test_popen_ended_says_how_it_ended_and_takes_a_stopped_helper_for_no_death():
    # SIG_DFL first: a test run started in the background inherits SIGINT ignored (a shell without job control
    # does that), and the child would sleep and exit 0 (seen in a fresh-clone run under nohup).
    process = _python("import os, signal, time; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.kill(os.getpid(), signal.SIGINT); time.sleep(5)")
    process.communicate()
    assert supervision.popen_ended(lambda: process)() == "killed by SIGINT"
    assert supervision.popen_ended(lambda: None)() is None
    killed = _python("import time; time.sleep(30)")
    killed.kill()
    killed.wait()
    assert supervision.popen_ended(lambda: killed)() == "killed by SIGKILL"


def _line(tmp_path: Path, process: subprocess.Popen | None) -> impairment.DelayLineProcess:
    line = impairment.DelayLineProcess("cedl1", "cedl1-eth1", "cedl1-eth2", tmp_path / "cedl1.json", link="pc-AAA",
                                       process=process, pid=4242)
    line.write(Impairment(latency_ms=2))
    return line


def test_a_change_to_a_dead_delay_line_starts_it_again_on_the_new_values(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(impairment, "spawn", lambda argv, **_: started.append(argv) or _python(READY))
    line = _line(tmp_path, _dead())
    try:
        line.change(Impairment(latency_ms=3))
        assert line.process.poll() is None and len(started) == 1
        assert started[0][:3] == ["mnexec", "-a", "4242"] and str(line.params_path) in started[0]
        assert json.loads(line.params_path.read_text())["latency_ms"] == 3
    finally:
        line.process.kill()
        line.process.wait()


def test_a_change_to_a_dead_delay_line_that_cannot_start_is_an_error_never_a_silent_success(tmp_path, monkeypatch):
    monkeypatch.setattr(impairment, "spawn", lambda argv, **_: _python("import sys; print('no AF_PACKET', "
                                                                         "file=sys.stderr)"))
    line = _line(tmp_path, _dead())
    with pytest.raises(RuntimeFailure) as caught:
        line.change(Impairment(latency_ms=3))
    assert caught.value.message.startswith("the delay line of pc-AAA (cedl1) is not running (exit 0) and could not "
                                           "be restarted: the delay line cedl1 did not start: no AF_PACKET")
    with pytest.raises(RuntimeFailure, match="is not running: it was stopped"):
        _line(tmp_path, None).change(Impairment(latency_ms=3))
    with pytest.raises(RuntimeFailure, match="could not be restarted"):
        line.ensure_running()      # `line up`: the carrier of a line that carries nothing is not brought up


def test_restart_leaves_a_running_line_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(impairment, "spawn", lambda argv, **_: pytest.fail("a running line was started again"))
    running = _python(READY)
    try:
        line = _line(tmp_path, running)
        line.restart()
        _line(tmp_path, None).restart()     # stopped by teardown: stays stopped
        assert line.process is running
    finally:
        running.kill()
        running.wait()


def test_every_process_starts_in_a_session_of_its_own():
    code = "import os; print(os.getsid(0) == os.getpid())"
    assert commands.run([sys.executable, "-c", code]).stdout.strip() == "True"
    process = commands.spawn([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.communicate()[0].strip() == "True"


def _process_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess" and \
                node.func.attr in ("Popen", "run", "call", "check_call", "check_output"):
            yield node


def test_no_process_is_started_within_reach_of_the_terminals_ctrl_c():
    """Every subprocess call of the emulator and the controllers passes start_new_session (commands.spawn and
    commands.run do): a Ctrl-C in the lab must reach no helper the network needs."""
    within_reach = []
    for source in [*(ROOT / "emulator").rglob("*.py"), *(ROOT / "controllers").rglob("*.py")]:
        for call in _process_calls(ast.parse(source.read_text())):
            if not any(k.arg == "start_new_session" and getattr(k.value, "value", None) is True
                       for k in call.keywords):
                within_reach.append(f"{source.relative_to(ROOT)}:{call.lineno}")
    assert within_reach == []


def test_an_interrupted_command_stops_the_workers_it_started_and_nothing_else(monkeypatch):
    from emulator import runner

    class Network:
        def node_pid(self, _name: str) -> int:
            return 0

    monkeypatch.setattr(runner, "in_namespace", lambda _pid, argv: argv)
    processes = runner.Processes(Network())
    sleep = [sys.executable, "-c", "import time; time.sleep(30)"]
    probe = processes.spawn("cesrv1", sleep)                     # a probe left running by an earlier command
    with processes.stopped_if_interrupted():
        capture = processes.spawn("cesrv1", sleep)               # a command that succeeds leaves its own running
    with pytest.raises(KeyboardInterrupt), processes.stopped_if_interrupted():
        iperf = processes.spawn("cesrv2", sleep)
        assert os.getsid(iperf.pid) == iperf.pid
        raise KeyboardInterrupt
    try:
        assert iperf.poll() is not None
        assert probe.poll() is None and capture.poll() is None
    finally:
        processes.stop_all()
    assert probe.poll() is not None and capture.poll() is not None


def test_a_restarted_prober_carries_on_from_the_verdict_it_had(tmp_path, monkeypatch):
    prober = Prober("ri-line1-vbr", "ceprb1", 4242, {"threshold": 3}, tmp_path)
    prober.state_path.write_text(json.dumps({"healthy": False, "changed_at": 1.0, "sent": 9, "answered": 0}))
    assert prober.reading() == Reading(False, 1.0, 9, 0)
    monkeypatch.setattr(Prober, "start", lambda self: None)
    prober.restart()
    assert prober.config == {"threshold": 3, "healthy": False}
    verdict = Verdict(3, healthy=prober.config["healthy"])
    for _ in range(3):
        verdict.probe(True)
    assert verdict.healthy
