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

from os_ken.services.protocols.bgp.bgpspeaker import BGPSpeaker  # noqa: E402

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
        peer = self.peers.setdefault(peer_ip, {"flaps": 0})
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
            password = peer.get("password")
            self.speaker.neighbor_add(peer["ip"], peer["remote_asn"], enable_ipv4=True,
                                      password=password.encode() if password else None)
        self._advertise(self.config["networks"])

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
            state = info.get("bgp_state") if isinstance(info, dict) else None
            peer = self.peers.get(ip)
            if peer is not None and state and peer.get("state") != state:
                peer["state"] = state
                self.dirty = True

    def _write_state(self) -> None:
        state = {"pid": os.getpid(), "updated": time.time(), "local_asn": self.config["local_asn"],
                 "peers": self.peers, "received": {ip: sorted(p) for ip, p in self.received.items()},
                 "advertised": self.advertised}
        temporary = f"{self.state_path}.tmp"
        with open(temporary, "w") as out:
            json.dump(state, out)
        os.replace(temporary, self.state_path)


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
