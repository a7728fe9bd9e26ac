"""One run, start to end: plan -> controller -> network -> flows ready -> checks -> teardown.

Teardown runs on success, failure, exception, Ctrl-C and SIGTERM alike, and a
final sweep removes anything the emulator's marks still find.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from emulator.atomic_file import write_atomically
from emulator.capabilities import Environment
from emulator.checks import bgp as bgp_check
from emulator.checks import failover, performance, ping, throughput, traceroute
from emulator.checks.results import CheckResult, PerformanceDetail
from emulator.errors import EmulatorError, EnvironmentProblem, RuntimeFailure, ScenarioError
from emulator.cloud.bgp import MAX_LEARNED_ROUTES_PER_PEER
from emulator.cloud.border_gateway import MAX_DYNAMIC_ROUTES_PER_GATEWAY
from emulator.cloud.control_plane import ControlPlane
from emulator.plan import Plan, make_plan
from emulator.routing import bgp as bgp_model
from emulator.routing.health import health_check_problems
from emulator.routing.topology import build_network
from emulator.runtime import calibration, cleanup, environment, lock, ovs_service
from emulator.runtime.bgp import BgpDaemons
from emulator.runtime.health import Prober, probers
from emulator.captures import CAPTURE_PACKETS, CaptureFile, select_ends
from emulator.runtime.capture import Captures
from emulator.runtime.commands import in_namespace, spawn
from emulator.runtime.background import Failures
from emulator.runtime.controller_process import LOST_SIGNAL, ControllerLost, ControllerProcess, free_port
from emulator.runtime.network import EmulatedNetwork
from emulator.runtime.readiness import wait_for_flows
from emulator.runtime.supervision import Helper, Watch, popen_ended
from emulator.schema import Event
from emulator.session import LinkPhysics, Prepared, RunOutcome

Progress = Callable[[str], None]


class Interrupted(EmulatorError):
    """The run was stopped by a signal; teardown still happens."""


def require_root_and_tools() -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem("building the network needs root (namespaces, Open vSwitch, tc)",
                                 fix="run it with sudo, e.g. sudo .venv/bin/python -m emulator run ...")
    missing = environment.missing_tools()
    if missing:
        raise EnvironmentProblem(f"missing tools: {', '.join(missing)}", fix="run `make install`")


@contextmanager
def signals_as_exceptions(controller: ControllerProcess, failures: Failures) -> Iterator[None]:
    """SIGTERM and SIGHUP end the run like Ctrl-C does; a controller lost for good, or a helper thread's failure
    (`failures`), ends it too: through teardown."""

    def stop(signum: int, _frame: Any) -> None:
        raise Interrupted(f"stopped by {signal.Signals(signum).name}; the network was torn down")

    def lost(_signum: int, _frame: Any) -> None:
        if not controller.watching:
            return      # teardown has begun: it must not be cut short; the run is ending anyway
        failure = failures.take()
        if failure is not None:
            raise failure
        raise ControllerLost(controller.failure or "the controller died and could not be restarted",
                             fix=f"read the controller's log (keep it with --artifacts DIR):\n{controller.log_tail()}")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[LOST_SIGNAL] = signal.signal(LOST_SIGNAL, lost)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Processes:
    """Every process a check starts inside a namespace, so teardown can stop stragglers.

    They run in sessions of their own (commands.spawn): the terminal's Ctrl-C reaches none of them, so a command
    interrupted in the lab stops its own workers (`stopped_if_interrupted`), and nothing else.
    """

    def __init__(self, network: EmulatedNetwork) -> None:
        self.network = network
        self.started: list[subprocess.Popen[str]] = []

    def spawn(self, node_name: str, argv: list[str]) -> subprocess.Popen[str]:
        process = spawn(in_namespace(self.network.node_pid(node_name), argv), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.started.append(process)
        return process

    @contextmanager
    def stopped_if_interrupted(self) -> Iterator[None]:
        """The processes started inside the block are killed if it is left by an exception (Ctrl-C during the lab's
        `check`: its iperf3 client and server, its fping); those it leaves running on success (a probe, a
        capture) go on."""
        first = len(self.started)
        try:
            yield
        except BaseException:
            _kill(self.started[first:])
            raise

    def stop_all(self) -> None:
        _kill(self.started)


def _kill(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Live:
    """A built network whose flows are all installed: what checks (and tests) work with."""

    network: EmulatedNetwork
    processes: Processes
    controller: ControllerProcess
    environment: Environment
    timings: dict[str, float]
    plan_path: Path
    cleanup: str = ""
    captures: list[CaptureFile] = field(default_factory=list)
    recorder: Captures = field(default_factory=Captures)   # stopped (files closed) by the teardown, always
    notes: list[str] = field(default_factory=list)
    links: list[LinkPhysics] = field(default_factory=list)  # filled by the teardown (the delay lines' counters)
    delay_line_ceiling: dict | None = None                  # measured on this machine where delay lines are used
    bgp: BgpDaemons | None = None                           # FRR and the VBRs' speakers, when the scenario has BGP
    learned: bgp_model.Learned | None = None                # what the VBRs' speakers have received, now
    bgp_convergence: bgp_check.Convergence | None = None
    probers: list[Prober] = field(default_factory=list)      # the health checks' probers, when configured
    health_changes: list[HealthChange] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)   # one plan installed at a time

    def follow_bgp(self, prepared: Prepared) -> bool:
        """Carry what the VBRs' speakers have received into their flows (a new generation); True if it changed."""
        if self.bgp is None:
            return False
        with self.lock:      # the follower's thread and the lab's both call this: read, compare, install as one
            learned = self.bgp.learned(bgp_model.sessions(prepared.scenario.cloud))
            if learned == self.learned:
                return False
            self.learned = learned
            self._install_current(prepared)
            return True

    def settle_bgp(self, prepared: Prepared, timeout: float = bgp_check.CONVERGE_TIMEOUT_S) -> float:
        """After a change of BGP configuration: follow the speakers until every session is as now predicted (its
        prefixes installed, or a session expected down without any); the seconds it took."""
        started = time.monotonic()
        sessions = bgp_model.sessions(prepared.scenario.cloud)
        while True:
            self.follow_bgp(prepared)
            if self.bgp is not None and all(bgp_check.settled(s, self.bgp.status(s)) for s in sessions):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RuntimeFailure(f"BGP did not settle within {timeout:.0f} s: "
                                     + "; ".join(bgp_check.unsettled(s, self.bgp.status(s)) for s in sessions
                                                 if self.bgp is not None),
                                     fix="`bgp show customer` and `bgp show vbr` show how far it got")
            time.sleep(bgp_check.POLL_S)

    def environment_json(self) -> dict:
        return {**self.environment.to_json(), "delay_line_ceiling": self.delay_line_ceiling}

    def physics(self, counters: dict[str, dict | None]) -> list[LinkPhysics]:
        """Every link with delay, jitter or loss (or a delay line), and how it is emulated."""
        plan = self.network.plan
        return [LinkPhysics(link.cloud_id, link.kind.value, link.impairment, self.network.mechanism(index).value,
                            counters.get(link.cloud_id))
                for index, link in enumerate(plan.links)
                if not link.impairment.ideal or index in self.network.delay_lines]

    def apply(self, prepared: Prepared) -> float:
        """Carry a live change into the network; return the seconds until every bridge has its new flows.

        The new plan must have the same structure (nodes, interfaces, links) as the running one.
        """
        return self.install(prepared.plan)

    def install(self, plan: Plan) -> float:
        """Write `plan` where the controller polls it, update the Linux nodes, wait for every bridge's new flows.

        One at a time (the follower installs from its own thread); a plan made from an older
        generation gets the next one."""
        with self.lock:
            started = time.monotonic()
            plan = replace(plan, generation=max(plan.generation, self.network.plan.generation + 1))
            write_atomically(self.plan_path, plan.to_json())
            self.network.update(plan)
            wait_for_flows(plan, explain=self.controller.log_tail)
            return time.monotonic() - started

    def _install_current(self, prepared: Prepared) -> None:
        """The flows for the model as it is now, with what the speakers have learned (install numbers it)."""
        self.install(make_plan(build_network(prepared.scenario.cloud, self.learned), prepared.scenario.name))

    def follow_health(self, prepared: Prepared) -> HealthChange | None:
        """Carry the first changed health check verdict into the control plane and the flows; what changed."""
        cloud = prepared.scenario.cloud
        for prober in self.probers:
            reading = prober.reading()
            if reading is None:
                continue
            with self.lock:
                if not cloud.set_health_verdict(ri_id=prober.ri_id, healthy=reading.healthy):
                    continue
                self._install_current(prepared)
            change = HealthChange(prober.ri_id, reading.healthy, reading.changed_at, time.time())
            self.health_changes.append(change)
            return change
        return None


