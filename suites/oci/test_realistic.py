"""Realistic configurations: what a node's container runtime actually puts into config.json,
rather than the least that makes one check pass. A large seccomp allowlist with
defaultAction SCMP_ACT_ERRNO and argument rules, the default capability set, every rlimit at
once, containerd's masked and readonly paths, and a rootfs under the node's own shared mount.
The settings come from data/realistic.yaml (the project's own lists)."""

import os
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from harness.oci.bundle import Mount, Rlimit, User
from harness.oci.containers import status_field

DATA = Path(__file__).parent / "data" / "realistic.yaml"
SCRATCH_DIR = "/mnt/tmpfs"

# linux/capability.h numbers of the default container capabilities.
CAP_BITS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
    "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29,
    "CAP_SETFCAP": 31,
}  # fmt: skip
# Names of every capability up to CAP_CHECKPOINT_RESTORE (40), by bit.
ALL_CAPS = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]  # fmt: skip

# /proc/self/limits row of each rlimit.
LIMIT_ROWS = {
    "RLIMIT_CPU": "Max cpu time", "RLIMIT_FSIZE": "Max file size",
    "RLIMIT_DATA": "Max data size", "RLIMIT_STACK": "Max stack size",
    "RLIMIT_CORE": "Max core file size", "RLIMIT_RSS": "Max resident set",
    "RLIMIT_NPROC": "Max processes", "RLIMIT_NOFILE": "Max open files",
    "RLIMIT_MEMLOCK": "Max locked memory", "RLIMIT_AS": "Max address space",
    "RLIMIT_LOCKS": "Max file locks", "RLIMIT_SIGPENDING": "Max pending signals",
    "RLIMIT_MSGQUEUE": "Max msgqueue size", "RLIMIT_NICE": "Max nice priority",
    "RLIMIT_RTPRIO": "Max realtime priority", "RLIMIT_RTTIME": "Max realtime timeout",
}  # fmt: skip
RLIM_INFINITY = 2**64 - 1


@cache
def realistic() -> dict:
    return yaml.safe_load(DATA.read_text())


def realistic_seccomp() -> dict:
    """config-linux.md#seccomp profile from the data file: an allowlist, argument-conditioned
    rules and an errno rule, everything else refused with EPERM."""
    data = realistic()["seccomp"]
    rules = [{"names": list(data["allow"]), "action": "SCMP_ACT_ALLOW"}]
    for rule in data["conditional"]:
        rules.append({"names": rule["names"], "action": "SCMP_ACT_ALLOW", "args": rule["args"]})
    for rule in data["errno"]:
        rules.append(
            {"names": rule["names"], "action": "SCMP_ACT_ERRNO", "errnoRet": rule["errnoRet"]}
        )
    return {
        "defaultAction": data["defaultAction"],
        "architectures": list(data["architectures"]),
        "syscalls": rules,
    }


def default_capability_sets(extra: tuple[str, ...] = ()) -> dict[str, list[str]]:
    caps = list(realistic()["capabilities"]) + list(extra)
    return {"bounding": caps, "effective": caps, "permitted": caps}


def realistic_spec(containers, script: str, *, extra_caps: tuple[str, ...] = ()):
    """A spec with the realistic seccomp profile and default capability set."""
    spec = containers.spec(script)
    spec.mounts.append(_scratch())
    spec.linux.seccomp = realistic_seccomp()
    spec.process.capability_sets = default_capability_sets(extra_caps)
    return spec


def _scratch() -> Mount:
    return Mount(SCRATCH_DIR, "tmpfs", "tmpfs", ["size=1m"])


# --- seccomp ------------------------------------------------------------------------------

SHELL_WORKLOAD = (
    f"mkdir {SCRATCH_DIR}/d && echo hello > {SCRATCH_DIR}/d/f && cat {SCRATCH_DIR}/d/f | wc -c"
    f" && ls {SCRATCH_DIR}/d && chmod 600 {SCRATCH_DIR}/d/f && ln -s f {SCRATCH_DIR}/d/l"
    f" && readlink {SCRATCH_DIR}/d/l && sleep 0 && id -u && echo done"
)


@pytest.mark.parametrize("no_new_privileges", [True, False], ids=["nnp", "no-nnp"])
def test_realistic_seccomp_profile_runs_a_shell_workload(containers, no_new_privileges):
    """config-linux.md#seccomp: under an allowlist profile (defaultAction SCMP_ACT_ERRNO, three
    architectures, argument rules) a workload whose syscalls are listed runs: files, pipes,
    fork (clone allowed only without namespace flags), exec. Without noNewPrivileges the
    runtime has to install the filter before it drops privileges, so its own last setup steps
    run under the profile too."""
    spec = realistic_spec(containers, SHELL_WORKLOAD)
    spec.process.no_new_privileges = no_new_privileges
    assert containers.run(spec).split() == ["6", "f", "f", "0", "done"]


