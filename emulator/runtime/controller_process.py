"""The os-ken controller as a child process: started, awaited and stopped by the runtime.

os-ken's run_apps blocks, so it runs as its own process (python -m controllers),
with its log kept beside the run's other artefacts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from emulator.errors import RuntimeFailure

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ControllerProcess:
    def __init__(self, plan_path: Path, log_path: Path, port: int) -> None:
        self.plan_path = plan_path
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "controllers", "--plan", str(self.plan_path), "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeFailure(f"the controller exited at start ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeFailure(f"the controller did not listen on port {self.port} within {START_TIMEOUT_S:.0f} s:\n"
                             f"{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no controller log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
