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
                 src_ip: str, dst_ip: str, src_in_idc: bool, dst_in_idc: bool, interval_ms: int,
                 say: Callable[[str], None], folder: Path) -> None:
        self.src, self.dst, self.src_ip, self.src_in_idc, self.say = src, dst, src_ip, src_in_idc, say
        self.crosses_lines = src_in_idc != dst_in_idc       # a pair of VPCs (or of IDC servers) uses no line
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
                if self.stopping:        # said once more by the summary
                    continue
                self.say(f"probe {self.src} -> {self.dst}: an outage ended: {outage['duration_s']:.2f} s from "
                         f"{outage['start_s']:.1f} s, {outage['lost']} probes lost")
                continue
            self.sent += message["sent"]
            self.answered += message["answered"]
            self.say(self._second(message))
        if self.stopping:
            return
        try:     # its processes run out of Ctrl-C's reach; if one ends anyway, it is said
            status = exit_status(self.client.wait(timeout=2))
        except subprocess.TimeoutExpired:
            status = "its output closed"
        self.say(f"probe {self.src} -> {self.dst}: the probe ended on its own ({status}); `probe stop` sums up "
                 "what it saw")

    def _second(self, message: dict) -> str:
        """One second of the probe: answers, round trip, and the lines each way when the pair crosses them."""
        rtt = f", RTT {message['rtt_ms']:.1f} ms" if message["rtt_ms"] is not None else ""
        said = f"probe {message['t']:>4} s: {message['answered']:>3}/{message['sent']} answered{rtt}"
        if not self.crosses_lines:
            return said
        paths = lines_carrying(self._new_datagrams(), float("-inf"), float("inf"), self.src_in_idc)
        return (f"{said}; to the IDC over {', '.join(paths['cloud_to_idc']) or 'no line'}, "
                f"from it over {', '.join(paths['idc_to_cloud']) or 'no line'}")

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
        return (f"probe {self.src} -> {self.dst} stopped after {time.monotonic() - self.started:.0f} s: "
                + summary(self.sent, self.answered, self.outages))


def summary(sent: int, answered: int, outages: list[dict]) -> str:
    """What a stopped probe saw: an outage still going on, or no answer at all, is said as such."""
    said = f"{sent} sent, {sent - answered} unanswered; "
    if sent and not answered:
        return said + "no probe was answered"
    told = [f"{o['duration_s']:.2f} s from {o['start_s']:.1f} s ({o['lost']} lost"
            + (", still going on)" if o.get("ongoing") else ")") for o in outages]
    return said + "outages: " + ("; ".join(told) or "none")
