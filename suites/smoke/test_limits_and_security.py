"""What the runtime must enforce from the pod spec, on each node: the memory limit (the kernel
OOM-kills the container, and the status says so) and the container securityContext (user,
read-only root filesystem, capabilities). Each is checked on the container's first process
(/proc/1/status, its own log) and through exec: a runtime may honour the spec for exec'd
processes (which get the settings from the runtime's own copy of the spec) yet not for the
workload itself."""

from __future__ import annotations

import warnings

import pytest

from . import workloads
from .workloads import ADDED_CAPS, DROPPED_CAPS

pytestmark = [pytest.mark.per_node, pytest.mark.timeout(120)]

# include/uapi/linux/capability.h
CAP_BITS = {"CHOWN": 0, "NET_ADMIN": 12, "NET_RAW": 13}
OOM_ATTEMPTS = 3


def proc1_status(k, pod: str, container: str) -> dict[str, str]:
    text = k.exec_ok(pod, ["cat", "/proc/1/status"], container=container)
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_memory_limit_overrun_is_reported_as_oom_killed(k, pods, refs, node):
    """A container that allocates past resources.limits.memory is killed by the kernel's OOM
    killer: state.terminated.reason is OOMKilled (exit 137) (resource management for pods).

    The kill itself (exit 137, never a completed dd) is checked on every attempt. The reason
    can be lost to a known race in containerd before 2.3, whose shim may report the exit
    before the OOM event (containerd#12714): a kill reported as Error is retried in a new pod,
    and the test fails only if no attempt reports OOMKilled."""
    name, lost = pods("oom", node), []
    for attempt in range(1, OOM_ATTEMPTS + 1):
        if attempt > 1:
            manifest = workloads.oom(node, refs, k.ns)
            manifest["metadata"]["name"] = name = f"{pods('oom', node)}-{attempt}"
            k.create_pod(manifest)
        k.finished(name)
        status = k.container_status(name, "hog")
        terminated = status.state.terminated or status.last_state.terminated
        assert terminated and terminated.exit_code == 137, k.describe(name)
        if terminated.reason == "OOMKilled":
            break
        lost.append(f"{name}: {terminated.reason}")
    else:
        pytest.fail(f"no OOMKilled reason in {OOM_ATTEMPTS} OOM kills: {'; '.join(lost)}")
    if lost:
        warnings.warn(f"OOM kill reported without OOMKilled (containerd#12714): {lost}",
                      stacklevel=1)


def test_run_as_user_sets_the_uid(k, pods, node):
    """securityContext.runAsUser/runAsGroup: the container's first process and exec'd
    processes run as uid 1000, gid 1000."""
    pod = k.running(pods("security", node)).metadata.name
    status = proc1_status(k, pod, "user")
    for field in ("Uid", "Gid"):  # real, effective, saved, filesystem
        assert status[field].split() == ["1000"] * 4, f"/proc/1/status {field}: {status[field]}"
    assert k.logs(pod, "user").splitlines()[0] == "1000"
    assert k.exec_ok(pod, ["id", "-u"], container="user") == "1000\n"


def test_read_only_root_filesystem_refuses_writes(k, pods, node):
    """securityContext.readOnlyRootFilesystem: the root filesystem is mounted read-only, so
    the first process and exec'd processes fail to write to it."""
    pod = k.running(pods("security", node)).metadata.name
    assert "rootfs=read-only" in k.logs(pod, "user"), k.logs(pod, "user")
    attempt = k.exec(pod, ["touch", "/written-by-exec"], container="user")
    assert attempt.rc != 0 and "Read-only file system" in attempt.err, str(attempt)


def test_capabilities_are_dropped_and_added(k, pods, node):
    """securityContext.capabilities: dropped ones (CHOWN, NET_RAW) are missing from the first
    process's effective and bounding sets, added ones (NET_ADMIN) present; chown as root then
    fails."""
    pod = k.running(pods("security", node)).metadata.name
    status = proc1_status(k, pod, "caps")
    for field in ("CapEff", "CapBnd"):
        caps = int(status[field], 16)
        for cap in DROPPED_CAPS:
            assert not caps >> CAP_BITS[cap] & 1, f"{field} {status[field]} still has {cap}"
        for cap in ADDED_CAPS:
            assert caps >> CAP_BITS[cap] & 1, f"{field} {status[field]} lacks {cap}"
    assert "chown=refused" in k.logs(pod, "caps"), k.logs(pod, "caps")
    attempt = k.exec(pod, ["chown", "1000", "/tmp/f"], container="caps")
    assert attempt.rc != 0, str(attempt)