def test_realistic_seccomp_profile_is_installed_in_filter_mode(containers):
    """config-linux.md#seccomp: the process runs under the profile (Seccomp: 2, one filter)."""
    spec = realistic_spec(containers, "cat /proc/self/status")
    out = containers.run(spec)
    assert status_field(out, "Seccomp") == "2"


# Each command makes one syscall that the profile does not list. CAP_SYS_ADMIN is granted so
# that only the filter can refuse it (test_unlisted_syscall_works_without_the_profile).
UNLISTED = {
    "unshare": "unshare -m true",
    "mount": f"mount -t tmpfs tmpfs {SCRATCH_DIR}",
    "umount2": "umount /dev/mqueue",
    "setns": "nsenter -t 1 -u true",
}


@pytest.mark.parametrize("syscall", sorted(UNLISTED))
def test_realistic_seccomp_profile_refuses_unlisted_syscall_with_eperm(containers, syscall):
    """config-linux.md#seccomp defaultAction SCMP_ACT_ERRNO: a syscall no rule allows fails
    with EPERM, even with CAP_SYS_ADMIN."""
    spec = realistic_spec(
        containers, f"{UNLISTED[syscall]} 2>&1; echo rc=$?", extra_caps=("CAP_SYS_ADMIN",)
    )
    out = containers.run(spec)
    assert not out.endswith("rc=0\n"), out
    assert "not permitted" in out or "permission denied" in out, out


@pytest.mark.parametrize("syscall", sorted(UNLISTED))
def test_unlisted_syscall_works_without_the_profile(containers, syscall):
    """config.md#linux-process capabilities: the control for the test above: with
    CAP_SYS_ADMIN and no seccomp profile the same command succeeds."""
    spec = containers.spec(f"{UNLISTED[syscall]} 2>&1; echo rc=$?")
    spec.mounts.append(_scratch())
    spec.process.capability_sets = default_capability_sets(("CAP_SYS_ADMIN",))
    assert containers.run(spec).endswith("rc=0\n")


def test_realistic_seccomp_argument_rule_allows_matching_call(containers):
    """config-linux.md#seccomp args: personality(PER_LINUX) matches the SCMP_CMP_EQ rule and
    is allowed (busybox linux64)."""
    spec = realistic_spec(containers, "linux64 true 2>&1; echo rc=$?")
    assert containers.run(spec) == "rc=0\n"


def test_realistic_seccomp_argument_rule_refuses_other_arguments(containers):
    """config-linux.md#seccomp args: personality(PER_LINUX32) matches no rule, so the default
    action refuses it with EPERM (busybox linux32)."""
    spec = realistic_spec(containers, "linux32 true 2>&1; echo rc=$?")
    out = containers.run(spec)
    assert "not permitted" in out and not out.endswith("rc=0\n"), out


# --- capabilities -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["CapBnd", "CapEff", "CapPrm"])
def test_default_container_capabilities_are_applied(containers, field):
    """config.md#linux-process capabilities: with the default container set in bounding,
    effective and permitted, each set is exactly those 14 capabilities."""
    spec = containers.spec("cat /proc/self/status")
    spec.process.capability_sets = default_capability_sets()
    mask = sum(1 << CAP_BITS[cap] for cap in realistic()["capabilities"])
    assert int(status_field(containers.run(spec), field), 16) == mask


@pytest.mark.parametrize("field", ["CapInh", "CapAmb"])
def test_unlisted_capability_sets_stay_empty(containers, field):
    """config.md#linux-process capabilities: inheritable and ambient, left out of the config
    as runtimes' default specs do, are empty."""
    spec = containers.spec("cat /proc/self/status")
    spec.process.capability_sets = default_capability_sets()
    assert int(status_field(containers.run(spec), field), 16) == 0


def test_default_capabilities_bound_a_non_root_process(containers):
    """config.md#linux-process capabilities bounding, with a non-root process.user as in a
    pod with runAsUser: the bounding set is still the default set. (Effective and permitted
    come out empty in runc and crun alike: execve clears them for a non-root uid unless
    ambient is set, which runtimes' default specs leave out.)"""
    spec = realistic_spec(containers, "cat /proc/self/status")
    spec.process.user = User(uid=1000, gid=1000)
    mask = sum(1 << CAP_BITS[cap] for cap in realistic()["capabilities"])
    assert int(status_field(containers.run(spec), "CapBnd"), 16) == mask


