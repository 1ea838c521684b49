"""One lab node as a systemd-nspawn machine: its writable root (an overlay on the cached image,
upper dir on the plain host filesystem), its identity (hostname, machine id, SSH host key, the
lab's user key), and the nspawn process that boots systemd in the node's network namespace.

Docker's and containerd's data live on plain directories bind-mounted into the machine, never on
the overlay (overlay-on-overlay does not work for their snapshotters)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.lab import cgroups
from harness.lab.host import run
from harness.lab.network import NETNS_DIR

PLAIN_DATA_DIRS = ("/var/lib/docker", "/var/lib/containerd")

# Measured here: PID 1 of the host is not systemd, so nspawn can neither register with machined
# nor create a scope unit (--register=no --keep-unit; --property= needs a scope and is left out).
# Runtimes need every capability, keyctl and bpf inside.
NSPAWN_FLAGS = (
    "--boot", "--register=no", "--keep-unit", "--capability=all",
    "--system-call-filter=@keyring bpf", "--console=read-only", "--link-journal=no",
    "--resolv-conf=off", "--timezone=off",
)


# nspawn keeps a directory per machine here for `machinectl bind`; on a /run that is not tmpfs
# it refuses to remove it on exit, so stop() does.
PROPAGATE_DIR = Path("/run/systemd/nspawn/propagate")


@dataclass(frozen=True)
class MachineSpec:
    name: str  # the node's hostname
    machine: str  # the machine's name on the host (hl- prefixed, like every host object)
    node_dir: Path
    netns: str
    cgroups: list[Path]

    @property
    def root(self) -> Path:
        return self.node_dir / "root"

    @property
    def log(self) -> Path:
        return self.node_dir / "machine.log"

    def data_dir(self, path: str) -> Path:
        return self.node_dir / "data" / Path(path).name


def mount_root(spec: MachineSpec, image_rootfs: Path) -> None:
    if os.path.ismount(spec.root):
        return
    for sub in ("upper", "work", "root"):
        (spec.node_dir / sub).mkdir(parents=True, exist_ok=True)
    options = (f"lowerdir={image_rootfs},upperdir={spec.node_dir / 'upper'},"
               f"workdir={spec.node_dir / 'work'}")
    run(["mount", "-t", "overlay", f"overlay-{spec.machine}", "-o", options, str(spec.root)])


def unmount_root(node_dir: Path) -> None:
    root = node_dir / "root"
    while os.path.ismount(root):
        run(["umount", "--lazy", str(root)])


def write_identity(spec: MachineSpec, hosts: dict[str, str], user_pubkey: str) -> str:
    """Hostname, /etc/hosts naming every lab node, a fresh machine id and SSH host key, and root's
    authorized key. Returns the node's SSH host public key."""
    etc = spec.root / "etc"
    (etc / "hostname").write_text(spec.name + "\n")
    lines = ["127.0.0.1 localhost", f"127.0.1.1 {spec.name}"]
    lines += [f"{address} {name}" for name, address in hosts.items()]
    (etc / "hosts").write_text("\n".join(lines) + "\n")
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    key = etc / "ssh" / "ssh_host_ed25519_key"
    for old in (key, key.with_suffix(".pub")):
        old.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", spec.name, "-f", str(key)])
    ssh_dir = spec.root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(user_pubkey)
    (ssh_dir / "authorized_keys").chmod(0o600)
    return key.with_suffix(".pub").read_text().strip()


def boot(spec: MachineSpec) -> int:
    """Start the machine in the background, inside its cgroups; returns the nspawn pid."""
    argv = ["systemd-nspawn", "-D", str(spec.root), f"--machine={spec.machine}",
            f"--hostname={spec.name}", *NSPAWN_FLAGS,
            f"--network-namespace-path={NETNS_DIR / spec.netns}"]
    for path in PLAIN_DATA_DIRS:
        spec.data_dir(path).mkdir(parents=True, exist_ok=True)
        argv.append(f"--bind={spec.data_dir(path)}:{path}")
    # A kubelet reads the kernel log (its OOM watcher); nspawn does not provide /dev/kmsg.
    argv.append("--bind-ro=/dev/kmsg")
    cgroups.create(spec.cgroups)
    # The shell joins the cgroups and then becomes nspawn (no preexec_fn: nodes boot in threads).
    enter = 'for d in $HL_CGROUPS; do echo $$ > "$d/cgroup.procs"; done; exec "$@"'
    env = {**os.environ, "HL_CGROUPS": " ".join(str(d) for d in spec.cgroups),
           # No image lock file in /run/systemd/nspawn/locks: the lab's own lock covers it, and
           # a machine stopped with SIGKILL would leave the file behind.
           "SYSTEMD_NSPAWN_LOCK": "0",
           # /proc/sys/net writable (Docker, kube-proxy): those sysctls belong to the node's own
           # network namespace. The rest of /proc/sys stays read-only: it is the host's kernel.
           "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"}
    with open(spec.log, "ab") as log:
        proc = subprocess.Popen(
            ["sh", "-c", enter, "sh", *argv], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )
    return proc.pid


def running(pid: int | None, root: Path) -> bool:
    """True if `pid` is still the nspawn process of the machine whose root is `root`."""
    if not pid:
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(root).encode() in argv


def stop(spec: MachineSpec) -> None:
    """Kill every process of the machine, remove its cgroups and nspawn's runtime directory."""
    cgroups.kill_all(spec.cgroups)
    cgroups.remove(spec.cgroups)
    shutil.rmtree(PROPAGATE_DIR / spec.machine, ignore_errors=True)
