"""The Vagrantfile is valid, brings up the distribution the VM lane tests, and provisions as the lane does."""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAGRANTFILE = (ROOT / "Vagrantfile").read_text()


def test_vagrant_validates_the_vagrantfile(tmp_path):
    # No provider (VirtualBox, libvirt) is needed to check the file itself; the two paths keep ~ and the checkout clean.
    result = subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "VAGRANT_HOME": str(tmp_path / "home"),
                                                  "VAGRANT_DOTFILE_PATH": str(tmp_path / "dot"), "VAGRANT_CHECKPOINT_DISABLE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout


def test_the_box_is_the_distribution_the_vm_lane_builds_and_tests():
    assert re.search(r'config\.vm\.box = "debian/bookworm64"', VAGRANTFILE)
    build = (ROOT / "scripts" / "vm" / "build-image.sh").read_text()
    assert "bookworm" in build and "linux-image-amd64" in build


def test_the_provisioning_is_the_script_the_vm_lane_runs():
    assert re.search(r'provision "shell".*inline: "bash /vagrant/scripts/provision\.sh /vagrant"', VAGRANTFILE)
    assert "scripts/provision.sh" in (ROOT / "scripts" / "vm" / "build-image.sh").read_text()
    assert "scripts/provision.sh" in (ROOT / "tests" / "vm" / "test_stock_kernel.py").read_text()