def test_default_container_capabilities_work_under_the_profile(containers):
    """config.md#linux-process capabilities with config-linux.md#seccomp: root in the
    container can chown and mknod (CAP_CHOWN, CAP_MKNOD) under the realistic profile."""
    script = (
        f"touch {SCRATCH_DIR}/f && chown 1000:1000 {SCRATCH_DIR}/f && stat -c %u {SCRATCH_DIR}/f"
        f" && mknod {SCRATCH_DIR}/null c 1 3 && echo made"
    )
    assert containers.run(realistic_spec(containers, script)).split() == ["1000", "made"]


def host_bounding_set() -> int:
    return int(status_field(Path("/proc/self/status").read_text(), "CapBnd"), 16)


def test_capability_outside_the_runtime_bounding_set_does_not_fail_the_container(containers):
    """config.md#linux-process capabilities: "Runtimes SHOULD NOT fail if the container
    configuration requests capabilities that cannot be granted, for example, if the runtime
    operates in a restricted environment with a limited set of capabilities." A container
    asks for every capability; on a node whose own bounding set lacks one, it still runs."""
    own = host_bounding_set()
    missing = [f"CAP_{n}" for bit, n in enumerate(ALL_CAPS) if not own >> bit & 1]
    if not missing:
        pytest.skip("this host's bounding set has every capability: none is ungrantable here")
    spec = containers.spec("echo ran")
    spec.process.capabilities = [f"CAP_{n}" for n in ALL_CAPS]
    assert containers.run(spec) == "ran\n"


# --- rlimits ------------------------------------------------------------------------------


def realistic_rlimits() -> list[Rlimit]:
    """Every rlimit from the data file, each clamped to this process's own hard limit (a
    runtime without CAP_SYS_RESOURCE cannot raise one)."""
    own_rows = {
        line[:26].strip(): line[26:].split()[:2]
        for line in Path("/proc/self/limits").read_text().splitlines()
    }
    out = []
    for name, (soft, hard) in realistic()["rlimits"].items():
        own_hard = own_rows[LIMIT_ROWS[name]][1]
        own = RLIM_INFINITY if own_hard == "unlimited" else int(own_hard)
        soft = RLIM_INFINITY if soft == -1 else soft
        hard = RLIM_INFINITY if hard == -1 else hard
        hard = min(hard, own)
        out.append(Rlimit(name, min(soft, hard), hard))
    return out


def shown(value: int) -> str:
    return "unlimited" if value == RLIM_INFINITY else str(value)


@pytest.mark.parametrize("name", sorted(LIMIT_ROWS))
def test_every_rlimit_set_at_once_is_applied(containers, name):
    """config.md#posix-process rlimits: with all sixteen rlimits in one config (soft below
    hard, finite and unlimited values mixed), each one's soft and hard limit is set."""
    rlimits = realistic_rlimits()
    spec = containers.spec("cat /proc/self/limits")
    spec.process.rlimits = rlimits
    rows = {line[:26].strip(): line[26:].split()[:2] for line in containers.run(spec).splitlines()}
    wanted = next(r for r in rlimits if r.type == name)
    assert rows[LIMIT_ROWS[name]] == [shown(wanted.soft), shown(wanted.hard)]


# --- masked and readonly paths ------------------------------------------------------------

MASK_PROBE = (
    "if [ ! -e {p} ]; then echo absent; elif [ -d {p} ]; then ls -A {p} | wc -l;"
    " else wc -c < {p}; fi"
)


@pytest.mark.parametrize("path", realistic()["masked_paths"])
def test_containerd_default_masked_path_is_hidden(containers, path):
    """config-linux.md#masked-paths: with containerd's whole default list, each path that
    exists shows nothing: a file reads empty, a directory lists empty."""
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this host's kernel")
    spec = containers.spec(MASK_PROBE.format(p=path))
    spec.linux.masked_paths = list(realistic()["masked_paths"])
    assert containers.run(spec).strip() == "0"


@pytest.mark.parametrize("path", realistic()["readonly_paths"])
def test_containerd_default_readonly_path_is_mounted_read_only(containers, path):
    """config-linux.md#readonly-paths: with containerd's default list, each path is a
    read-only mount in the container."""
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this host's kernel")
    spec = containers.spec("cat /proc/self/mountinfo")
    spec.linux.readonly_paths = list(realistic()["readonly_paths"])
    found = [line.split() for line in containers.run(spec).splitlines() if line.split()[4] == path]
    assert found, f"{path} is not a mount point in the container"
    assert "ro" in found[-1][5].split(","), found[-1]


def test_containerd_default_readonly_proc_sys_rejects_writes(containers):
    """config-linux.md#readonly-paths: a write to /proc/sys (in the container's own network
    namespace) fails, with the realistic profile and capabilities in place too."""
    script = "echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo writable || echo ro"
    spec = realistic_spec(containers, script, extra_caps=("CAP_NET_ADMIN",))
    spec.linux.readonly_paths = list(realistic()["readonly_paths"])
    assert containers.run(spec) == "ro\n"


