"""BGP daemons of a run: FRR (zebra, bgpd) on the customer device and os-ken's BGPSpeaker for each cloud end.

FRR runs without systemd: each daemon is started inside the device's network
namespace with its own configuration, pid file, zserv socket and vty socket
directory under the run's state directory, and is stopped with the run (the
cleanup sweep finds stragglers: every process in a node's namespace belongs
to the run). A session's cloud end (a VBR, or a border gateway's private
virtual interface) has a speaker node of its own (see routing/topology.py),
whose address is the router's own on the leased line: the router's flows hand
it every TCP segment for that address, so the session crosses the access
point and the line's VLAN like any other traffic.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from emulator import frr_config
from emulator.atomic_file import write_json_atomically
from emulator.cloud.bgp import CustomerBgp
from emulator.cloud.control_plane import ControlPlane
from emulator.errors import RuntimeFailure
from emulator.plan import Plan
from emulator.routing.bgp import Learned, Session
from emulator.runtime.commands import in_namespace, python_module, run, spawn, terminate

FRR_DAEMONS = Path("/usr/lib/frr")
FRR_USER = "frr"
VTYSH_TIMEOUT_S = 10.0


def refused_by_frr(config: Path) -> str | None:
    """FRR's own check of a configuration file (`vtysh --dryrun`: every daemon's commands, nothing started):
    what it refuses, by line, or None. The daemons themselves log a bad line and start anyway (bgpd -C exits 0),
    which would leave a session silently without a neighbour or a filter."""
    result = run(["vtysh", "--dryrun", "-f", str(config)], check=False, timeout=VTYSH_TIMEOUT_S)
    if result.returncode == 0:
        return None
    said = [line.strip() for line in (result.stdout + result.stderr).splitlines()
            if line.strip() and "vtysh.conf" not in line]      # its own settings file, unreadable to some users
    return "; ".join(said)[:400] or f"exit status {result.returncode}"


def frr_missing() -> str | None:
    """What is missing to run FRR here, or None."""
    for daemon in ("zebra", "bgpd"):
        if not (FRR_DAEMONS / daemon).exists():
            return f"{FRR_DAEMONS / daemon} (Debian's frr package)"
    try:
        pwd.getpwnam(FRR_USER)
    except KeyError:
        return f"the {FRR_USER} user (created by Debian's frr package)"
    return None


@dataclass
class CustomerFrr:
    """zebra and bgpd in the customer device's namespace."""

    node: str
    pid: int
    directory: Path
    bgp: CustomerBgp
    router_id: str
    permitted: dict[IPv4Network, int] = field(default_factory=dict)   # what the outbound prefix-list lets through

    def start(self) -> None:
        self.permitted = {network: 5 * seq for seq, network in enumerate(self.bgp.networks, start=1)}
        self.directory.mkdir(parents=True, exist_ok=True)
        user = pwd.getpwnam(FRR_USER)
        for parent in [self.directory, *self.directory.parents]:
            if parent == Path("/"):
                break
            if parent.stat().st_mode & 0o001 == 0 and parent != self.directory:
                os.chmod(parent, parent.stat().st_mode | 0o711)   # let the frr user reach its sockets
        os.chown(self.directory, user.pw_uid, user.pw_gid)
        (self.directory / "zebra.conf").write_text(frr_config.zebra_conf(self.node, str(self.directory / "zebra.log")))
        (self.directory / "bgpd.conf").write_text(frr_config.bgpd_conf(self.bgp, self.router_id, self.node,
                                                                       str(self.directory / "bgpd.log")))
        (self.directory / "bfdd.conf").write_text(frr_config.bfdd_conf(self.bgp, self.node,
                                                                       str(self.directory / "bfdd.log")))
        for daemon in self.daemons:
            refused = refused_by_frr(self.directory / f"{daemon}.conf")
            if refused:
                raise RuntimeFailure(f"FRR refuses the {daemon} configuration the emulator wrote for {self.node}: "
                                     f"{refused}", fix="a defect of emulator/frr_config.py: please report it with "
                                                       "this message and the scenario")
        for daemon in self.daemons:
            argv = [str(FRR_DAEMONS / daemon), "-d", "-f", str(self.directory / f"{daemon}.conf"),
                    "-i", str(self.directory / f"{daemon}.pid"), "-z", str(self.directory / "zserv.api"),
                    "--vty_socket", str(self.directory), "-u", FRR_USER, "-g", FRR_USER]
            if daemon == "bfdd":
                argv += ["--bfdctl", str(self.directory / "bfdd.sock")]
            result = run(in_namespace(self.pid, argv), check=False)
            if result.returncode != 0:
                raise RuntimeFailure(f"FRR's {daemon} did not start on {self.node}: "
                                     f"{(result.stderr or result.stdout).strip()[:400]}",
                                     fix=f"read {self.directory}/{daemon}.log; run `make install` if FRR is missing")
            if daemon == "zebra":
                self._wait_for(self.directory / "zserv.api")

    def _wait_for(self, path: Path, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise RuntimeFailure(f"FRR's zebra on {self.node} did not open {path} within {timeout:.0f} s")
            time.sleep(0.05)

    def vtysh(self, *commands: str) -> str:
        argv = ["vtysh", "--vty_socket", str(self.directory)]
        for command in commands:
            argv += ["-c", command]
        result = run(argv, check=False, timeout=VTYSH_TIMEOUT_S)
        if result.returncode != 0:
            raise RuntimeFailure(f"vtysh on {self.node} failed ({' / '.join(commands)[:200]}): "
                                 f"{(result.stderr + result.stdout).strip()[:300]}")
        return result.stdout

    def advertise(self, network: IPv4Network) -> None:
        """`network NET`, and NET let through the outbound prefix-list."""
        commands = ["configure terminal"]
        if network not in self.permitted:
            self.permitted[network] = max(self.permitted.values(), default=0) + 5
            commands.append(f"ip prefix-list {frr_config.OUT_LIST} seq {self.permitted[network]} permit {network}")
        self.vtysh(*commands, f"router bgp {self.bgp.asn}", "address-family ipv4 unicast", f"network {network}")

    def withdraw(self, network: IPv4Network) -> None:
        """`no network NET`, and NET out of the outbound prefix-list: otherwise, when the cloud announces NET too,
        FRR would send the cloud's own route back to it (and os-ken would keep it as received)."""
        commands = ["configure terminal"]
        if network in self.permitted:
            commands.append(f"no ip prefix-list {frr_config.OUT_LIST} seq {self.permitted.pop(network)} permit {network}")
        self.vtysh(*commands, f"router bgp {self.bgp.asn}", "address-family ipv4 unicast", f"no network {network}")

    def shutdown(self, down: bool) -> None:
        """`neighbor IP shutdown` for every neighbor (or its `no`)."""
        no = "" if down else "no "
        self.vtysh("configure terminal", f"router bgp {self.bgp.asn}",
                   *[f"{no}neighbor {neighbor.ip} shutdown" for neighbor in self.bgp.neighbors])

    def json(self, command: str) -> dict:
        try:
            return json.loads(self.vtysh(command) or "{}")
        except (RuntimeFailure, ValueError):
            return {}

    def neighbor(self, ip: str) -> dict:
        return self.json(f"show bgp neighbors {ip} json").get(ip, {})

    def received(self, ip: str) -> list[str]:
        return sorted(self.json(f"show bgp ipv4 unicast neighbors {ip} routes json").get("routes", {}))

    def advertised(self, ip: str) -> list[str]:
        return sorted(self.json(f"show bgp ipv4 unicast neighbors {ip} advertised-routes json")
                      .get("advertisedRoutes", {}))

    @property
    def daemons(self) -> tuple[str, ...]:
        """zebra first (the others connect to it), bfdd before bgpd when a neighbor has BFD."""
        return ("zebra", "bfdd", "bgpd") if any(n.bfd for n in self.bgp.neighbors) else ("zebra", "bgpd")

    def bfd_peers(self) -> dict:
        """bfdd's sessions (`show bfd peers json`), by peer address."""
        try:
            peers = json.loads(self.vtysh("show bfd peers json") or "[]")
        except (RuntimeFailure, ValueError):
            return {}
        return {peer.get("peer"): peer for peer in peers if isinstance(peer, dict)}

    def ended(self, daemon: str) -> str | None:
        """None while `daemon` runs; how it ended otherwise, as far as its pid file tells (they detach: no exit
        status reaches the run)."""
        try:
            pid = int((self.directory / f"{daemon}.pid").read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return "exit status unknown: it had detached"
        return None

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            _kill_pid_file(self.directory / f"{daemon}.pid")


@dataclass
class CloudSpeaker:
    """os-ken's BGPSpeaker for one session's cloud end (a VBR, or a private virtual interface), in its node."""

    router_id: str
    node: str
    pid: int
    directory: Path
    config: dict
    process: subprocess.Popen | None = None

    @property
    def state_path(self) -> Path:
        return self.directory / f"{self.node}.state.json"

    @property
    def config_path(self) -> Path:
        return self.directory / f"{self.node}.config.json"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config))
        with open(self.directory / f"{self.node}.log", "a") as log:     # a restart keeps why the last one died
            self.process = spawn(
                in_namespace(self.pid, python_module("controllers.bgp_speaker", str(self.config_path),
                                                     str(self.state_path))),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def restart(self) -> None:
        """After it died: its session starts again from its configuration (with what `bgp` commands changed); the
        dead one's state file goes first, or the session would read as Established until the new one writes."""
        self.state_path.unlink(missing_ok=True)
        self.start()

    def state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def advertise(self, networks: list[IPv4Network]) -> None:
        """AddBgpNetwork/DeleteBgpNetwork on the running VBR (or what a border gateway announces): the speaker reads
        its configuration again."""
        self.config["networks"] = [str(net) for net in networks]
        write_json_atomically(self.config_path, self.config)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join((self.directory / f"{self.node}.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        terminate(self.process)


@dataclass
class SessionStatus:
    """One session now, from both ends."""

    customer_state: str
    cloud_state: str
    customer_received: list[str]
    customer_advertised: list[str]
    cloud_received: list[str]
    cloud_advertised: list[str]
    last_reset: str = ""

    @property
    def established(self) -> bool:
        return self.customer_state == "Established" and self.cloud_state == "Established"


@dataclass
class BgpDaemons:
    """Every BGP daemon of a run."""

    cloud: ControlPlane
    plan: Plan
    pids: dict[str, int]
    directory: Path
    speakers: dict[str, CloudSpeaker] = field(default_factory=dict)     # by speaker node ID
    customer: CustomerFrr | None = None

    def start(self, sessions: list[Session]) -> None:
        missing = frr_missing()
        if missing and self.cloud.customer_bgp is not None:
            raise RuntimeFailure(f"BGP on the customer device needs FRR: missing {missing}",
                                 fix="run `make install` (it installs Debian's frr package)")
        for session in sessions:
            self._start_speaker(session)
        bgp = self.cloud.customer_bgp
        if bgp is not None:
            device = self.plan.node(self.cloud.idcs[bgp.idc_id].device_id)
            router_id = str(next(iter(sessions)).customer_ip) if sessions else "10.255.255.254"
            self.customer = CustomerFrr(device.name, self.pids[device.name], self.directory / f"frr-{device.name}",
                                        bgp, router_id)
            self.customer.start()

    def _start_speaker(self, session: Session) -> None:
        node = self.plan.node(session.speaker)
        router = self.plan.node(session.router_id)
        port_no = next(port for address, port, _mac in router.speakers if address == str(session.cloud_ip))
        router_mac = next(i.mac for i in router.interfaces if i.port_no == port_no)
        pid = self.pids[node.name]
        # The router routes the speaker's packets: no ARP needed towards the line.
        run(in_namespace(pid, ["ip", "neigh", "replace", str(session.customer_ip), "lladdr", router_mac,
                               "dev", node.interfaces[0].name, "nud", "permanent"]))
        config = {"router_id": str(session.cloud_ip), "local_asn": session.cloud_asn,
                  "peers": [{"ip": str(session.customer_ip), "remote_asn": session.expected_customer_asn,
                             "password": session.cloud_key,
                             "bfd": {"min_rx_ms": session.cloud_bfd.min_rx_ms, "min_tx_ms": session.cloud_bfd.min_tx_ms,
                                     "multiplier": session.cloud_bfd.multiplier} if session.cloud_bfd else None}],
                  "networks": [str(net) for net in session.cloud_advertises]}
        speaker = CloudSpeaker(session.router_id, node.name, pid, self.directory, config)
        speaker.start()
        self.speakers[session.speaker] = speaker

    def speaker_of(self, router_id: str) -> CloudSpeaker | None:
        return next((s for s in self.speakers.values() if s.router_id == router_id), None)

    def learned(self, sessions: list[Session]) -> Learned:
        received: dict[str, tuple[IPv4Network, ...]] = {}
        for session in sessions:
            state = self.speakers[session.speaker].state()
            prefixes = state.get("received", {}).get(str(session.customer_ip), [])
            received[session.peer_id] = tuple(IPv4Network(p) for p in prefixes)
        return Learned(received=received)

    def status(self, session: Session) -> SessionStatus:
        state = self.speakers[session.speaker].state()
        peer = state.get("peers", {}).get(str(session.customer_ip), {})
        customer_ip, cloud_ip = str(session.customer_ip), str(session.cloud_ip)
        frr = self.customer.neighbor(cloud_ip) if self.customer else {}
        established = frr.get("bgpState") == "Established"
        return SessionStatus(
            customer_state=frr.get("bgpState", "no neighbor" if self.customer else "no BGP"),
            cloud_state=peer.get("state", "Idle"),
            customer_received=self.customer.received(cloud_ip) if self.customer and established else [],
            customer_advertised=self.customer.advertised(cloud_ip) if self.customer and established else [],
            cloud_received=state.get("received", {}).get(customer_ip, []),
            cloud_advertised=state.get("advertised", []) if peer.get("state") == "Established" else [],
            last_reset=_last_reset(frr))

    def stop(self) -> None:
        for speaker in self.speakers.values():
            speaker.stop()
        if self.customer is not None:
            self.customer.stop()


def _last_reset(neighbor: dict) -> str:
    parts = [neighbor.get(key) for key in ("lastNotificationReason", "lastResetDueTo") if neighbor.get(key)]
    return "; ".join(str(part) for part in parts)


def _kill_pid_file(path: Path) -> None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
