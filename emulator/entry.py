"""`python -m emulator` from any interpreter: hand over to the project's virtualenv, or say in one line what is missing.

The README's command is `sudo python -m emulator run ...`: sudo's PATH has no virtualenv, so `python` is
the system's, which lacks rich, pydantic and the rest. Before anything imports them (emulator.cli does),
this module re-executes the same command with the virtualenv's interpreter: same arguments, and the same
exit status, since exec replaces the process. It imports only the standard library for that reason.

Where the virtualenv is: $CLOUD_EMULATOR_VENV if set; else the path scripts/install.sh recorded in
.venv-location (`make install VENV=/opt/...`, as the Vagrant VM does); else .venv in the project root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
LOCATION_FILE = ROOT / ".venv-location"
VENV_VARIABLE = "CLOUD_EMULATOR_VENV"
HANDED_OVER = "CLOUD_EMULATOR_HANDED_OVER"   # set across the exec: a second hand-over would be a loop
EXIT_ENVIRONMENT = 3                         # cli.EXIT_ENVIRONMENT, which cannot be imported before the hand-over


def project_venv() -> Path:
    """The virtualenv this project runs in (see the module's docstring for the order)."""
    if os.environ.get(VENV_VARIABLE):
        return Path(os.environ[VENV_VARIABLE]).expanduser().absolute()
    try:
        recorded = ROOT / LOCATION_FILE.read_text().strip()
    except OSError:
        recorded = None
    if recorded and (recorded / "bin" / "python").exists():   # a shared folder may hold another machine's
        return recorded
    return ROOT / ".venv"


def _is_running_in(venv: Path) -> bool:
    return os.path.realpath(sys.prefix) == os.path.realpath(venv)


def hand_over(venv: Path) -> None:
    """Re-execute `python -m emulator ARGS` with venv's interpreter, unless this is it (or already was tried)."""
    if _is_running_in(venv):
        os.environ.pop(HANDED_OVER, None)   # a nested `python -m emulator` may hand over again
        return
    target = venv / "bin" / "python"
    if os.environ.get(HANDED_OVER) or not os.access(target, os.X_OK):
        return
    os.environ[HANDED_OVER] = str(target)
    try:
        os.execv(target, [str(target), "-m", "emulator", *sys.argv[1:]])
    except OSError as exc:
        _environment_problem(f"cannot start {target} ({exc.strerror})", venv)


def _environment_problem(what: str, venv: Path) -> NoReturn:
    if not (venv / "bin" / "python").exists():
        what += f" and there is no virtualenv at {venv}"
    print(f"python -m emulator: {what}: run `make install` in {ROOT}", file=sys.stderr)
    sys.exit(EXIT_ENVIRONMENT)


def main() -> int:
    venv = project_venv()
    hand_over(venv)
    try:
        from emulator import cli

        return cli.main()
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] in ("emulator", "controllers"):
            raise   # the project's own module: a bug, not the environment
        _environment_problem(f"{sys.executable} has no module '{exc.name}'", venv)
