"""The container's filesystem: config.md#root, #mounts, config-linux.md#masked-paths,
#readonly-paths, #rootfs-mount-propagation, #devices, #default-devices,
runtime-linux.md#dev-symbolic-links, config.md#hostname. Checked from inside."""

import secrets
import subprocess

import pytest

from harness.oci.bundle import Device, Mount

PROBE_WRITE = "touch {path} 2>/dev/null && echo writable || echo readonly"


def mountinfo_line(output: str, mount_point: str) -> list[str]:
    """The /proc/self/mountinfo fields of the LAST mount at `mount_point` (the visible one)."""
    found = [line.split() for line in output.splitlines() if line.split()[4:5] == [mount_point]]
    assert found, f"{mount_point} is not a mount point: {output!r}"
    return found[-1]


def test_readonly_root_rejects_writes(containers):
    """config.md#root readonly=true: the root filesystem MUST be read-only in the container."""
    spec = containers.spec(PROBE_WRITE.format(path="/ho-probe"))
    assert spec.root_readonly
    assert containers.run(spec) == "readonly\n"


def test_writable_root_accepts_writes(containers, rootfs):
    """config.md#root readonly=false: the root filesystem is writable."""
    name = f"ho-written-{secrets.token_hex(3)}"
    spec = containers.spec(PROBE_WRITE.format(path=f"/{name}"), root_readonly=False)
    try:
        assert containers.run(spec) == "writable\n"
    finally:
        (rootfs / name).unlink(missing_ok=True)


def test_tmpfs_mount_has_type_and_options(containers):
    """config.md#mounts: type and options are applied (tmpfs, nosuid, nodev, size)."""
    spec = containers.spec("cat /proc/self/mountinfo")
    spec.mounts.append(Mount("/mnt/tmpfs", "tmpfs", "tmpfs", ["nosuid", "nodev", "size=1m"]))
    fields = mountinfo_line(containers.run(spec), "/mnt/tmpfs")
    separator = fields.index("-")
    assert fields[separator + 1] == "tmpfs"
    assert {"nosuid", "nodev"} <= set(fields[5].split(","))
    assert "size=1024k" in fields[separator + 3].split(",")


def test_bind_mount_shows_host_directory(containers):
    """config.md#mounts: a bind mount makes the host source visible at the destination."""
    source = containers.workdir / "bind-source"
    source.mkdir()
    (source / "file").write_text("from the host\n")
    spec = containers.spec("cat /mnt/bind/file")
    spec.mounts.append(Mount("/mnt/bind", "bind", str(source), ["bind"]))
    assert containers.run(spec) == "from the host\n"


def test_readonly_bind_mount_rejects_writes(containers):
    """config.md#mounts options: `ro` on a bind mount makes it read-only."""
    source = containers.workdir / "ro-source"
    source.mkdir()
    spec = containers.spec(PROBE_WRITE.format(path="/mnt/ro/file"))
    spec.mounts.append(Mount("/mnt/ro", "bind", str(source), ["bind", "ro"]))
    assert containers.run(spec) == "readonly\n"
    assert not (source / "file").exists()


@pytest.mark.parametrize(
    "mount_point, fstype",
    [("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs")],
)
def test_default_filesystem_is_mounted(containers, mount_point, fstype):
    """config-linux.md#default-filesystems (via the default mounts): proc, sysfs, devpts,
    tmpfs on /dev/shm."""
    fields = mountinfo_line(
        containers.run(containers.spec("cat /proc/self/mountinfo")), mount_point
    )
    assert fields[fields.index("-") + 1] == fstype


def test_masked_file_reads_empty(containers):
    """config-linux.md#masked-paths: a masked file MUST NOT be readable (reads nothing)."""
    spec = containers.spec("wc -c < /proc/cpuinfo")
    spec.linux.masked_paths.append("/proc/cpuinfo")
    assert containers.run(spec).strip() == "0"


def test_masked_directory_is_empty(containers):
    """config-linux.md#masked-paths: a masked directory shows none of its content."""
    spec = containers.spec("ls -A /etc | wc -l")
    spec.linux.masked_paths.append("/etc")
    assert containers.run(spec).strip() == "0"