@contextmanager
def live_network(prepared: Prepared, *, progress: Progress = lambda _line: None,
                 artifacts: Path | None = None, capture: list[str] | None = None,
                 ideal_links: bool = False, adjustable_lines: bool = False) -> Iterator[Live]:
    """Build the network and wait for every flow; tear everything down on leaving, however it is left.

    `capture` names links (as the console does, or `all`) to record, one pcap per link end, in
    ARTIFACTS/captures (ARTIFACTS defaults to ./artifacts then). `ideal_links` accepts, on a machine that can
    neither use netem nor run a delay line, links without their delay and loss (said in the notes);
    `adjustable_lines` builds every leased line so that the lab can change its delay and loss later.
    """
    ends = select_ends(prepared.plan, capture) if capture else []     # an unknown name: before anything is built
    require_root_and_tools()
    started = time.monotonic()
    timings: dict[str, float] = {}
    run_dir = lock.STATE_DIR / f"run-{os.getpid()}"
    plan_path = run_dir / "plan.json"
    controller = ControllerProcess(plan_path, run_dir / "controller.log", free_port())
    failures = Failures()
    with lock.exclusive("start a run"), signals_as_exceptions(controller, failures):
        if not cleanup.leftovers().empty():
            progress(f"a previous run left resources behind; cleaning them first: {cleanup.sweep().summary()}")
        progress(f"Open vSwitch {ovs_service.ensure_running()}")
        env = environment.detect()
        for note in env.notes():
            progress(f"note: {note}")
        impaired = [link.cloud_id for link in prepared.plan.links if not link.impairment.ideal]
        extra_notes = []
        if impaired and env.impairment_mechanism == "none":
            missing = (f"{', '.join(impaired)} {'asks' if len(impaired) == 1 else 'ask'} for delay, jitter or loss, "
                       "and this machine has neither sch_netem nor AF_PACKET sockets for the userspace delay line")
            if not ideal_links:
                raise EnvironmentProblem(missing, fix="load sch_netem (modprobe sch_netem), or pass --ideal-links "
                                                      "to run with ideal links")
            extra_notes.append(f"{missing}: those links are ideal in this run (--ideal-links)")
        run_dir.mkdir(parents=True, exist_ok=True)
        plan_path.write_text(prepared.plan.to_json())
        network = EmulatedNetwork(prepared.plan, env, controller.port, state_dir=run_dir,
                                  adjustable_lines=adjustable_lines and env.impairment_mechanism != "none")
        if extra_notes:
            network.environment = replace(env, netem=False, delay_line=False)
        live = Live(network, Processes(network), controller, env, timings, plan_path, notes=extra_notes)
        if not extra_notes and env.impairment_mechanism == "delay line" and (impaired or adjustable_lines):
            live.delay_line_ceiling = calibration.ceiling(lock.STATE_DIR)
            ceiling = live.delay_line_ceiling
            if "error" in ceiling:
                progress(f"note: the delay line's ceiling could not be measured: {ceiling['error']}")
            else:
                progress(f"delay line ceiling on this machine: {ceiling['pps_64_byte_frames']:,} frames/s of 64 bytes, "
                         f"{ceiling['mbps_1514_byte_frames']:,} Mbit/s of 1514-byte frames"
                         + (" (measured earlier this boot)" if ceiling.get("cached") else ""))
        follower: Follower | None = None
        watch: Watch | None = None
        try:
            controller.start(on_event=lambda line: progress(f"note: {line}"),
                             bridges={node.name: int(node.dpid, 16) for node in prepared.plan.switches()})
            progress(f"controller (os-ken) listening on 127.0.0.1:{controller.port}")
            network.build()
            timings["build_s"] = time.monotonic() - started
            progress(f"network built: {len(prepared.plan.nodes)} nodes, {len(prepared.plan.links)} links")
            counts = wait_for_flows(prepared.plan, explain=controller.log_tail)
            timings["ready_s"] = time.monotonic() - started
            controller.arm_standby()
            if ends:
                folder = (artifacts or Path("artifacts")) / "captures"
                live.captures = live.recorder.start(ends, folder, live.processes.spawn)
                progress(f"capturing on {len(ends)} link ends into {folder} (at most {CAPTURE_PACKETS} packets "
                         f"each)")
            if prepared.scenario.cloud.has_bgp():     # after the captures start: they record the sessions too
                _start_bgp(prepared, live, run_dir, progress)
            follower = _start_follower(prepared, live, run_dir / "health", progress, failures)
            watch = _watch_helpers(live, progress)
            progress(f"all flows installed ({sum(counts.values())} on {len(counts)} bridges); all checks ready")
            yield live
        finally:
            controller.stop_watching()
            if watch is not None:
                watch.stop()
            if follower is not None:
                follower.stop()
            for prober in live.probers:
                prober.stop()
            if live.bgp is not None:
                live.bgp.stop()
            live.recorder.stop()        # SIGINT first: every pcap is closed complete, whatever ended the run
            live.processes.stop_all()
            teardown_problem = None
            try:
                counters = network.stop_delay_lines()
                live.links = live.physics(counters)
                for link in live.links:
                    drops = (link.counters or {}).get("kernel_drops")
                    if drops:
                        live.notes.append(f"the delay line of {link.link} could not keep up: the kernel dropped "
                                          f"{drops} frames before it read them (its ceiling was reached)")
                network.stop()
            except RuntimeFailure as problem:
                teardown_problem = problem
            controller.stop()
            if artifacts is not None:
                try:
                    artifacts.mkdir(parents=True, exist_ok=True)
                    for name in ("plan.json", "controller.log"):
                        if (run_dir / name).exists():
                            shutil.copy(run_dir / name, artifacts / name)
                except OSError as exc:    # teardown goes on; the user learns why the artefacts are missing
                    progress(f"could not keep the artefacts in {artifacts}: {exc.strerror}")
            shutil.rmtree(run_dir, ignore_errors=True)
            live.cleanup = cleanup.sweep().summary()
            timings["total_s"] = time.monotonic() - started
            if teardown_problem is not None and sys.exc_info()[0] is None:
                raise teardown_problem   # never hide the error that ended the run behind a teardown one


