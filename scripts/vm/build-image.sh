#!/usr/bin/env bash
# Build the VM lane's Debian 12 image, or reuse the cached one: Debian's stock kernel (linux-image-amd64) and
# Debian's packages only (mmdebstrap from the host's own apt sources), provisioned at build time by
# scripts/provision.sh inside the image's chroot, at the host's speed (about 17 minutes saved per boot under
# TCG). The booted guest runs the same provisioning again, which then installs nothing but starts OVS.
#   scripts/vm/build-image.sh            prints the image's folder (VM_CACHE/image-KEY) on its last line
# The key is a hash of everything that decides the image's contents: this script, the provisioning and
# install scripts, the package lists and setup.cfg. A changed list builds a new image; old ones are removed.
# Environment: VM_CACHE (default /var/cache/cloud-emulator-vm), VM_SOURCES (an apt sources file for the
# image; default: the host's own), VM_DISK_GB (default 10).
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/../.."
project=$(pwd)
cache="${VM_CACHE:-/var/cache/cloud-emulator-vm}"
disk_gb="${VM_DISK_GB:-10}"

# Read a package list: one name a line, `#` starts a comment.
packages_of() { sed -e 's/#.*//' "$1" | tr -s ' \t' '\n' | sed '/^$/d'; }

# What a Vagrant box has before provisioning (a kernel, systemd, ssh, sudo, rsync for the synced folder, a
# `vagrant` user), and tmux,
# through which the lane drives the lab as a person would. The run packages are installed by the provisioning;
# the test extra's Python packages (pytest) are added for the integration tests the lane runs in the guest.
BASE=(linux-image-amd64 systemd-sysv udev kmod openssh-server sudo ca-certificates make iproute2 procps rsync tmux)

key_inputs=(scripts/vm/build-image.sh scripts/provision.sh scripts/install.sh scripts/packages-run.txt setup.cfg)
key=$(cat "${key_inputs[@]}" | sha256sum | cut -c1-16)
image="$cache/image-$key"
if [ -f "$image/ready" ]; then
    echo "vm image: cached ($image)" >&2
    echo "$image"
    exit 0
fi

for tool in mmdebstrap mkfs.ext4 ssh-keygen qemu-system-x86_64; do
    command -v "$tool" >/dev/null 2>&1 || missing_tools=1
done
if [ "${missing_tools:-0}" = 1 ]; then
    echo "vm image: installing the lane's host tools (mmdebstrap, e2fsprogs, QEMU, OpenSSH client)" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        mmdebstrap e2fsprogs qemu-system-x86 openssh-client >&2
fi

sources="${VM_SOURCES:-}"
if [ -z "$sources" ]; then
    for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
        if [ -s "$candidate" ]; then sources=$candidate; break; fi
    done
fi
[ -n "$sources" ] || { echo "vm image: no apt sources found; set VM_SOURCES to a Debian 12 sources file" >&2; exit 3; }

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
ssh-keygen -q -t ed25519 -N '' -C cloud-emulator-vm-lane -f "$work/id_ed25519"

# The project as the guest's /vagrant sees it, without the host's virtualenv and outputs.
mkdir -p "$work/project"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/project"

# The provisioning reaches PyPI over TLS: the image trusts the host's extra certificate authorities (a company
# proxy's, or this workplace's), and gets the host's proxy settings, nothing else of its environment.
mkdir -p "$work/ca"
cp /usr/local/share/ca-certificates/*.crt "$work/ca/" 2>/dev/null || true
proxy_env=()
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!name:-}" ] && proxy_env+=("$name=${!name}")
done
provision_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
               PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 INSTALL_START_OVS=0
               "${proxy_env[@]}")

start=$(date +%s)
echo "vm image: building $image (mmdebstrap bookworm from $sources, then provisioning in the chroot)" >&2
mmdebstrap --variant=minbase --include="$(IFS=,; echo "${BASE[*]}")" \
    --customize-hook="sync-in $work/ca /usr/local/share/ca-certificates" \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook="mkdir -p \"\$1/vagrant\"" \
    --customize-hook="sync-in $work/project /vagrant" \
    --customize-hook="chroot \"\$1\" ${provision_env[*]} /vagrant/scripts/provision.sh /vagrant" \
    --customize-hook="chroot \"\$1\" ${provision_env[*]} /opt/cloud-emulator-venv/bin/python -m pip install -q -e '/vagrant[test]'" \
    --customize-hook='rm -rf "$1"/vagrant/* "$1"/vagrant/.[!.]* "$1"/var/cache/apt/archives/*.deb' \
    bookworm "$root" "$sources" >&2

# Boot and login: root on the virtio disk, DHCP from QEMU's user network, the lane's key for root and for the
# `vagrant` user (passwordless sudo, as Vagrant boxes have), a serial console for the boot log.
echo cloud-emulator-lab > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 cloud-emulator-lab\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 errors=remount-ro 0 1' > "$root/etc/fstab"
printf '[Match]\nName=eth* en*\n\n[Network]\nDHCP=ipv4\n' > "$root/etc/systemd/network/10-wired.network"
echo 'nameserver 10.0.2.3' > "$root/etc/resolv.conf"
chroot "$root" systemctl enable systemd-networkd ssh serial-getty@ttyS0 >/dev/null 2>&1
chroot "$root" useradd --create-home --shell /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$root/etc/sudoers.d/vagrant"
chmod 440 "$root/etc/sudoers.d/vagrant"
for home in "$root/root" "$root/home/vagrant"; do
    install -d -m 700 "$home/.ssh"
    install -m 600 "$work/id_ed25519.pub" "$home/.ssh/authorized_keys"
done
chroot "$root" chown -R vagrant:vagrant /home/vagrant/.ssh
chroot "$root" chown vagrant:vagrant /vagrant
# What the lane asserts the image holds: the kernel's version and the package list, written beside the image.
chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' > "$work/packages.txt"

mkdir -p "$work/image"
cp "$root"/boot/vmlinuz-* "$work/image/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/image/initrd.img"
basename "$root"/boot/vmlinuz-* | sed 's/^vmlinuz-//' > "$work/image/kernel-release"
mkfs.ext4 -q -F -L cloud-emulator -d "$root" "$work/image/root.img" "${disk_gb}G"
mv "$work/id_ed25519" "$work/id_ed25519.pub" "$work/packages.txt" "$work/image/"
echo "built in $(( $(date +%s) - start )) s" > "$work/image/build-time"

# Replace older images (another package list) by this one.
for old in "$cache"/image-*; do
    [ -d "$old" ] && [ "$old" != "$image" ] && rm -rf "$old"
done
rm -rf "$image"
mv "$work/image" "$image"
touch "$image/ready"
echo "vm image: built in $(( $(date +%s) - start )) s ($image)" >&2
echo "$image"
