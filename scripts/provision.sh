#!/usr/bin/env bash
# Provision a teaching-lab VM: what the Vagrantfile runs, and what the VM lane (scripts/vm/) runs in its image
# at build time and again in the booted guest. One script, so that the lane tests the users' provisioning.
#   scripts/provision.sh [PROJECT_DIR]     PROJECT_DIR defaults to this script's project (/vagrant in the VM)
# The virtualenv lives outside the shared folder, which may not allow symlinks: /opt/cloud-emulator-venv.
# INSTALL_START_OVS=0 (image build, in a chroot) installs without starting Open vSwitch.
set -euo pipefail
exec </dev/null
project="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
export VENV="${VENV:-/opt/cloud-emulator-venv}"

# make is the only thing the install step needs that a minimal box may lack.
if ! command -v make >/dev/null 2>&1; then
    echo "provision: Debian package make"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make
fi
make -C "$project" install VENV="$VENV"