@dataclass(frozen=True)
class HealthChange:
    """A health check's verdict changed: when its prober decided, and when the new flows were in (wall clock)."""

    ri_id: str
    healthy: bool
    decided_at: float
    installed_at: float


class Follower:
    """A thread that carries the health checks' verdicts and what the BGP speakers learn into the flows as they
    change, for the whole run (a line that fails mid-run, BFD ending a session)."""

    POLL_S = 0.05

    WHAT = "the health checks' verdicts and BGP's routes can no longer be carried into the flows"

    def __init__(self, prepared: Prepared, live: Live, progress: Progress, failures: Failures) -> None:
        self.stopping = threading.Event()
        self.failures = failures
        self.thread = threading.Thread(target=self._run, args=(prepared, live, progress), daemon=True,
                                       name="follower")
        self.thread.start()

    def _run(self, prepared: Prepared, live: Live, progress: Progress) -> None:
        while not self.stopping.wait(self.POLL_S):
            try:
                change = live.follow_health(prepared)
                live.follow_bgp(prepared)
            except Exception as problem:     # noqa: BLE001 (whatever it is, the run must not go on without it)
                if not self.stopping.is_set():
                    self.failures.report(self.WHAT, problem)
                return
            if change is not None:
                took = change.installed_at - change.decided_at
                progress(f"health check of {change.ri_id}: the line is "
                         f"{'healthy again' if change.healthy else 'faulty'} (flows updated {took:.2f} s later)")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)


