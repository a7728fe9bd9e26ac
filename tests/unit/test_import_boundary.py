"""The pure core never imports the runtime's tools: it must run without root, in milliseconds."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = ["emulator.yaml_source", "emulator.schema", "emulator.scenario", "emulator.cloud.control_plane",
                "emulator.routing.topology", "emulator.routing.reachability", "emulator.plan", "controllers.flows",
                "emulator.session", "emulator.capabilities", "emulator.checks.results", "emulator.report.terminal",
                "emulator.report.json_report", "emulator.captures"]
FORBIDDEN = ("mininet", "os_ken", "scapy", "iperf3", "subprocess", "socket")


def test_pure_modules_do_not_import_runtime_tools():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in PURE_MODULES) +
            "print(','.join(sorted(m for m in ('mininet', 'os_ken', 'scapy', 'iperf3') if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == ""


def test_pure_sources_import_no_process_or_socket_modules():
    for module in PURE_MODULES:
        source = ROOT / (module.replace(".", "/") + ".py")
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{module} imports {name}"


def test_the_pure_verbs_never_load_the_runtime():
    """validate, plan and explain render data: neither the orchestrator nor any runtime module is imported."""
    code = ("import sys\nfrom emulator import cli\n"
            "for argv in (['validate', 'multi_vpc_leased_line'], ['plan', 'multi_vpc_leased_line'],\n"
            "             ['explain', 'multi_vpc_leased_line', 'i-vpca-1', 'i-vpcb-1']):\n"
            "    cli.main(argv)\n"
            "loaded = [m for m in sys.modules if m == 'emulator.runner' or m.startswith('emulator.runtime')\n"
            "          or m.split('.')[0] in ('mininet', 'os_ken', 'scapy', 'iperf3')]\n"
            "print('LOADED=' + ','.join(sorted(loaded)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "LOADED=\n" in result.stdout, result.stdout[-500:] + result.stderr[-2000:]
