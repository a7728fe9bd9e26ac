"""Shared fixtures: the reference scenario, and a way to load edited copies of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from emulator import scenario as scenario_module
from emulator.stdin import ensure_stdin_open

ensure_stdin_open()   # CI may run the suite with standard input closed

# Property tests: the same examples on every run (a property that fails only on some seeds would be a flaky test,
# which blocks landing here) and no example database written into the checkout. For a longer random search by
# hand: HYPOTHESIS_PROFILE=explore make unit; a failure it finds prints its @example to keep as a regression.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, max_examples=2000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
# Hypothesis also caches constants it collects from the source files; in the temporary directory, not the checkout.
HYPOTHESIS_HOME = Path(tempfile.gettempdir()) / f"cloud-emulator-hypothesis-{os.getuid()}"
set_hypothesis_home_dir(HYPOTHESIS_HOME)

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
