#!/usr/bin/env bash
# Install what the emulator needs, and only what is missing: Debian packages, the virtualenv with the
# pinned Python dependencies, and a running Open vSwitch. Idempotent: a second call installs nothing.
# Used by `make install` (running), `make install-test` (`--test`), CI (`make test`) and the VM provisioning.
#   scripts/install.sh           what running and the lab need: scripts/packages-run.txt, `pip install -e .`
#   scripts/install.sh --test    that, and what only the tests need: scripts/packages-test.txt, `-e .[test]`
#   VENV=DIR (default .venv)     the virtualenv; its absolute path is recorded in .venv-location, where
#                                `python -m emulator` run by another interpreter (sudo's) finds it
#   PYTHON=python3               the interpreter that creates the virtualenv
#   INSTALL_START_OVS=0          install without starting Open vSwitch (an image build in a chroot, where
#                                starting the daemon would start it on the host)
# Tested on Debian 12. Ubuntu 22.04/24.04 are untested; on 24.04 the test package `chromium` is only a
# virtual package (the snap's chromium-browser provides it), and this script stops there saying so.
set -euo pipefail
# Nothing here reads standard input; a closed one would hand descriptor 0 to ovs-vsctl's socket,
# which then aborts (assertion in poll_create_node). sudo asks for passwords on the terminal, not here.
exec </dev/null

cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
INSTALL_START_OVS="${INSTALL_START_OVS:-1}"

lists=(scripts/packages-run.txt)
extra=""
case "${1:-}" in
    "") ;;
    --test) lists+=(scripts/packages-test.txt); extra="[test]" ;;
    *) echo "usage: scripts/install.sh [--test]" >&2; exit 2 ;;
esac

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The lists say why each package is there: `name   # why`, one a line.
mapfile -t PACKAGES < <(awk '{ sub(/#.*/, "") } NF { print $1 }' "${lists[@]}")
missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install: Debian packages: ${missing[*]}"
    as_root apt-get update -q
    # A name with no candidate (purely virtual, or not in this archive) would never show as installed,
    # and every later call would run apt again: stop and name it.
    for pkg in "${missing[@]}"; do
        policy="$(LC_ALL=C apt-cache policy "$pkg" 2>/dev/null)"   # not piped: grep -q would cut it short
        if ! grep -q "Candidate: [^(]" <<<"$policy"; then
            distro="$(. /etc/os-release && echo "${PRETTY_NAME:-$ID}")"
            echo "install.sh: $pkg is not an installable package on $distro (no candidate: virtual or absent);" \
                 "see scripts/packages-*.txt for what needs it (Debian 12 is the tested platform)" >&2
            exit 1
        fi
    done
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "install: virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
location="$(cd "$VENV" && pwd -P)"
if [ "$(cat .venv-location 2>/dev/null)" != "$location" ]; then
    echo "$location" > .venv-location   # read by emulator/entry.py
fi

# The Python dependencies, reinstalled only when setup.cfg changed. The test stamp covers the run's too,
# so `make run` after `make test` installs nothing.
run_stamp="$VENV/.installed-run.setup.cfg"
test_stamp="$VENV/.installed-test.setup.cfg"
current() { [ -f "$1" ] && cmp -s setup.cfg "$1"; }
if [ -n "$extra" ]; then stamp="$test_stamp"; else stamp="$run_stamp"; fi
if ! current "$stamp" && ! current "$test_stamp"; then
    echo "install: Python dependencies (pip install -e .$extra)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".$extra"
    cp setup.cfg "$stamp"
    cp setup.cfg "$run_stamp"
fi

# Open vSwitch: systemd where there is one, ovs-ctl otherwise (containers, CI).
if [ "$INSTALL_START_OVS" != 0 ] && ! as_root ovs-vsctl --timeout=3 show >/dev/null 2>&1; then
    echo "install: starting Open vSwitch"
    if [ -d /run/systemd/system ]; then
        as_root systemctl start openvswitch-switch
    else
        as_root /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random
    fi
fi