def test_readonly_path_rejects_writes(containers):
    """config-linux.md#readonly-paths: the path MUST be read-only in the container."""
    spec = containers.spec(PROBE_WRITE.format(path="/mnt/tmpfs/file"))
    spec.mounts.append(Mount("/mnt/tmpfs", "tmpfs", "tmpfs", ["size=1m"]))
    spec.linux.readonly_paths.append("/mnt/tmpfs")
    assert containers.run(spec) == "readonly\n"


def test_readonly_path_stays_readable(containers):
    """config-linux.md#readonly-paths: read-only, not hidden (default /proc/sys)."""
    spec = containers.spec("cat /proc/sys/kernel/hostname", hostname="ho-readable")
    assert "/proc/sys" in spec.linux.readonly_paths
    assert containers.run(spec) == "ho-readable\n"


# mountinfo optional fields of the root mount for each rootfsPropagation value.
PROPAGATION_TAG = {
    "shared": "shared:",
    "slave": "master:",
    "private": None,
    "unbindable": "unbindable",
}


@pytest.fixture(scope="module")
def shared_rootfs(rootfs, workdir):
    """The rootfs bind-mounted onto itself elsewhere and made a shared mount on the host:
    propagation is only observable from a mount that has peers (this host's / is private)."""
    target = workdir / "shared-rootfs"
    target.mkdir(exist_ok=True)
    subprocess.run(["mount", "--bind", str(rootfs), str(target)], check=True, timeout=10)
    try:
        subprocess.run(["mount", "--make-shared", str(target)], check=True, timeout=10)
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True, timeout=10)


@pytest.mark.parametrize("mode", sorted(PROPAGATION_TAG))
def test_rootfs_propagation(containers, shared_rootfs, mode):
    """config-linux.md#rootfs-mount-propagation: the root mount gets the propagation mode."""
    spec = containers.spec("cat /proc/self/mountinfo", root_path=str(shared_rootfs))
    spec.linux.rootfs_propagation = mode
    fields = mountinfo_line(containers.run(spec), "/")
    optional = fields[6 : fields.index("-")]
    tag = PROPAGATION_TAG[mode]
    if tag is None:
        assert optional == []
    else:
        assert [f for f in optional if f.startswith(tag)], optional


DEFAULT_DEVICES = {
    "/dev/null": (1, 3),
    "/dev/zero": (1, 5),
    "/dev/full": (1, 7),
    "/dev/random": (1, 8),
    "/dev/urandom": (1, 9),
    "/dev/tty": (5, 0),
}


@pytest.mark.parametrize("path", sorted(DEFAULT_DEVICES))
def test_default_device_exists(containers, path):
    """config-linux.md#default-devices: the runtime MUST supply these character devices."""
    out = containers.run(containers.spec(f"stat -L -c '%F %t %T' {path}"))
    major, minor = DEFAULT_DEVICES[path]
    assert out == f"character special file {major:x} {minor:x}\n"


def test_default_ptmx_exists(containers):
    """config-linux.md#default-devices: /dev/ptmx, a bind mount or symlink of /dev/pts/ptmx."""
    out = containers.run(containers.spec("test -c /dev/ptmx && echo present"))
    assert out == "present\n"


@pytest.mark.parametrize(
    "link, target",
    [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ],
)
def test_dev_symbolic_link(containers, link, target):
    """runtime-linux.md#dev-symbolic-links: the runtime MUST set these links up."""
    assert containers.run(containers.spec(f"readlink {link}")) == f"{target}\n"


@pytest.mark.parametrize(
    "device, expected",
    [
        (Device("/dev/ho-char", "c", 1, 3, 0o620, 0, 0), "character special file 1 3 620 0 0"),
        (Device("/dev/ho-block", "b", 7, 9, 0o640, 0, 0), "block special file 7 9 640 0 0"),
        (Device("/dev/ho-fifo", "p", file_mode=0o600, uid=0, gid=0), "fifo 0 0 600 0 0"),
    ],
    ids=["char", "block", "fifo"],
)
def test_configured_device_is_created(containers, device, expected):
    """config-linux.md#devices: the device node exists with type, numbers, mode and owner."""
    spec = containers.spec(f"stat -c '%F %t %T %a %u %g' {device.path}")
    spec.linux.devices.append(device)
    assert containers.run(spec) == f"{expected}\n"


def test_hostname_is_set(containers):
    """config.md#hostname: the container's hostname."""
    assert containers.run(containers.spec("hostname", hostname="ho-hostname")) == "ho-hostname\n"
