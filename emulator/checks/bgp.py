"""The `bgp` check: sessions brought up by the real daemons, watched until they converge, judged per session.

`converge` polls both ends of every session (FRR's JSON, the os-ken speaker's
state file) every 100 ms and, whenever a cloud router's adj-RIB-in changes, has
the runner carry the new routes into its flows (a new plan generation). It
returns when every session expected to come up is Established with every
expected prefix installed, and sessions expected to stay down have been
watched long enough to know that they do (the reason is predicted by
routing/bgp.py and FRR's last reset reason is reported beside it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from emulator.checks.results import BgpDetail, CheckResult
from emulator.routing.bgp import ESTABLISHED, Session, accepted
from emulator.runtime.bgp import BgpDaemons, SessionStatus

POLL_S = 0.1
CONVERGE_TIMEOUT_S = 60.0
WATCH_DOWN_S = 6.0          # FRR retries its connection every second: six tries without a session


@dataclass
class Watch:
    """What converge saw of one session."""

    session: Session
    status: SessionStatus | None = None
    established_s: float | None = None
    converged_s: float | None = None


@dataclass
class Convergence:
    watches: list[Watch] = field(default_factory=list)
    timed_out: bool = False


def converge(sessions: list[Session], daemons: BgpDaemons, follow: Callable[[], bool],
             progress: Callable[[str], None] = lambda _line: None, *, started: float | None = None,
             timeout: float = CONVERGE_TIMEOUT_S) -> Convergence:
    """Watch every session until it is as predicted; `follow()` carries learned routes into the flows."""
    started = time.monotonic() if started is None else started
    watches = [Watch(session) for session in sessions]
    deadline = time.monotonic() + timeout
    while True:
        follow()
        now = time.monotonic() - started
        for watch in watches:
            watch.status = daemons.status(watch.session)
            if watch.status.established and watch.established_s is None:
                watch.established_s = now
                progress(f"BGP {watch.session.peer_id}: Established after {now:.1f} s")
            if watch.converged_s is None and _complete(watch):
                watch.converged_s = now
                progress(f"BGP {watch.session.peer_id}: {len(watch.session.cloud_learns)} prefixes installed on "
                         f"{watch.session.router_id}, {len(watch.session.customer_learns)} on the customer device "
                         f"after {now:.1f} s")
        up_done = all(w.converged_s is not None for w in watches if not w.session.problem)
        down_done = all(now >= WATCH_DOWN_S for w in watches if w.session.problem)
        if up_done and down_done:
            return Convergence(watches)
        if time.monotonic() > deadline:
            return Convergence(watches, timed_out=True)
        time.sleep(POLL_S)


def _complete(watch: Watch) -> bool:
    status, session = watch.status, watch.session
    if status is None or not status.established or session.problem:
        return False
    return (set(status.cloud_received) == {str(p) for p in session.customer_advertises}
            and set(status.customer_received) == {str(p) for p in session.customer_learns})


def settled(session: Session, status: SessionStatus) -> bool:
    """Is this session as predicted now: up with exactly the expected prefixes each way, or down with none?"""
    if session.problem:
        return not status.established and not status.cloud_received
    return _complete(Watch(session, status))


def unsettled(session: Session, status: SessionStatus) -> str:
    """How a session differs from the prediction, in a line ("" when it does not)."""
    if settled(session, status):
        return ""
    expected_cloud = sorted(map(str, session.customer_advertises)) if not session.problem else []
    expected_customer = sorted(map(str, session.customer_learns))
    return (f"{session.peer_id}: customer {status.customer_state} / {session.router_kind} {status.cloud_state} "
            f"(expected {session.expected_state}); {session.router_id} received {sorted(status.cloud_received)}, "
            f"expected {expected_cloud}; the customer device received {sorted(status.customer_received)}, "
            f"expected {expected_customer}")


def results(convergence: Convergence, device: str) -> list[CheckResult]:
    checks = []
    for watch in convergence.watches:
        session, status = watch.session, watch.status
        assert status is not None
        observed = ESTABLISHED if status.established else "not established"
        installed, discarded = accepted([IPv4Network(p) for p in status.cloud_received], session.limit)
        passed = observed == session.expected_state
        if passed and not session.problem:
            passed = watch.converged_s is not None
        reason = session.problem
        if observed != session.expected_state:
            reason = (f"expected {session.expected_state}"
                      + (f" ({session.problem})" if session.problem else "")
                      + f", observed customer {status.customer_state} / {session.router_kind} {status.cloud_state}")
        elif not passed:
            reason = "established, but the prefixes exchanged differ from the configuration"
        checks.append(CheckResult(device, session.router_id, passed, BgpDetail(
            peer=session.peer_id,
            session_state={"customer": status.customer_state, "cloud": status.cloud_state},
            expected_state=session.expected_state,
            received_prefixes={"customer": status.customer_received, "cloud": status.cloud_received},
            advertised_prefixes={"customer": status.customer_advertised, "cloud": status.cloud_advertised},
            installed_prefixes=tuple(str(p) for p in installed), discarded_prefixes=discarded,
            established_s=_round(watch.established_s), converged_s=_round(watch.converged_s),
            reason=reason, last_notification="" if status.established else status.last_reset)))
    return checks


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
