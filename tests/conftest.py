"""Shared fixtures: the reference scenario, and a way to load edited copies of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator import scenario as scenario_module
from emulator.stdin import ensure_stdin_open

ensure_stdin_open()   # CI may run the suite with standard input closed

REFERENCE = scenario_module.SCENARIO_DIR / "multi_vpc_leased_line.yaml"


@pytest.fixture
def reference_text() -> str:
    return REFERENCE.read_text()


@pytest.fixture
def reference_data() -> dict:
    return yaml.safe_load(REFERENCE.read_text())


@pytest.fixture
def write_scenario(tmp_path: Path):
    """Write YAML text (or a data structure) to a file and return its path."""

    def write(content, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    return write


@pytest.fixture
def call(capsys, monkeypatch):
    """Run the CLI in this process (`cli.main(argv)`); return (exit code, stdout, stderr)."""
    from emulator import cli

    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
