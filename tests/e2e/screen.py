"""The terminal a person types into, for end-to-end tests of the lab: a tmux session, its keys and its screen."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

from emulator.runtime import cleanup


def poll(condition, seconds: float, step: float = 0.1) -> bool:
    """Ask `condition` every `step` s until it holds or `seconds` pass (then once more): what a person does who
    looks again, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def loose(pattern: str) -> str:
    """A regular expression whose single spaces match any white space: rich wraps long lines between words."""
    return re.sub(r"(?<! ) (?![ +*?])", r"\\s+", pattern)


class Screen:
    """A tmux session running one command: type lines, read what the terminal shows."""

    def __init__(self, command: str, cwd: str, width: int = 200, height: int = 50) -> None:
        self.name = f"lab-{uuid.uuid4().hex[:8]}"
        self.seen = 0
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), "-c", cwd,
                        command], check=True)

    def type(self, line: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, line, "Enter"], check=True)

    def press(self, key: str) -> None:
        """One key as tmux names it: `C-c` is Ctrl-C, which the terminal turns into SIGINT for its foreground
        process group, as it does for a person."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)

    def text(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p", "-J", "-S", "-5000"], capture_output=True,
                              text=True).stdout

    def rows(self) -> list[str]:
        """The screen's rows as the terminal shows them: a line the terminal wrapped is two rows here."""
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p", "-S", "-5000"], capture_output=True,
                              text=True).stdout.splitlines()

    def wait_for(self, pattern: str, seconds: float) -> re.Match:
        """The first match of `pattern` in what appeared since the last match (so a later state is not read off
        earlier lines)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.text(), self.seen)
            if found:
                # Not past the match's trailing white space: the line being typed is padded with spaces to the
                # terminal's width (prompt_toolkit draws it whole), and the padding goes once a command is typed.
                self.seen = found.start() + len(found.group(0).rstrip())
                return found
            time.sleep(0.5)
        raise AssertionError(f"{pattern!r} did not appear within {seconds} s; the screen:\n{self.text()[-3000:]}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        """Kill the session (the lab gets SIGHUP and tears down) and wait until nothing is left behind."""
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        deadline = time.monotonic() + 60
        while not cleanup.leftovers().empty() and time.monotonic() < deadline:
            time.sleep(0.5)

    def wait_closed(self, seconds: float) -> None:
        """Until the command has ended (after `exit`) and tmux closed its session."""
        deadline = time.monotonic() + seconds
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not self.alive(), self.text()[-2000:]
