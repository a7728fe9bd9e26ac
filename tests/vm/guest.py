"""A Debian 12 guest with Debian's stock kernel, booted with QEMU for the VM lane, reached over ssh.

The teaching lab's VM has the kernel datapath, sch_netem and 8021q; the development machines have none of
them. This boots the lane's image (scripts/vm/build-image.sh) with KVM where KVM runs a stock kernel, and
with QEMU's TCG otherwise: a paravirtualised nested KVM (kvm_pvm, as on the project's machines) boots only
guest kernels built for it, so Debian's stops after "Probing EDD". The image is opened with -snapshot: every
boot starts from the image as built, and nothing a run writes survives it.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# The lane's measured phases, for timings.json and the terminal summary. Kept here, not in conftest.py: pytest
# imports a conftest under its own name, so the tests' `from tests.vm.conftest import` would get another copy.
TIMINGS: dict[str, float | str] = {}


class Timer:
    """Measure a named phase of the lane."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        TIMINGS[self.name] = round(time.monotonic() - self.start, 1)


def build_image() -> Path:
    """The cached image's folder, built first when the package lists changed (minutes; cached afterwards)."""
    result = subprocess.run([str(PROJECT / "scripts" / "vm" / "build-image.sh")], cwd=PROJECT, check=True,
                            stdout=subprocess.PIPE, text=True, timeout=3600)
    return Path(result.stdout.strip().splitlines()[-1])


def accelerator() -> str:
    """"kvm" where KVM boots a stock kernel, "tcg" otherwise; VM_ACCEL overrides."""
    forced = os.environ.get("VM_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced
    if Path("/sys/module/kvm_pvm").exists():
        return "tcg"
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return "tcg"
    return "kvm"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Guest:
    image: Path
    workdir: Path
    memory_mb: int = 6144
    cpus: int = 2
    accel: str = field(default_factory=accelerator)
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None
    boot_s: float | None = None

    @property
    def console_log(self) -> Path:
        return self.workdir / "console.log"

    def qemu_argv(self) -> list[str]:
        accel = ["-accel", "kvm", "-cpu", "host"] if self.accel == "kvm" else \
            ["-accel", "tcg,thread=multi", "-cpu", "max"]
        return ["qemu-system-x86_64", *accel, "-smp", str(self.cpus), "-m", str(self.memory_mb),
                "-kernel", str(self.image / "vmlinuz"), "-initrd", str(self.image / "initrd.img"),
                "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet",
                "-drive", f"file={self.image / 'root.img'},if=virtio,format=raw", "-snapshot",
                "-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{self.port}-:22",
                "-device", "virtio-net-pci,netdev=net0",
                "-display", "none", "-serial", f"file:{self.console_log}", "-monitor", "none"]

    def boot(self, timeout_s: float = 600) -> None:
        """Start QEMU and wait until ssh answers; raises with the console's last lines if it never does."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        self.process = subprocess.Popen(self.qemu_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=open(self.workdir / "qemu.stderr", "w"), start_new_session=True)
        while time.monotonic() - start < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"QEMU exited with {self.process.returncode}: "
                                   f"{(self.workdir / 'qemu.stderr').read_text()[-2000:]}")
            if self.ssh("true", timeout=20, check=False).returncode == 0:
                self.boot_s = time.monotonic() - start
                return
            time.sleep(2)
        tail = self.console_log.read_text(errors="replace")[-3000:] if self.console_log.exists() else ""
        self.stop()
        raise RuntimeError(f"the guest ({self.accel}) did not answer ssh within {timeout_s:.0f} s; console:\n{tail}")

    def _ssh_argv(self, user: str) -> list[str]:
        return ["ssh", "-q", "-i", str(self.image / "id_ed25519"), "-p", str(self.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=8",
                f"{user}@127.0.0.1"]

    def ssh(self, command: str | list[str], *, user: str = "root", timeout: float = 600, check: bool = True,
            stdin: bytes | None = None) -> subprocess.CompletedProcess:
        """Run a command in the guest (a list is quoted for the guest's shell); output as text."""
        remote = shlex.join(command) if isinstance(command, list) else command
        result = subprocess.run([*self._ssh_argv(user), remote], input=stdin, capture_output=True, timeout=timeout)
        result.stdout = result.stdout.decode(errors="replace")
        result.stderr = result.stderr.decode(errors="replace")
        if check and result.returncode != 0:
            raise AssertionError(f"in the guest, `{remote}` exited {result.returncode}:\n"
                                 f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def put_project(self, target: str = "/vagrant") -> None:
        """The checkout as Vagrant's shared folder holds it: tracked and new files, no virtualenv, no outputs."""
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               cwd=PROJECT, check=True, capture_output=True).stdout
        existing = b"\0".join(name for name in files.split(b"\0") if name and (PROJECT / name.decode()).exists())
        archive = subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], cwd=PROJECT, input=existing,
                                 check=True, capture_output=True).stdout
        self.ssh(f"find {target} -mindepth 1 -delete && tar -xf - -C {target} && chown -R vagrant:vagrant {target}",
                 stdin=archive)

    def fetch(self, remote_dir: str, local_dir: Path) -> None:
        """Copy a folder of the guest's (reports, logs) to the host."""
        local_dir.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run([*self._ssh_argv("root"), shlex.join(["tar", "-cf", "-", "-C", remote_dir, "."])],
                                 capture_output=True, timeout=300)
        if archive.returncode == 0:
            subprocess.run(["tar", "-xf", "-", "-C", str(local_dir)], input=archive.stdout, check=False)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.ssh("systemctl poweroff", timeout=20, check=False)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main(argv: list[str] | None = None) -> int:
    """Boot the lane's guest, provision it as the Vagrantfile does, run one command in /vagrant, print its output.

    For measurements in the stock kernel by hand: `sudo .venv/bin/python -m tests.vm.guest -- \\
    /opt/cloud-emulator-venv/bin/python bench/bench_impairment.py`. Files the command writes to /root/lane come
    back to VM_ARTIFACTS (default artifacts/vm).
    """
    import argparse
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments, after --")
    args = parser.parse_args(argv)
    command = [word for word in args.command if word != "--"] or ["uname", "-a"]
    guest = Guest(build_image(), Path(tempfile.mkdtemp(prefix="vm-guest-")))
    print(f"booting the lane's guest with {guest.accel.upper()}", file=sys.stderr)
    try:
        guest.boot()
        guest.put_project()
        guest.ssh("mkdir -p /root/lane && bash /vagrant/scripts/provision.sh /vagrant >/dev/null")
        result = guest.ssh("cd /vagrant && " + shlex.join(command), check=False, timeout=7200)
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
        guest.fetch("/root/lane", Path(os.environ.get("VM_ARTIFACTS", PROJECT / "artifacts" / "vm")))
        return result.returncode
    finally:
        guest.stop()


if __name__ == "__main__":
    raise SystemExit(main())
