"""The lab's live probe: the failover probe's echo stream, told as it happens, while the user cuts lines.

Each second: how many of the second's datagrams came back, their round trip, and which lines carried them
each way (tcpdump on each line's customer port, as the failover check reads them); each outage when it ends.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from emulator.checks.failover import PROBE_PORT, Sniffers, lines_carrying, parse_sniffed
from emulator.plan import Plan
from emulator.runtime.commands import exit_status, python_module, terminate

LIVE_PORT = PROBE_PORT + 50      # apart from the failover checks' ports (the lab's `check` may run those)
SERVER_SECONDS = 24 * 3600


class LiveProbe:
    def __init__(self, *, plan: Plan, spawn: Callable[[str, list[str]], subprocess.Popen], src: str, dst: str,
                 src_ip: str, dst_ip: str, src_in_idc: bool, interval_ms: int, say: Callable[[str], None],
                 folder: Path) -> None:
        self.src, self.dst, self.src_ip, self.src_in_idc, self.say = src, dst, src_ip, src_in_idc, say
        self.sniffers = Sniffers(plan, [LIVE_PORT], folder)
        self.offsets = {line: 0 for line in self.sniffers.files}
        self.server = self.client = None
        try:
            self.server = spawn(dst, python_module("emulator.checks.failover_probe", "server", str(LIVE_PORT),
                                                   str(SERVER_SECONDS)))
            time.sleep(0.3)    # the echo server binds, tcpdump listens
            self.client = spawn(src, python_module("emulator.checks.failover_probe", "live", dst_ip,
                                                   str(LIVE_PORT), str(interval_ms)))
        except BaseException:    # Ctrl-C during the start: the tcpdumps run in the host's namespace, stop them
            self._stop_processes()
            raise
        self.stopping = False
        self.started = time.monotonic()
        self.sent = self.answered = 0
        self.outages: list[dict] = []
        self.thread = threading.Thread(target=self._follow, daemon=True, name="live-probe")
        self.thread.start()

    def _follow(self) -> None:
        assert self.client.stdout is not None
        for text in self.client.stdout:
            try:
                message = json.loads(text)
            except ValueError:
                continue
            if "outage" in message:
                outage = message["outage"]
                self.outages.append(outage)
                self.say(f"probe {self.src} -> {self.dst}: outage of {outage['duration_s']:.2f} s "
                         f"({outage['lost']} probes lost) from {outage['start_s']:.1f} s, over")
                continue
            self.sent += message["sent"]
            self.answered += message["answered"]
            paths = lines_carrying(self._new_datagrams(), float("-inf"), float("inf"), self.src_in_idc)
            rtt = f", RTT {message['rtt_ms']:.1f} ms" if message["rtt_ms"] is not None else ""
            self.say(f"probe {message['t']:>4} s: {message['answered']:>3}/{message['sent']} answered{rtt}; "
                     f"to the IDC over {', '.join(paths['cloud_to_idc']) or '-'}, "
                     f"from it over {', '.join(paths['idc_to_cloud']) or '-'}")
        if self.stopping:
            return
        try:     # its processes run out of Ctrl-C's reach; if one ends anyway, it is said
            status = exit_status(self.client.wait(timeout=2))
        except subprocess.TimeoutExpired:
            status = "its output closed"
        self.say(f"probe {self.src} -> {self.dst}: the probe ended on its own ({status}); `probe stop` sums up "
                 "what it saw")

    def _stop_processes(self) -> None:
        terminate(self.client)
        terminate(self.server)
        self.sniffers.stop()

    def _new_datagrams(self) -> dict[str, list[tuple[float, bool]]]:
        """What each line's tcpdump printed since the last look."""
        seen = {}
        for line, path in self.sniffers.files.items():
            try:
                with open(path) as stream:
                    stream.seek(self.offsets[line])
                    text = stream.read()
            except OSError:
                continue
            complete = text[:text.rfind("\n") + 1]
            self.offsets[line] += len(complete)
            seen[line] = parse_sniffed(complete, self.src_ip)
        return seen

    def stop(self) -> str:
        """Stop the probe; a summary of what it saw."""
        self.stopping = True
        self._stop_processes()
        self.thread.join(timeout=5)
        lost = self.sent - self.answered
        outages = "; ".join(f"{o['duration_s']:.2f} s from {o['start_s']:.1f} s ({o['lost']} lost)"
                            for o in self.outages) or "none"
        return (f"probe {self.src} -> {self.dst} stopped after {time.monotonic() - self.started:.0f} s: "
                f"{self.sent} sent, {lost} unanswered; outages: {outages}")