# --- the node's own mount propagation -----------------------------------------------------


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, timeout=10, capture_output=True)


@pytest.fixture(scope="module")
def node_rootfs(rootfs, workdir):
    """A rootfs as it sits on a systemd node: its own mount (like an overlay snapshot), under a
    parent mount that is rshared (systemd makes / shared). Yields the rootfs path."""
    parent = workdir / "node-root"
    parent.mkdir(exist_ok=True)
    mount("--bind", str(parent), str(parent))
    try:
        mount("--make-rshared", str(parent))
        target = parent / "rootfs"
        target.mkdir(exist_ok=True)
        mount("--rbind", str(rootfs), str(target))
        yield target
    finally:
        subprocess.run(["umount", "-R", "-l", str(parent)], timeout=10, check=False)


def test_node_rootfs_is_a_shared_mount(node_rootfs):
    """The fixture's premise: the rootfs is a mount point with a shared peer group on the
    host, as under systemd (not a runtime-spec rule)."""
    line = next(
        line.split()
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4] == str(node_rootfs)
    )
    assert any(f.startswith("shared:") for f in line[6 : line.index("-")]), line


ROOT_TAG = {"shared": "shared:", "slave": "master:", "private": None, "unbindable": "unbindable"}


@pytest.mark.parametrize("mode", sorted(ROOT_TAG))
def test_rootfs_propagation_under_a_shared_node_mount(containers, node_rootfs, mode):
    """config-linux.md#rootfs-mount-propagation: with the rootfs under the node's shared
    mount, the container's `/` gets the propagation mode asked for (shared: a peer group of
    its own, "not ... shared with the host"; slave: a master; private: neither)."""
    spec = containers.spec("cat /proc/self/mountinfo", root_path=str(node_rootfs))
    spec.linux.rootfs_propagation = mode
    lines = [line.split() for line in containers.run(spec).splitlines()]
    fields = [f for f in lines if f[4] == "/"][-1]
    optional = fields[6 : fields.index("-")]
    tag = ROOT_TAG[mode]
    if tag is None:
        assert optional == [], optional
    else:
        assert [f for f in optional if f.startswith(tag)], optional


def host_mounts_under(path: Path) -> list[str]:
    prefix = f"{path}/"
    return [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4].startswith(prefix)
    ]


@pytest.mark.parametrize("mode", ["private", "slave", None], ids=["private", "slave", "unset"])
def test_container_mounts_do_not_reach_the_node(containers, node_rootfs, mode):
    """config-linux.md#rootfs-mount-propagation: with private, slave (or no) propagation, the
    mounts the runtime makes inside the container (/proc, /dev, /sys, ...) do not appear on the
    node, although the rootfs sits under the node's shared mount."""
    before = host_mounts_under(node_rootfs)
    spec = containers.spec("echo ready; sleep 30", root_path=str(node_rootfs))
    spec.linux.rootfs_propagation = mode
    container = containers.create(spec)
    container.start()
    container.wait_output("ready")
    during = host_mounts_under(node_rootfs)
    containers.runtime.kill(container.id, "KILL")
    assert during == before


def node_mount_seen(containers, node_rootfs, mode: str) -> bool:
    """Start a container on the node rootfs, mount a tmpfs under that rootfs on the node, and
    tell whether the running container saw the mount appear."""
    script = (
        "echo ready; i=0; while [ $i -lt 50 ]; do"
        f" grep -q ' {SCRATCH_DIR} ' /proc/self/mountinfo && {{ echo seen; exit 0; }};"
        " sleep 0.1; i=$((i+1)); done; echo unseen"
    )
    spec = containers.spec(script, root_path=str(node_rootfs))
    spec.linux.rootfs_propagation = mode
    container = containers.create(spec)
    container.start()
    container.wait_output("ready")
    target = node_rootfs / SCRATCH_DIR.lstrip("/")
    mount("-t", "tmpfs", "-o", "size=1m", "ho-node", str(target))
    try:
        container.wait("stopped", timeout=30)
    finally:
        subprocess.run(["umount", "-l", str(target)], timeout=10, check=False)
    return container.bundle.stdout.split()[-1] == "seen"


def test_node_mount_reaches_a_slave_rootfs(containers, node_rootfs):
    """config-linux.md#rootfs-mount-propagation slave: "the rootfs mount receives propagation
    events from the host (e.g. if something is mounted on the host it will also appear in the
    container)": a mount the node makes under the rootfs after start appears inside."""
    assert node_mount_seen(containers, node_rootfs, "slave")


def test_node_mount_does_not_reach_a_private_rootfs(containers, node_rootfs):
    """config-linux.md#rootfs-mount-propagation private: "the rootfs mount doesn't receive
    mount propagation events from the host"."""
    assert not node_mount_seen(containers, node_rootfs, "private")