def _start_follower(prepared: Prepared, live: Live, folder: Path, progress: Progress,
                    failures: Failures) -> Follower | None:
    """A prober per configured health check, and the thread that follows their verdicts and the BGP speakers."""
    checks = prepared.scenario.cloud.health_checks()
    if not checks and live.bgp is None:
        return None
    live.probers = probers(checks, prepared.plan, live.network.pids, folder)
    for prober in live.probers:
        prober.start()
    if checks:
        progress("health checks: " + ", ".join(f"{ri} pings {c.target_ip} from {c.source_ip} every {c.rate_ms} ms"
                                               for ri, c in checks.items()))
        for problem in health_check_problems(prepared.scenario.cloud, prepared.network).values():
            live.notes.append(problem)
            progress(f"note: {problem}")
    return Follower(prepared, live, progress, failures)


def _watch_helpers(live: Live, progress: Progress) -> Watch:
    """Every helper process the network needs, watched for the whole run as the controller is (see
    runtime/supervision.py); what the watch says goes to the screen and the run's notes."""
    helpers = [Helper(line.name, popen_ended(lambda line=line: line.process), line.restart)
               for line in live.network.delay_lines.values()]
    helpers += [Helper(f"the health check prober of {prober.ri_id}", popen_ended(lambda p=prober: p.process),
                       prober.restart) for prober in live.probers]
    if live.bgp is not None:
        helpers += [Helper(f"the BGP speaker of {speaker.router_id}", popen_ended(lambda s=speaker: s.process),
                           speaker.restart) for speaker in live.bgp.speakers.values()]
        frr = live.bgp.customer
        helpers += [Helper(f"FRR's {daemon} on the customer device", lambda d=daemon: frr.ended(d),
                           why_not="its running configuration, changed by the lab's bgp commands, would be lost")
                    for daemon in (frr.daemons if frr is not None else ())]

    def say(line: str) -> None:
        live.notes.append(f"{line} (at {time.strftime('%H:%M:%S')})")
        progress(f"note: {line}")

    watch = Watch(helpers, say)
    watch.start()
    return watch


