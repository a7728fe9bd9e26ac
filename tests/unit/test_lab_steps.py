"""The lab's `steps` command as printed (issue 25, section 2: rich took the [done] and [next] marks for markup
tags, so only `[    ]` survived)."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from emulator import scenario
from emulator.lab_shell import LabShell


def test_steps_shows_done_next_and_the_titles_as_written():
    loaded = scenario.load("multi_vpc_leased_line", until_step=2)
    shell = object.__new__(LabShell)          # `steps` reads only the scenario: no network needed
    shell.lab = SimpleNamespace(prepared=SimpleNamespace(scenario=loaded))
    shell.console = Console(record=True, width=100, color_system=None)
    shell.do_steps("")
    lines = shell.console.export_text().splitlines()
    titles = loaded.step_titles()
    assert lines[0] == f"  [done] 1. {titles[0]}" and lines[1] == f"  [done] 2. {titles[1]}"
    assert lines[2] == f"  [next] 3. {titles[2]}" and lines[3].startswith("  [    ] 4. ")
