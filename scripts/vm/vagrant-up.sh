#!/usr/bin/env bash
# The real `vagrant up` of the project's Vagrantfile, on libvirt with QEMU, with a box built from the VM lane's
# image under the Vagrantfile's box name (debian/bookworm64), then the card's command through `vagrant ssh -c`.
# libvirtd runs inside a network namespace of the project's (cevagrant): its NAT network, its DHCP server and
# the VM's address exist only there, and vagrant runs there too. Everything lives in VAGRANT_WORK and is
# removed at the end (vagrant destroy, libvirtd stopped, the namespace deleted).
#   scripts/vm/vagrant-up.sh        needs vagrant, vagrant-libvirt, libvirt-daemon-system (installed if missing)
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/../.."
project=$(pwd)
work="${VAGRANT_WORK:-/var/tmp/cloud-emulator-vagrant}"
ns=cevagrant

missing=()
for pkg in vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu dnsmasq-base qemu-utils iptables; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    # No service starts from the packages: libvirtd is started below, in the namespace, and stopped after.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    rm -f /usr/sbin/policy-rc.d
fi

image=$(scripts/vm/build-image.sh | tail -1)
rm -rf "$work" && mkdir -p "$work/box" "$work/home" "$work/run"

# What vagrant-libvirt leaves in libvirt's own places: the box uploaded to the storage pool, and the pool's
# definition where this script's run created it.
pool_was_defined=$([ -e /etc/libvirt/storage/default.xml ] && echo 1 || echo 0)
cleanup() {
    set +e
    if [ -d "$work/project" ]; then
        (cd "$work/project" && ip netns exec "$ns" env VAGRANT_HOME="$work/home" vagrant destroy -f >/dev/null 2>&1)
    fi
    virsh -c qemu:///system vol-list default 2>/dev/null | awk '/bookworm64_vagrant_box_image/ {print $1}' |
        while read -r volume; do virsh -c qemu:///system vol-delete --pool default "$volume" >/dev/null; done
    if [ "$pool_was_defined" = 0 ]; then
        virsh -c qemu:///system pool-destroy default >/dev/null 2>&1
        virsh -c qemu:///system pool-undefine default >/dev/null 2>&1
    fi
    [ -f "$work/run/libvirtd.pid" ] && kill "$(cat "$work/run/libvirtd.pid")" 2>/dev/null
    [ -f "$work/run/virtlogd.pid" ] && kill "$(cat "$work/run/virtlogd.pid")" 2>/dev/null
    sleep 1
    ip netns del "$ns" 2>/dev/null
    rm -f /usr/sbin/policy-rc.d
    rm -rf "$work"
}
trap cleanup EXIT

# The box: the lane's disk as qcow2, its kernel and initrd (the image boots without a boot loader), its key.
echo "vagrant: building the box from $image"
qemu-img convert -O qcow2 "$image/root.img" "$work/box/box.img"
cp "$image/vmlinuz" "$image/initrd.img" "$image/id_ed25519" "$work/box/"
echo '{"provider": "libvirt", "format": "qcow2", "virtual_size": 10}' > "$work/box/metadata.json"
cat > "$work/box/Vagrantfile" <<'BOX'
Vagrant.configure("2") do |config|
  config.ssh.private_key_path = File.expand_path("id_ed25519", __dir__)
  config.ssh.insert_key = false
  config.vm.provider :libvirt do |lv|
    lv.driver = ENV.fetch("VAGRANT_LIBVIRT_DRIVER", "qemu")       # TCG where KVM cannot run a stock kernel
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.kernel = File.expand_path("vmlinuz", __dir__)
    lv.initrd = File.expand_path("initrd.img", __dir__)
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"
  end
end
BOX
tar -C "$work/box" -cf "$work/debian-bookworm64-lane.box" metadata.json Vagrantfile box.img vmlinuz initrd.img id_ed25519
VAGRANT_HOME="$work/home" vagrant box add --name debian/bookworm64 --provider libvirt "$work/debian-bookworm64-lane.box"

# libvirtd and virtlogd in the project's namespace.
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" virtlogd -d -p "$work/run/virtlogd.pid"
ip netns exec "$ns" libvirtd -d -p "$work/run/libvirtd.pid"
for _ in $(seq 1 30); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 1; done

mkdir -p "$work/project"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/project"
cd "$work/project"
start=$(date +%s)
ip netns exec "$ns" env VAGRANT_HOME="$work/home" VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_CHECKPOINT_DISABLE=1 \
    vagrant up --provider=libvirt
echo "vagrant: up and provisioned in $(( $(date +%s) - start )) s"
ip netns exec "$ns" env VAGRANT_HOME="$work/home" vagrant ssh -c \
    "cd /vagrant && sudo python -m emulator run multi_vpc_leased_line --json /tmp/vagrant-run.json"
echo "vagrant: the card's command passed through vagrant ssh -c"
