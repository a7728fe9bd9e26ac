"""A provider with its own role names goes through validate, plan, explain and graph (issue 20: its roles were
dictionary keys in plan.py and report/graph.py, and make_plan ended in a KeyError traceback)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from tests.unit.third_provider import register
register()
from emulator import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_a_third_provider_with_its_own_role_names_validates_plans_explains_and_draws(tmp_path):
    text = (ROOT / "scenarios" / "vpc_peering.yaml").read_text().replace("provider: jdcloud", "provider: examplecloud")
    scenario = tmp_path / "third.yaml"
    scenario.write_text(text)
    validated = _cli("validate", str(scenario))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    planned = _cli("plan", str(scenario))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "Cloud router" in planned.stdout and "Droplet" in planned.stdout and "Traceback" not in planned.stderr
    explained = _cli("explain", str(scenario), "i-a", "i-b")
    assert explained.returncode == 0 and "REACHABLE" in explained.stdout, explained.stdout + explained.stderr
    picture = tmp_path / "third.svg"
    drawn = _cli("graph", str(scenario), "-o", str(picture))
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    svg = picture.read_text()
    assert "Droplet 10.10.1.10" in svg and "Cloud router of VPC&#45;A (cert1)" in svg     # its words, its names
