"""How much the userspace delay line forwards on this machine: measured once per boot, kept in the state directory.

A throwaway network namespace (`unshare --net`, gone when the measurement
ends, so nothing is left to clean) holds two veth pairs with a delay line
(no delay) between them; a sender floods one end with frames through an
AF_PACKET socket for a fixed time and a receiver counts what comes out of the
other. Small frames give the packet rate, full-size frames the bit rate. The
sender, the delay line and the receiver share the machine's cores, as a run's
traffic and delay lines do. `python -m emulator.runtime.calibration` prints it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from emulator.runtime.commands import run, spawn

VERSION = 1                 # of the delay line and this measurement: a new one measures again
PHASE_S = 1.0
SMALL_FRAME, FULL_FRAME = 64, 1514
ETH_P_ALL = 0x0003
# Locally administered MACs and an experimental EtherType: frames nobody in the namespace answers.
FRAME_HEAD = bytes.fromhex("02000000000b" "02000000000a" "88b5")


def ceiling(state_dir: Path) -> dict:
    """The delay line's ceiling on this machine (cached per boot in `state_dir`)."""
    cache = state_dir / "delay-line-ceiling.json"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("version") == VERSION:
            return {**cached, "cached": True}
    except (OSError, ValueError):
        pass
    result = run(["unshare", "--net", "--", sys.executable, "-m", "emulator.runtime.calibration", "--inside"],
                 check=False, timeout=60)
    try:
        measured = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (result.stderr or "no output").strip()[-300:]}
    measured = {**measured, "version": VERSION, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(measured))
    except OSError:
        pass
    return {**measured, "cached": False}


def _flood(interface: str, size: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, 0))
    frame = FRAME_HEAD + bytes(size - len(FRAME_HEAD))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(64):
            try:
                sock.send(frame)
            except OSError:       # a full queue: the sender is ahead, which is the point
                pass


def _count(interface: str, seconds: float) -> tuple[int, int]:
    """Frames and bytes of the flood that come out during `seconds` from the first one (the sender's start-up
    is not counted)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, ETH_P_ALL))
    sock.settimeout(0.2)
    frames = octets = 0
    deadline = time.monotonic() + 5.0          # until the first frame; then `seconds` from it
    started = False
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65535)
        except TimeoutError:
            continue
        if data[12:14] == FRAME_HEAD[12:14]:
            if not started:
                started, deadline = True, time.monotonic() + seconds
            frames += 1
            octets += len(data)
    return frames, octets


def _inside() -> dict:
    """Run in the throwaway namespace: veths, the delay line, then two flood phases."""
    commands = ("link add cal-a type veth peer name cal-m0\nlink add cal-m1 type veth peer name cal-b\n"
                "link set cal-a up\nlink set cal-m0 up\nlink set cal-m1 up\nlink set cal-b up\n")
    run(["ip", "-batch", "-"], stdin=commands)
    for interface in ("cal-a", "cal-m0", "cal-m1", "cal-b"):
        run(["ethtool", "-K", interface, "rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro", "off"],
            check=False)
    params = Path("/tmp") / f"cal-{time.monotonic_ns()}.json"
    params.write_text(json.dumps({"latency_ms": 0}))
    line = spawn([sys.executable, "-m", "emulator.runtime.delay_line", "--a", "cal-m0", "--b", "cal-m1",
                  "--params", str(params)], stdout=subprocess.PIPE, text=True)
    try:
        line.stdout.readline()                               # "ready"
        figures = {}
        for size, key in ((SMALL_FRAME, "small"), (FULL_FRAME, "full")):
            sender = spawn([sys.executable, "-c", f"from emulator.runtime.calibration import _flood; "
                                                  f"_flood('cal-a', {size}, {PHASE_S + 1.0})"])
            frames, octets = _count("cal-b", PHASE_S)
            sender.wait(timeout=10)
            figures[key] = (frames / PHASE_S, octets * 8 / PHASE_S / 1e6)
    finally:
        line.terminate()
        line.wait(timeout=10)
        params.unlink(missing_ok=True)
    return {"pps_64_byte_frames": round(figures["small"][0]), "mbps_1514_byte_frames": round(figures["full"][1], 1),
            "pps_1514_byte_frames": round(figures["full"][0])}


if __name__ == "__main__":
    if "--inside" in sys.argv:
        print(json.dumps(_inside()))
    else:
        print(json.dumps(ceiling(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/run/cloud-emulator"))))
