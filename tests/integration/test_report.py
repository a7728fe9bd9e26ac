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



def _measure(page: Path, profile: Path, width: int, expression: str) -> str:
    """A JavaScript `expression` over the page's document `d` (its root element `e`), evaluated in Chromium with
    the page in a `width`-px viewport. Headless Chromium keeps its window at least about 500 px wide, so the page
    is measured in an iframe of that width (a phone at 390)."""
    host = page.with_name(f"in-{width}px.html")
    host.write_text(f'<!DOCTYPE html><html><head><title>-</title></head><body style="margin:0">'
                    f'<iframe id="f" src="{page.name}" style="width:{width}px;height:900px;border:0"></iframe><script>'
                    "document.getElementById('f').onload = function () { var d = this.contentDocument;"
                    f" var e = d.documentElement; document.title = 'measured=' + ({expression}); }};</script></body>"
                    "</html>")
    dom = _chromium(host, profile, "--allow-file-access-from-files", "--window-size=1600,1000",
                    "--virtual-time-budget=5000", "--dump-dom")
    assert dom.returncode == 0 and "measured=" in dom.stdout, dom.stderr[-2000:]
    return dom.stdout.split("<title>measured=", 1)[1].split("<", 1)[0]


def _overflow_px(page: Path, profile: Path, width: int) -> int:
    """How far the page is wider than a `width`-px viewport (0: it fits)."""
    return int(_measure(page, profile, width, "e.scrollWidth - e.clientWidth"))


def _sample_report(tmp_path: Path) -> Path:
    """The unit tests' sample outcome (no network) written as a report: the page a phone or a laptop opens."""
    import yaml

    from tests.unit.test_html_report import _outcome

    def write_scenario(data, name="scenario.yaml"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return html_report.write(_outcome(write_scenario, "Leased line lab"), tmp_path / "report")


def test_the_report_fits_a_phone_and_a_laptop_without_scrolling_sideways(tmp_path):
    """Issue 25, section 5: with no viewport tag, a long path and wide tables, a 390 px phone scrolled the whole
    page sideways (123 px before this test); now each wide table scrolls on its own."""
    page = _sample_report(tmp_path)
    for width in (390, 1280):
        assert _overflow_px(page, tmp_path / f"profile-{width}", width) == 0, width


def test_the_topology_is_readable_on_a_laptop_and_a_phone_and_opens_alone(tmp_path):
    """Issue 25, section 5: scaled into the page's width the node text was about 8 px at 1280 px and 3 px on a
    phone, with no way to open the picture full size. Measured as a person sees it: the rendered height of a
    node's text, the verdict within the first screen, the picture's own file."""
    page = _sample_report(tmp_path)
    for width in (390, 1280):
        text_px = float(_measure(page, tmp_path / f"text-{width}", width,
                                 "d.querySelector('#topology svg g.node text').getBoundingClientRect().height"))
        assert text_px >= 11, (width, text_px)
        verdict_bottom = float(_measure(page, tmp_path / f"verdict-{width}", width,
                                        "d.getElementById('verdict').getBoundingClientRect().bottom"))
        assert 0 < verdict_bottom < 900, (width, verdict_bottom)        # within the first screen
    alone = page.with_name("topology.svg")
    assert alone.read_bytes().lstrip().startswith(b"<?xml") and b"<svg" in alone.read_bytes()
    dom = _chromium(alone, tmp_path / "profile-svg", "--dump-dom")
    assert dom.returncode == 0 and "vrt-12345678" in dom.stdout, dom.stderr[-2000:]
