"""The pure core never imports the runtime's tools: it must run without root, in milliseconds."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = ["emulator.yaml_source", "emulator.schema", "emulator.scenario", "emulator.cloud.control_plane",
                "emulator.routing.topology", "emulator.routing.reachability", "emulator.plan", "controllers.flows"]
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