def _start_bgp(prepared: Prepared, live: Live, run_dir: Path, progress: Progress) -> None:
    """FRR on the customer device, a speaker per session's cloud end; then watch every session until it is as
    predicted."""
    sessions = bgp_model.sessions(prepared.scenario.cloud)
    ready = time.monotonic()
    live.bgp = BgpDaemons(prepared.scenario.cloud, prepared.plan, live.network.pids, run_dir / cleanup.BGP_FOLDER)
    live.bgp.start(sessions)
    progress(f"BGP: {len(sessions)} session(s): FRR on the customer device, os-ken on "
             + ", ".join(sorted({s.router_id for s in sessions})))
    live.bgp_convergence = bgp_check.converge(sessions, live.bgp, lambda: live.follow_bgp(prepared), progress,
                                              started=ready)
    live.timings["bgp_s"] = time.monotonic() - ready
    for watch in live.bgp_convergence.watches:
        received = [IPv4Network(p) for p in (watch.status.cloud_received if watch.status else [])]
        session = watch.session
        lost = bgp_model.discarded_prefixes(tuple(received), session.limit)
        if lost:
            rule = (f"a VBR keeps at most {MAX_LEARNED_ROUTES_PER_PEER} per BGP peer" if session.router_kind == bgp_model.VBR
                    else f"a border gateway holds at most {MAX_DYNAMIC_ROUTES_PER_GATEWAY} dynamic routes, "
                         f"{MAX_DYNAMIC_ROUTES_PER_GATEWAY - session.limit} of them propagated by its attachments")
            note = (f"{session.router_id} discarded {len(lost)} of the {len(received)} prefixes "
                    f"{session.customer_ip} advertised ({rule}): "
                    f"{', '.join(map(str, lost[:5]))}{' ...' if len(lost) > 5 else ''}")
            live.notes.append(note)
            progress(f"note: {note}")
    if live.bgp_convergence.timed_out:
        progress(f"BGP did not converge within {bgp_check.CONVERGE_TIMEOUT_S:.0f} s; the bgp checks say how far "
                 "it got")


def execute(prepared: Prepared, *, progress: Progress = lambda _line: None,
            artifacts: Path | None = None, capture: list[str] | None = None, ideal_links: bool = False) -> RunOutcome:
    """Build the network, run every check, tear everything down."""
    with live_network(prepared, progress=progress, artifacts=artifacts, capture=capture,
                      ideal_links=ideal_links) as live:
        checks_started = time.monotonic()
        checks = run_checks(prepared, live.network, live.processes, progress, bgp=live.bgp_convergence)
        if prepared.scenario.model.checks.failover:
            checks += run_failover(prepared, live, progress, artifacts or Path("artifacts"))
        live.timings["checks_s"] = time.monotonic() - checks_started
    return RunOutcome(prepared, live.environment, checks, live.timings, live.cleanup,
                      list(live.controller.restarts), list(live.captures), live.links, live.notes,
                      live.delay_line_ceiling)


