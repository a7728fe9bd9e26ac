"""scripts/install.sh keeps the README's promise: a second call installs nothing (and runs no apt)."""

import os
import re
import subprocess
from pathlib import Path

from emulator import entry

ROOT = Path(__file__).resolve().parents[2]
LISTS = {kind: ROOT / "scripts" / f"packages-{kind}.txt" for kind in ("run", "test")}


def _packages(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def test_a_second_call_installs_nothing():
    """This machine is installed (the suite runs after `make test`); Open vSwitch is left alone here."""
    venv = entry.project_venv()
    assert (venv / "bin" / "python").exists(), f"no virtualenv at {venv}: run `make install-test`"
    result = subprocess.run(["scripts/install.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "VENV": str(venv), "INSTALL_START_OVS": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"^install", result.stdout + result.stderr, re.MULTILINE), result.stdout + result.stderr


def test_each_package_is_listed_once_with_the_reason_beside_it():
    """`name   # why`, one a line: the VM image builder reads these files too."""
    for path in LISTS.values():
        for line in path.read_text().splitlines():
            name = line.split("#")[0].strip()
            assert not name or (re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", name) and "#" in line), f"{path.name}: {line!r}"
    run, test = (_packages(path) for path in LISTS.values())
    assert len(set(run)) == len(run) and len(set(test)) == len(test) and not set(run) & set(test)
    assert {"tcpdump", "python-is-python3"} <= set(run) and {"chromium", "tmux"} <= set(test)
