#!/usr/bin/env bash
# Install what the emulator needs, and only what is missing: Debian/Ubuntu packages,
# the virtualenv with the pinned Python dependencies, and a running Open vSwitch.
# Idempotent: a second call installs nothing. Used by `make install`, CI and the Vagrantfile.
set -euo pipefail
# Nothing here reads standard input; a closed one would hand descriptor 0 to ovs-vsctl's socket,
# which then aborts (assertion in poll_create_node). sudo asks for passwords on the terminal, not here.
exec </dev/null

cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

# mininet: mnexec; openvswitch-switch: the routers; iperf3/libiperf0: throughput;
# ethtool: offloads off for the userspace datapath; iproute2: ip/tc; iputils-ping: single pings (lab, tests);
# fping: the ping matrix (one process per source, all destinations at once); tcpdump: the VLAN capture test;
# python3-venv: the virtualenv; util-linux: unshare for capability probes; graphviz: `dot` draws the topology;
# chromium: the HTML report's test opens it in a real (headless) browser; frr: zebra and bgpd on the customer's
# access device in BGP scenarios (started by the emulator in the device's namespace, never as a system service);
# tmux: the lab's end-to-end test types into it and reads the screen, as a person would.
PACKAGES=(mininet openvswitch-switch iperf3 libiperf0 ethtool iproute2 iputils-ping fping tcpdump python3-venv
          util-linux procps graphviz chromium frr tmux)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install: Debian packages: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The virtualenv, reinstalled only when setup.cfg changed.
if [ ! -x "$VENV/bin/python" ]; then
    echo "install: virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-setup.cfg"
if [ ! -f "$stamp" ] || ! cmp -s setup.cfg "$stamp"; then
    echo "install: Python dependencies"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    cp setup.cfg "$stamp"
fi

# Open vSwitch: systemd where there is one, ovs-ctl otherwise (containers, CI).
if ! as_root ovs-vsctl --timeout=3 show >/dev/null 2>&1; then
    echo "install: starting Open vSwitch"
    if [ -d /run/systemd/system ]; then
        as_root systemctl start openvswitch-switch
    else
        as_root /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random
    fi
fi
