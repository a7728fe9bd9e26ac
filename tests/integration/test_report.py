"""The HTML report of a real run, opened in a real browser (Debian's headless Chromium), as a person would."""

import subprocess
from pathlib import Path

from emulator import runner, scenario, session
from emulator.report import html_report
from emulator.runtime import cleanup

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--enable-logging=stderr", "--v=0"]


def _chromium(page: Path, profile: Path, *action: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *action, page.as_uri()], capture_output=True,
                          text=True, timeout=120)


def _console_errors(stderr: str) -> list[str]:
    """Every console message (Chromium logs even console.error at INFO): the page has no script, so any is wrong."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "CONSOLE(" in line]


def test_the_report_opens_offline_in_chromium_with_every_node(tmp_path):
    probe = tmp_path / "probe.html"          # the detector itself must see a console error when there is one
    probe.write_text('<!DOCTYPE html><html><body><script>console.error("broken on purpose")</script></body></html>')
    assert _console_errors(_chromium(probe, tmp_path / "profile0", "--dump-dom").stderr)

    prepared = session.prepare(scenario.load("multi_vpc_leased_line"))
    outcome = runner.execute(prepared, artifacts=tmp_path / "artifacts", capture=["pc-AAA"])
    page = html_report.write(outcome, tmp_path / "report")
    dom = _chromium(page, tmp_path / "profile1", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    assert "all 9 checks passed" in dom.stdout and "<svg" in dom.stdout
    for node_id in prepared.network.nodes:
        if not node_id.endswith("@ap"):
            assert node_id in dom.stdout, node_id
    assert "access point Beijing-Daxing-A" in dom.stdout and "NO_ROUTE" in dom.stdout
    shot = tmp_path / "report.png"
    picture = _chromium(page, tmp_path / "profile2", "--window-size=1600,2600", f"--screenshot={shot}")
    assert picture.returncode == 0 and shot.stat().st_size > 50_000, picture.stderr[-2000:]
    print(f"screenshot of the report: {shot}")
    assert cleanup.leftovers().empty()
