"""Kernel parameters and syscall filtering: config-linux.md#sysctl and #seccomp."""

import pytest

from harness.oci.bundle import Mount

SCRATCH = Mount("/mnt/tmpfs", "tmpfs", "tmpfs", ["size=1m"])


@pytest.mark.parametrize(
    "key, value, path",
    [
        ("net.ipv4.ip_forward", "1", "/proc/sys/net/ipv4/ip_forward"),
        ("kernel.msgmax", "4096", "/proc/sys/kernel/msgmax"),
    ],
    ids=["net", "ipc"],
)
def test_sysctl_is_applied(containers, key, value, path):
    """config-linux.md#sysctl: the kernel parameter has the value inside the container."""
    spec = containers.spec(f"cat {path}")
    spec.linux.sysctl = {key: value}
    assert containers.run(spec) == f"{value}\n"


def seccomp_denying(names: list[str], errno: int | None = None) -> dict:
    rule: dict = {"names": names, "action": "SCMP_ACT_ERRNO"}
    if errno is not None:
        rule["errnoRet"] = errno
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [rule],
    }


def test_seccomp_filter_is_installed(containers):
    """config-linux.md#seccomp: the process runs under a seccomp filter (Seccomp: 2)."""
    spec = containers.spec("grep '^Seccomp:' /proc/self/status")
    spec.linux.seccomp = seccomp_denying(["mkdir", "mkdirat"])
    assert containers.run(spec).split() == ["Seccomp:", "2"]


def test_seccomp_errno_action_denies_syscall(containers):
    """config-linux.md#seccomp SCMP_ACT_ERRNO: the listed syscall fails (EPERM by default)."""
    spec = containers.spec("mkdir /mnt/tmpfs/d 2>&1; echo rc=$?")
    spec.mounts.append(SCRATCH)
    spec.linux.seccomp = seccomp_denying(["mkdir", "mkdirat"])
    out = containers.run(spec)
    assert "Operation not permitted" in out and out.endswith("rc=1\n")


def test_seccomp_errno_ret_is_returned(containers):
    """config-linux.md#seccomp errnoRet: the errno the denied syscall returns."""
    spec = containers.spec("mkdir /mnt/tmpfs/d 2>&1; echo rc=$?")
    spec.mounts.append(SCRATCH)
    spec.linux.seccomp = seccomp_denying(["mkdir", "mkdirat"], errno=13)
    assert "Permission denied" in containers.run(spec)


def test_seccomp_leaves_other_syscalls_alone(containers):
    """config-linux.md#seccomp defaultAction SCMP_ACT_ALLOW: unlisted syscalls work."""
    spec = containers.spec("touch /mnt/tmpfs/f && echo ok")
    spec.mounts.append(SCRATCH)
    spec.linux.seccomp = seccomp_denying(["mkdir", "mkdirat"])
    assert containers.run(spec) == "ok\n"