def run_failover(prepared: Prepared, live: Live, progress: Progress, folder: Path) -> list[CheckResult]:
    """The scenario's events on their timeline, applied through the lab's operations, with the failover probes
    across them (last: the events leave the network changed)."""
    from emulator.lab import Lab     # the lab builds on the runner

    lab = Lab(prepared, live)
    model = prepared.scenario.model

    def apply_event(event: Event) -> ControlPlane:
        if event.action in ("line_down", "line_up"):
            changed = lab.line(event.id, up=event.action == "line_up")
        elif event.action in ("line_fail", "line_restore"):
            changed = lab.line_failure(event.id, failed=event.action == "line_fail")
        elif event.action == "deactivate":
            changed = lab.deactivate(event.id)
        else:
            changed = lab.activate(event.id)
        if changed.rebuild:     # no event adds routers or links; the guard keeps it so
            raise RuntimeFailure(f"{event.action} {event.id} would need the network rebuilt")
        return prepared.scenario.cloud

    node_name = {node.id: node.name for node in prepared.plan.nodes}
    progress(f"failover: {len(model.events)} events over {model.events[-1].at_s + model.settle_s if model.events else model.settle_s:g} s, "
             f"probing {', '.join(f'{p.src} -> {p.dst}' for p in model.checks.failover)}")
    idc_servers = set(prepared.scenario.cloud.idc_server_ids())
    return failover.run_timeline(
        model.events, model.checks.failover, model.settle_s, apply_event=apply_event, plan=live.network.plan,
        spawn=lambda node_id, argv: live.processes.spawn(node_name[node_id], argv),
        address=lambda host: str(prepared.network.address_of(host)), in_idc=lambda host: host in idc_servers,
        expected_pair=lambda src, dst: prepared.expected[(src, dst)],
        health_changes=lambda: list(live.health_changes), progress=progress, folder=folder)


def _unshaped(network: EmulatedNetwork, pair, duration_s: int, spawn) -> dict:
    """The same TCP test with every shaped link's HTB removed, then put back."""
    shaped = [link for link in network.plan.links if link.bandwidth_mbps]
    for link in shaped:
        network.shape_link(link, None)
    try:
        return throughput.run_iperf(pair, duration_s, spawn)
    finally:
        for link in shaped:
            network.shape_link(link, link.bandwidth_mbps)


def run_checks(prepared: Prepared, network: EmulatedNetwork, processes: Processes,
               progress: Progress, *, use_stated: bool = True,
               bgp: bgp_check.Convergence | None = None) -> list[CheckResult]:
    """Ping matrix, traceroutes, throughput: each measures and compares with the expectations prepared once.

    The scenario's own expectations count only for the complete scenario.
    """
    plan, expected = prepared.plan, prepared.expected
    node_name = {node.id: node.name for node in plan.nodes}
    stated = {(e.src, e.dst): e.reachable for e in prepared.scenario.expectations} \
        if use_stated and prepared.scenario.complete else {}
    results: list[CheckResult] = []
    if bgp is not None:
        customer = prepared.scenario.cloud.customer_bgp
        device = prepared.scenario.cloud.idcs[customer.idc_id].device_id if customer else "customer device"
        results += bgp_check.results(bgp, device)
    progress(f"ping matrix: {len(expected)} pairs")
    echoes = ping.ping_matrix([(node_name[src], dst, str(pair.forward.dst)) for (src, dst), pair in expected.items()],
                              processes.spawn)
    results += [ping.ping_result(echoes[(node_name[src], dst)], pair, stated.get((src, dst)))
                for (src, dst), pair in expected.items()]
    for probe in prepared.scenario.traceroutes:
        progress(f"traceroute {probe.src} -> {probe.dst}")
        results.append(traceroute.run_traceroute(expected[(probe.src, probe.dst)],
                                                 lambda argv, src=probe.src: processes.spawn(node_name[src], argv)))
    for test in prepared.scenario.throughputs:
        directions = [(test.src, test.dst)] + ([(test.dst, test.src)] if test.both_directions else [])
        for src, dst in directions:
            progress(f"iperf3 {test.protocol.upper()} {src} -> {dst}, {test.duration_s} s")
            spawn = lambda node_id, argv: processes.spawn(node_name[node_id], argv)  # noqa: E731
            check = throughput.run_throughput(expected[(src, dst)], test.duration_s, spawn)
            if throughput.short_of_the_rate(check):
                progress(f"iperf3 {src} -> {dst} again with every shaper removed: can this machine carry the rate?")
                check = throughput.with_unshaped(check, _unshaped(network, expected[(src, dst)], test.duration_s,
                                                                  spawn))
            results.append(check)
    for test in prepared.scenario.model.checks.performance:
        progress(f"performance test {test.src} -> {test.dst}: 16 iperf3 tests of {test.duration_s} s")
        try:
            report = performance.run_performance(prepared, network, processes, test.src, test.dst, test.duration_s,
                                                 test.streams, progress)
        except ScenarioError as problem:     # the pair does not reach: the check fails and says why
            results.append(CheckResult(test.src, test.dst, False, PerformanceDetail(
                configured_mbps=None, duration_s=test.duration_s, tests=(), rtt_ms={}, error=problem.message)))
            continue
        results.append(performance.as_check(report))
    return results
