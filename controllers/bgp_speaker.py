"""A VBR's BGP: os-ken's BGPSpeaker in the VBR's speaker namespace, reporting what it learns to a state file.

Run as `python -m controllers.bgp_speaker CONFIG STATE` inside the speaker
node (emulator/runtime/bgp.py starts it). CONFIG (JSON) holds the VBR's AS and
address, its peers (address, AS, MD5 key) and the blocks it advertises;
SIGHUP makes it read CONFIG again and advertise or withdraw the difference
(AddBgpNetwork, DeleteBgpNetwork in the lab). STATE (JSON, replaced
atomically) holds each peer's session state, the prefixes received from it
(its adj-RIB-in) and what the speaker advertises. os-ken installs nothing in
any kernel: the runtime turns STATE into the VBR's flows through a new plan.

Two facts measured with os-ken 4.x: a TCP MD5 key works only when given as
bytes (a str never connects), and a neighbor with a key added within about a
second of BGPSpeaker() misses FRR's signed SYNs, so the speaker waits first.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time

from os_ken.lib import hub

hub.patch(thread=False)     # before BGPSpeaker's modules load: its sockets must be green

import select  # noqa: E402  (green after hub.patch)
import socket  # noqa: E402

from os_ken.services.protocols.bgp.bgpspeaker import BGPSpeaker  # noqa: E402

from controllers import bfd  # noqa: E402
from emulator.atomic_file import write_json_atomically  # noqa: E402

LOG = logging.getLogger("bgp_speaker")
POLL_S = 0.2
SETTLE_BEFORE_NEIGHBORS_S = 1.0


class Speaker:
    def __init__(self, config_path: str, state_path: str) -> None:
        self.config_path = config_path
        self.state_path = state_path
        self.config = self._read_config()
        self.peers: dict[str, dict] = {peer["ip"]: {"state": "Idle", "remote_as": peer["remote_asn"],
                                                    "established_at": None, "down_at": None, "flaps": 0}
                                       for peer in self.config["peers"]}
        self.received: dict[str, set[str]] = {ip: set() for ip in self.peers}
        self.advertised: list[str] = []
        self.reload_wanted = False
        self.dirty = True
        self.speaker = BGPSpeaker(as_number=self.config["local_asn"], router_id=self.config["router_id"],
                                  bgp_server_hosts=(self.config["router_id"],),
                                  adj_rib_in_change_handler=self._rib_in_changed,
                                  peer_down_handler=self._peer_down, peer_up_handler=self._peer_up)

    def _read_config(self) -> dict:
        with open(self.config_path) as source:
            return json.load(source)

    # ----- os-ken's callbacks ----------------------------------------------------------------

    def _rib_in_changed(self, event, peer_ip: str, _peer_as: int) -> None:
        prefixes = self.received.setdefault(peer_ip, set())
        if event.is_withdraw:
            prefixes.discard(event.prefix)
        else:
            prefixes.add(event.prefix)
        self.dirty = True

    def _peer_up(self, peer_ip: str, _remote_as: int) -> None:
        """os-ken passes the peer's BGP identifier here, not its address (BGPSpeaker._notify_peer_up): with one
        device behind two lines, both sessions report the same router ID. The state poll finds which peer it was."""
        peer = self.peers.get(peer_ip)
        if peer is not None:
            peer.update(state="Established", established_at=time.time())
        self.dirty = True
        LOG.info("peer %s up", peer_ip)

    def _peer_down(self, peer_ip: str, _remote_as: int) -> None:
        peer = self.peers.setdefault(peer_ip, {"flaps": 0})
        peer.update(state="Idle", down_at=time.time(), flaps=peer.get("flaps", 0) + 1)
        self.received[peer_ip] = set()
        self.dirty = True
        LOG.info("peer %s down", peer_ip)

    # ----- the loop --------------------------------------------------------------------------

    def start(self) -> None:
        hub.sleep(SETTLE_BEFORE_NEIGHBORS_S)
        for peer in self.config["peers"]:
            self._add_neighbor(peer)
        self._advertise(self.config["networks"])
        with_bfd = [peer for peer in self.config["peers"] if peer.get("bfd")]
        if with_bfd:
            hub.spawn(self._bfd_loop, with_bfd)

    def _add_neighbor(self, peer: dict) -> None:
        password = peer.get("password")
        self.speaker.neighbor_add(peer["ip"], peer["remote_asn"], enable_ipv4=True,
                                  password=password.encode() if password else None)

    # ----- BFD (controllers/bfd.py): a session per peer with EnableBfd ---------------------------

    def _bfd_loop(self, peers: list[dict]) -> None:
        """Receive on UDP 3784 at the router's address, send from 49152 with TTL 255 (RFC 5881); a session that
        leaves Up drops its BGP neighbor, one that comes Up again brings it back."""
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind((self.config["router_id"], bfd.PORT))
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        sender.bind((self.config["router_id"], 49152))
        now = time.monotonic()
        sessions = {peer["ip"]: bfd.Session(index + 1, peer["bfd"]["min_tx_ms"], peer["bfd"]["min_rx_ms"],
                                            peer["bfd"]["multiplier"], now) for index, peer in enumerate(peers)}
        by_ip = {peer["ip"]: peer for peer in peers}
        dropped: set[str] = set()
        while True:
            # What the peer sent while this process was not running first: on a loaded machine the speaker can
            # wake later than its detection time, and the peer's packets waiting in the socket must not read as a
            # silent line.
            while select.select([receiver], [], [], 0)[0]:
                data, (ip, _port) = receiver.recvfrom(512)
                packet = bfd.Packet.decode(data)
                session = sessions.get(ip)
                if packet is not None and session is not None and packet.your_discriminator in (0, session.discriminator):
                    session.receive(packet, time.monotonic())
                    self._bfd_follow(ip, session, by_ip[ip], dropped)
            now = time.monotonic()
            for ip, session in sessions.items():
                packet = session.tick(now)
                if packet is not None:
                    try:
                        sender.sendto(packet.encode(), (ip, bfd.PORT))
                    except OSError as exc:
                        LOG.debug("BFD to %s: %s", ip, exc)
                self._bfd_follow(ip, session, by_ip[ip], dropped)
            wait = min(0.05, *(session.wait_s(time.monotonic()) for session in sessions.values()))
            select.select([receiver], [], [], wait)     # until a packet comes or the next timer is due

    def _bfd_follow(self, ip: str, session: bfd.Session, peer: dict, dropped: set[str]) -> None:
        """Carry the session's state changes into BGP and the state file."""
        if not session.changes:
            return
        changes, session.changes = session.changes, []
        record = self.peers.setdefault(ip, {"flaps": 0})
        for when, state in changes:
            LOG.info("BFD %s %s", ip, state)
            record["bfd"] = state
            record.setdefault("bfd_changes", []).append([time.time() - (time.monotonic() - when), state])
        # Only a detection timeout means the path is gone. A Down the peer sends is most often FRR starting its
        # session again (bgpd gives bfdd the session's local address once BGP is up): that is not a failure.
        if (session.state == bfd.DOWN and session.diag == bfd.DIAG_DETECTION_EXPIRED and ip not in dropped
                and any(state == "Down" for _when, state in changes)):
            dropped.add(ip)
            try:
                self.speaker.neighbor_del(ip)       # as BGP does when BFD says the peer is gone
            except Exception as exc:   # noqa: BLE001  (os-ken raises its own kinds; BFD must go on)
                LOG.warning("BFD: dropping BGP neighbor %s: %s", ip, exc)
            self._peer_down(ip, peer["remote_asn"])
        if session.state == bfd.UP and ip in dropped:
            dropped.discard(ip)
            try:
                self._add_neighbor(peer)
            except Exception as exc:   # noqa: BLE001
                LOG.warning("BFD: adding BGP neighbor %s back: %s", ip, exc)
        self.dirty = True

    def _advertise(self, networks: list[str]) -> None:
        for prefix in [p for p in self.advertised if p not in networks]:
            self.speaker.prefix_del(prefix)
        for prefix in [p for p in networks if p not in self.advertised]:
            self.speaker.prefix_add(prefix)
        self.advertised = list(networks)
        self.dirty = True

    def run(self) -> None:
        self.start()
        while True:
            hub.sleep(POLL_S)
            if self.reload_wanted:
                self.reload_wanted = False
                self.config = self._read_config()
                self._advertise(self.config["networks"])
            self._poll_states()
            if self.dirty:
                self.dirty = False
                self._write_state()

    def _poll_states(self) -> None:
        """Session states between up and down (Connect, Active, OpenSent) are only seen by asking."""
        try:
            raw = self.speaker.neighbor_state_get()
            states = json.loads(raw) if isinstance(raw, str) else raw
        except Exception as exc:   # the operator API answers with errors while a peer is being set up
            LOG.debug("neighbor state: %s", exc)
            return
        for ip, info in (states or {}).items():
            # os-ken's summary view: {ip: {"conf": ..., "info": {"bgp_state": ...}}}
            state = (info.get("info") or {}).get("bgp_state") if isinstance(info, dict) else None
            peer = self.peers.get(ip)
            if peer is not None and state and peer.get("state") != state:
                if state == "Established":
                    peer["established_at"] = time.time()
                peer["state"] = state
                self.dirty = True

    def _write_state(self) -> None:
        state = {"pid": os.getpid(), "updated": time.time(), "local_asn": self.config["local_asn"],
                 "peers": self.peers, "received": {ip: sorted(p) for ip, p in self.received.items()},
                 "advertised": self.advertised}
        write_json_atomically(self.state_path, state)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m controllers.bgp_speaker CONFIG STATE", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    speaker = Speaker(*argv)

    def reload(_signum, _frame) -> None:
        speaker.reload_wanted = True

    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGTERM, lambda _s, _f: os._exit(0))
    speaker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
