"""`sudo python -m emulator ...` as typed: any interpreter hands over to the project's virtualenv (emulator/entry.py).

sudo runs commands with its own PATH and no virtualenv on it, so `python` is Debian's (python-is-python3,
installed by scripts/install.sh), which lacks the dependencies. These tests run the command the way sudo
does, with `env -i` and a system PATH, without root.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from emulator import cli, entry

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"   # what sudo's secure_path leaves of a user's PATH here
SYSTEM_PYTHON = "/usr/bin/python3"


def _run(*argv: str, **variables: str) -> subprocess.CompletedProcess:
    environment = [f"{name}={value}" for name, value in {"PATH": SYSTEM_PATH, **variables}.items()]
    return subprocess.run(["env", "-i", *environment, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def system_python() -> str:
    found = shutil.which("python", path=SYSTEM_PATH)
    assert found, "no `python` on the system PATH: run scripts/install.sh (it installs python-is-python3)"
    return found


def test_python_as_sudo_runs_it_validates_the_reference(system_python):
    result = _run("python", "-m", "emulator", "validate", "multi_vpc_leased_line")
    assert result.returncode == 0, result.stderr
    assert "multi_vpc_leased_line.yaml: valid (" in result.stdout and result.stderr == ""


@pytest.mark.parametrize("argv, status", [
    (["explain", "multi_vpc_leased_line", "i-vpca-1", "i-vpcb-1"], 1),   # VPC-A -> VPC-B: unreachable
    (["validate", "nonexistent_scenario"], 2),
])
def test_the_handed_over_command_has_the_virtualenvs_status_and_output(system_python, argv, status):
    venv_python = str(entry.project_venv() / "bin" / "python")
    direct = _run(venv_python, "-m", "emulator", *argv)
    handed_over = _run("python", "-m", "emulator", *argv)
    assert direct.returncode == status, direct.stderr
    assert (handed_over.returncode, handed_over.stdout, handed_over.stderr) == \
        (direct.returncode, direct.stdout, direct.stderr)


def _assert_one_line_environment_problem(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == entry.EXIT_ENVIRONMENT, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "make install" in result.stderr, result.stderr


def test_without_a_virtualenv_one_line_says_to_run_make_install(tmp_path):
    # -S: no site-packages, so the interpreter lacks the dependencies whatever the system has installed
    result = _run(SYSTEM_PYTHON, "-S", "-m", "emulator", "validate", "multi_vpc_leased_line",
                  CLOUD_EMULATOR_VENV=str(tmp_path / "missing"))
    _assert_one_line_environment_problem(result)
    assert str(tmp_path / "missing") in result.stderr and str(ROOT) in result.stderr


def test_a_virtualenv_that_is_not_one_is_tried_once_not_in_a_loop(tmp_path):
    """Its interpreter's sys.prefix is never the virtualenv: the marker stops a second hand-over."""
    python, starts = tmp_path / "bin" / "python", tmp_path / "starts"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\necho started >> {starts}\nexec {SYSTEM_PYTHON} -S "$@"\n')
    python.chmod(0o755)
    result = _run(SYSTEM_PYTHON, "-S", "-m", "emulator", "validate", "multi_vpc_leased_line",
                  CLOUD_EMULATOR_VENV=str(tmp_path))
    _assert_one_line_environment_problem(result)
    assert starts.read_text().splitlines() == ["started"]


def test_the_virtualenv_is_the_variable_then_the_recorded_one_then_dot_venv(tmp_path, monkeypatch):
    recorded = tmp_path / "recorded"
    (recorded / "bin").mkdir(parents=True)
    (recorded / "bin" / "python").touch()
    location = tmp_path / ".venv-location"
    monkeypatch.setattr(entry, "LOCATION_FILE", location)
    monkeypatch.delenv(entry.VENV_VARIABLE, raising=False)
    assert entry.project_venv() == ROOT / ".venv"          # nothing recorded
    location.write_text(f"{recorded}\n")
    assert entry.project_venv() == recorded
    location.write_text(f"{tmp_path / 'elsewhere'}\n")     # another machine's path (a shared folder)
    assert entry.project_venv() == ROOT / ".venv"
    monkeypatch.setenv(entry.VENV_VARIABLE, str(tmp_path / "chosen"))
    assert entry.project_venv() == tmp_path / "chosen"


def test_the_exit_status_is_the_clis():
    assert entry.EXIT_ENVIRONMENT == cli.EXIT_ENVIRONMENT
