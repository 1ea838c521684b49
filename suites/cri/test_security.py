"""Security context: namespaces, users and groups, capabilities, read-only rootfs,
privileged, masked and read-only paths, seccomp, no_new_privs, AppArmor, user namespaces
(CRI v1 LinuxSandboxSecurityContext, LinuxContainerSecurityContext).

Process and filesystem settings are checked twice: in a process ExecSync starts, and on the
container's own (first) process, the workload. They can differ: the runtime builds an
ExecSync'd process from its own copy of the spec (containerd passes runc a separate
process.json), while the first process is made from the bundle's config.json, so a runtime may
apply a setting to one and not the other. The `test_first_process_*` tests read the first
process on the node, in /proc/<pid>.
"""

import errno
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.cri.client import CriError

pytestmark = [pytest.mark.security, pytest.mark.linux]


def out(pod, container_id, script) -> str:
    reply = pod.sh(container_id, script)
    return reply.stdout.decode().strip()


def uid(cri, value):
    return cri.pb.Int64Value(value=value)


# -- the container's own process ----------------------------------------------------------------

FIRST_COMMAND = ("sleep", "3600")


def context(cri, fields: dict) -> dict:
    """LinuxContainerSecurityContext fields from plain values: run_as_user and run_as_group as
    ints, capabilities as a dict of Capability fields; anything else as given."""
    wrap = {"run_as_user": lambda v: uid(cri, v), "run_as_group": lambda v: uid(cri, v),
            "capabilities": lambda v: cri.pb.Capability(**v)}
    return {key: wrap[key](value) if key in wrap else value for key, value in fields.items()}


@pytest.fixture
def first_process(cri, facts):
    """Starts a container running `sleep 3600` (busybox unless `image`) with the given security
    context (plain values, see `context`) and returns /proc/<pid> of its own process on the
    node, once that process runs the command (before, it is still the runtime's init). The pid
    comes from verbose ContainerStatus info."""
    if not facts.local_socket:
        pytest.skip("reading the container's own process needs the suite on the node (/proc)")
    want = b"".join(arg.encode() + b"\0" for arg in FIRST_COMMAND)

    def start(pod, security=None, image=None) -> Path:
        container_id = pod.start("first", FIRST_COMMAND, image=image,
                                 security=context(cri, security or {}))
        pid = pod.pid(container_id)
        if pid is None:
            pytest.skip(f"{facts.runtime_name} does not report the container pid in verbose "
                        "ContainerStatus info")
        proc = Path(f"/proc/{pid}")
        deadline = time.monotonic() + 10
        while (proc / "cmdline").read_bytes() != want:
            assert time.monotonic() < deadline, f"pid {pid} did not exec {FIRST_COMMAND} in 10s"
            time.sleep(0.02)
        return proc

    return start


def status_of(proc: Path) -> dict[str, str]:
    """/proc/<pid>/status as field name -> value."""
    lines = (proc / "status").read_text().splitlines()
    return {key: value.strip() for key, value in (line.split(":", 1) for line in lines)}


# -- namespaces ---------------------------------------------------------------------------------


def test_host_pid_sees_processes_of_other_pods(cri, pods, images):
    """NamespaceOption.pid NODE: the container sees host processes, e.g. another pod's
    server (pidof httpd)."""
    web = pods("web")
    web.start("web", [], image=images["web"].ref)
    pod = pods("hostpid", security={"namespace_options": {"pid": cri.pb.NODE}})
    container_id = pod.start("reader", security={"namespace_options": {"pid": cri.pb.NODE}})
    assert out(pod, container_id, "pidof httpd"), "no httpd visible in the host PID namespace"


def test_pod_pid_namespace_is_shared(cri, pods):
    """NamespaceOption.pid POD: containers share the sandbox's PID namespace, so PID 1 is
    the sandbox's process, not the container's own command."""
    pod = pods("podpid", security={"namespace_options": {"pid": cri.pb.POD}})
    container_id = pod.start("reader", ["sleep", "3600"],
                             security={"namespace_options": {"pid": cri.pb.POD}})
    assert not out(pod, container_id, "tr '\\0' ' ' < /proc/1/cmdline").startswith("sleep")


def test_container_pid_namespace_is_private(cri, pod):
    """NamespaceOption.pid CONTAINER (default): the container's own command is PID 1."""
    container_id = pod.start("reader", ["sleep", "3600"],
                             security={"namespace_options": {"pid": cri.pb.CONTAINER}})
    assert out(pod, container_id, "tr '\\0' ' ' < /proc/1/cmdline") == "sleep 3600"


@pytest.fixture
def host_shm_segment(facts):
    """A SysV shared memory segment created on the host (ipcmk), removed afterwards."""
    if not facts.local_socket:
        pytest.skip("needs the suite on the node to create a host IPC object")
    made = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"ipcmk could not create a host segment: {made.stderr.strip()}")
    shmid = made.stdout.strip().rsplit(" ", 1)[-1]
    yield shmid
    subprocess.run(["ipcrm", "-m", shmid], capture_output=True, check=False)


def _shm_ids(pod, container_id):
    table = out(pod, container_id, "cat /proc/sysvipc/shm").splitlines()[1:]
    return {line.split()[1] for line in table}


def test_host_ipc_sees_host_shared_memory(cri, pods, host_shm_segment):
    """NamespaceOption.ipc NODE: a host SysV shm segment is visible in the container."""
    pod = pods("hostipc", security={"namespace_options": {"ipc": cri.pb.NODE}})
    container_id = pod.start("reader")
    assert host_shm_segment in _shm_ids(pod, container_id)


def test_pod_ipc_hides_host_shared_memory(cri, pod, host_shm_segment):
    """NamespaceOption.ipc POD (default): the host's shm segment is not visible."""
    assert host_shm_segment not in _shm_ids(pod, pod.start("reader"))


@pytest.fixture
def host_listener(facts):
    """A TCP port listening on the host (loopback), closed afterwards."""
    if not facts.local_socket:
        pytest.skip("needs the suite on the node to listen on a host port")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _listening(pod, container_id, port) -> bool:
    return f":{port} " in out(pod, container_id, "netstat -ltn")


def test_host_network_sees_host_ports(cri, pods, host_listener):
    """NamespaceOption.network NODE: a port listening on the host is listed in the container."""
    pod = pods("hostnet", security={"namespace_options": {"network": cri.pb.NODE}})
    assert _listening(pod, pod.start("reader"), host_listener)


def test_pod_network_hides_host_ports(cri, pod, host_listener):
    """NamespaceOption.network POD (default): the host's listening port is not listed."""
    assert not _listening(pod, pod.start("reader"), host_listener)


# -- users and groups ---------------------------------------------------------------------------


def test_run_as_user(cri, pod):
    """LinuxContainerSecurityContext.run_as_user sets the process uid."""
    container_id = pod.start("user", security={"run_as_user": uid(cri, 1001)})
    assert out(pod, container_id, "id -u") == "1001"


def test_run_as_username(cri, pod):
    """run_as_username resolves the name in the image's /etc/passwd."""
    container_id = pod.start("user", security={"run_as_username": "nobody"})
    assert out(pod, container_id, "id -nu") == "nobody"


def test_run_as_group(cri, pod):
    """run_as_group (with run_as_user) sets the process gid."""
    security = {"run_as_user": uid(cri, 1001), "run_as_group": uid(cri, 1002)}
    container_id = pod.start("user", security=security)
    assert out(pod, container_id, "echo $(id -u):$(id -g)") == "1001:1002"


def test_run_as_group_without_user_is_rejected(cri, pod):
    """run_as_group without run_as_user or run_as_username: CreateContainer fails."""
    with pytest.raises(CriError):
        pod.create("user", security={"run_as_group": uid(cri, 1002)})


def test_supplemental_groups(cri, pod):
    """supplemental_groups are added to the process's groups."""
    security = {"run_as_user": uid(cri, 1001), "supplemental_groups": [1234, 5678]}
    groups = out(pod, pod.start("user", security=security), "id -G").split()
    assert {"1234", "5678"} <= set(groups)


def test_supplemental_groups_from_image_group_file(cri, pod):
    """A uid listed in groups of the image's /etc/group gets them (busybox fixture: tester,
    uid 1000, in extra1 1001 and extra2 1002), as the OCI runtime spec's user resolution does."""
    groups = out(pod, pod.start("user", security={"run_as_user": uid(cri, 1000)}), "id -G")
    assert {"1001", "1002"} <= set(groups.split())


@pytest.fixture
def supplemental_groups_policy(cri):
    features = getattr(cri.status().features, "supplemental_groups_policy", False)
    if not features:
        pytest.skip("runtime does not report Status.features.supplemental_groups_policy")


def test_supplemental_groups_policy_strict_ignores_image_groups(cri, pod,
                                                                supplemental_groups_policy):
    """supplemental_groups_policy Strict: only the given groups, not the image's."""
    security = {"run_as_user": uid(cri, 1000), "supplemental_groups": [1234],
                "supplemental_groups_policy": cri.pb.Strict}
    groups = set(out(pod, pod.start("user", security=security), "id -G").split())
    assert "1234" in groups and "1001" not in groups


def test_image_user_is_used_without_security_context(cri, pod, images):
    """With no run_as_user, the image's USER (user-uid fixture: 1002) is the process uid."""
    container_id = pod.start("user", image=images["user-uid"].ref)
    assert out(pod, container_id, "id -u") == "1002"


@pytest.mark.parametrize(("security", "field", "expected"), [
    pytest.param({"run_as_user": 1001}, "Uid", "1001", id="run_as_user"),
    pytest.param({"run_as_username": "nobody"}, "Uid", "65534", id="run_as_username"),
    pytest.param({"run_as_user": 1001, "run_as_group": 1002}, "Gid", "1002", id="run_as_group"),
])
def test_first_process_runs_as_requested_ids(pod, first_process, security, field, expected):
    """LinuxContainerSecurityContext.run_as_user, run_as_username (busybox fixture: nobody is
    65534) and run_as_group hold for the container's own process: real, effective, saved and
    filesystem id."""
    assert status_of(first_process(pod, security))[field].split() == [expected] * 4


@pytest.mark.parametrize(("security", "expected"), [
    pytest.param({"run_as_user": 1001, "supplemental_groups": [1234, 5678]}, {"1234", "5678"},
                 id="supplemental_groups"),
    pytest.param({"run_as_user": 1000}, {"1001", "1002"}, id="image_group_file"),
])
def test_first_process_has_supplementary_groups(pod, first_process, security, expected):
    """LinuxContainerSecurityContext.supplemental_groups, and the groups the image's /etc/group
    gives the uid (tester, 1000: 1001 and 1002), are groups of the container's own process."""
    assert expected <= set(status_of(first_process(pod, security))["Groups"].split())


def test_first_process_strict_groups_policy_ignores_image_groups(cri, pod, first_process,
                                                                 supplemental_groups_policy):
    """LinuxContainerSecurityContext.supplemental_groups_policy Strict: the container's own
    process has the given group, not the image's."""
    security = {"run_as_user": 1000, "supplemental_groups": [1234],
                "supplemental_groups_policy": cri.pb.Strict}
    groups = set(status_of(first_process(pod, security))["Groups"].split())
    assert "1234" in groups and "1001" not in groups


def test_first_process_runs_as_image_user(pod, images, first_process):
    """No LinuxContainerSecurityContext.run_as_user: the container's own process runs as the
    image's USER (user-uid fixture: 1002)."""
    proc = first_process(pod, image=images["user-uid"].ref)
    assert status_of(proc)["Uid"].split() == ["1002"] * 4


# -- filesystem ---------------------------------------------------------------------------------


def test_rootfs_is_writable_by_default(cri, pod):
    """readonly_rootfs false: the container can create a file at /."""
    assert pod.sh(pod.start("rw"), "touch /hc-file").exit_code == 0


def test_readonly_rootfs_refuses_writes(cri, pod):
    """readonly_rootfs true: creating a file at / fails with a read-only file system error."""
    reply = pod.sh(pod.start("ro", security={"readonly_rootfs": True}), "touch /hc-file")
    assert reply.exit_code != 0
    assert b"Read-only file system" in reply.stderr


def test_masked_path_file_reads_empty(cri, pod):
    """masked_paths: a masked file reads as empty (the runtime binds /dev/null over it)."""
    container_id = pod.start("masked", security={"masked_paths": ["/etc/group"]})
    assert pod.sh(container_id, "cat /etc/group").stdout == b""


def test_masked_path_directory_is_empty(cri, pod):
    """masked_paths: a masked directory shows nothing (a read-only empty tmpfs)."""
    container_id = pod.start("masked", security={"masked_paths": ["/home/tester"]})
    assert pod.sh(container_id, "touch /home/tester/x; ls -A /home/tester").stdout == b""


def test_readonly_path_refuses_writes(cri, pod):
    """readonly_paths: writing below a read-only path fails."""
    container_id = pod.start("ro", security={"readonly_paths": ["/tmp"]})
    reply = pod.sh(container_id, "touch /tmp/test")
    assert reply.stderr == b"touch: /tmp/test: Read-only file system\n"


def _create_error(path: Path) -> str | None:
    """The errno name creating the file `path` fails with, None when it is created."""
    try:
        path.touch()
    except OSError as err:
        return errno.errorcode.get(err.errno, str(err.errno))
    return None


def test_first_process_rootfs_is_writable_by_default(pod, first_process):
    """LinuxContainerSecurityContext.readonly_rootfs false: a file can be created at / of the
    container's own process (the node writing through /proc/<pid>/root)."""
    assert _create_error(first_process(pod) / "root" / "hc-file") is None


@pytest.mark.parametrize(("security", "path"), [
    pytest.param({"readonly_rootfs": True}, "hc-file", id="readonly_rootfs"),
    pytest.param({"readonly_paths": ["/tmp"]}, "tmp/hc-file", id="readonly_paths"),
])
def test_first_process_refuses_writes_to_read_only_path(pod, first_process, security, path):
    """LinuxContainerSecurityContext.readonly_rootfs and readonly_paths: in the container's own
    process's mounts (/proc/<pid>/root), creating a file at / or below the path fails EROFS."""
    assert _create_error(first_process(pod, security) / "root" / path) == "EROFS"


@pytest.mark.parametrize("path", ["etc/group", "home/tester"], ids=["file", "directory"])
def test_first_process_sees_masked_path_empty(pod, first_process, path):
    """LinuxContainerSecurityContext.masked_paths: in the container's own process's mounts
    (/proc/<pid>/root) a masked file reads empty and a masked directory lists nothing."""
    masked = first_process(pod, {"masked_paths": [f"/{path}"]}) / "root" / path
    assert not (os.listdir(masked) if masked.is_dir() else masked.read_bytes())


# -- privileges and capabilities ----------------------------------------------------------------


def _bridge_add(pod, container_id):
    return pod.sh(container_id, "brctl addbr hcbr0 && brctl delbr hcbr0")


def test_privileged_container_may_add_bridge(cri, pods):
    """privileged true: the container has all capabilities (brctl addbr succeeds)."""
    pod = pods("priv", security={"privileged": True})
    container_id = pod.start("priv", security={"privileged": True})
    assert _bridge_add(pod, container_id).exit_code == 0


def test_unprivileged_container_may_not_add_bridge(cri, pod):
    """privileged false: brctl addbr fails (no CAP_NET_ADMIN)."""
    assert _bridge_add(pod, pod.start("plain")).exit_code != 0


def test_privileged_container_sees_host_devices(cri, pods):
    """privileged true: host devices are in /dev (e.g. /dev/kmsg or loop devices)."""
    pod = pods("priv", security={"privileged": True})
    container_id = pod.start("priv", security={"privileged": True})
    assert pod.sh(container_id, "ls /dev | grep -c -E '^(kmsg|loop[0-9]+|mem)$'").stdout != b"0\n"


def test_added_capability_is_granted(cri, pod):
    """capabilities.add_capabilities NET_ADMIN allows brctl addbr."""
    caps = cri.pb.Capability(add_capabilities=["NET_ADMIN"])
    assert _bridge_add(pod, pod.start("cap", security={"capabilities": caps})).exit_code == 0


def test_dropped_capability_is_removed(cri, pod):
    """capabilities.drop_capabilities NET_RAW: ping (a raw socket) is refused."""
    caps = cri.pb.Capability(drop_capabilities=["NET_RAW"])
    reply = pod.sh(pod.start("cap", security={"capabilities": caps}), "ping -c 1 -W 1 127.0.0.1")
    assert reply.exit_code != 0
    assert b"permission denied" in reply.stderr.lower() or b"not permitted" in reply.stderr


def _cap_bounding(pod, container_id) -> int:
    line = out(pod, container_id, "grep CapBnd /proc/self/status")
    return int(line.split()[1], 16)


def test_add_all_capabilities(cri, pod):
    """capabilities.add_capabilities ALL: the bounding set is not empty and holds
    CAP_SYS_ADMIN (bit 21)."""
    caps = cri.pb.Capability(add_capabilities=["ALL"])
    assert _cap_bounding(pod, pod.start("cap", security={"capabilities": caps})) & (1 << 21)


def test_drop_all_capabilities(cri, pod):
    """capabilities.drop_capabilities ALL: the bounding set is 0."""
    caps = cri.pb.Capability(drop_capabilities=["ALL"])
    assert _cap_bounding(pod, pod.start("cap", security={"capabilities": caps})) == 0


CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN = 12, 13, 21  # bits in /proc/<pid>/status Cap*


def _holds(status, field, bit) -> bool:
    return bool(int(status[field], 16) >> bit & 1)


@pytest.mark.parametrize(("capabilities", "bit", "held"), [
    pytest.param({"add_capabilities": ["NET_ADMIN"]}, CAP_NET_ADMIN, True, id="add-NET_ADMIN"),
    pytest.param({"drop_capabilities": ["NET_RAW"]}, CAP_NET_RAW, False, id="drop-NET_RAW"),
    pytest.param({"add_capabilities": ["ALL"]}, CAP_SYS_ADMIN, True, id="add-ALL"),
])
def test_first_process_capability_sets(pod, first_process, capabilities, bit, held):
    """LinuxContainerSecurityContext.capabilities add_capabilities / drop_capabilities: the
    container's own process holds an added capability (ALL: CAP_SYS_ADMIN among them) in its
    effective and bounding sets, and a dropped one in neither."""
    status = status_of(first_process(pod, {"capabilities": capabilities}))
    assert [_holds(status, field, bit) for field in ("CapEff", "CapBnd")] == [held, held]


def test_first_process_has_no_capabilities_after_drop_all(pod, first_process):
    """LinuxContainerSecurityContext.capabilities.drop_capabilities ALL: the container's own
    process has empty permitted, effective and bounding sets."""
    status = status_of(first_process(pod, {"capabilities": {"drop_capabilities": ["ALL"]}}))
    assert [int(status[field], 16) for field in ("CapPrm", "CapEff", "CapBnd")] == [0, 0, 0]


@pytest.mark.parametrize("privileged", [True, False], ids=["privileged", "unprivileged"])
def test_first_process_admin_capabilities_follow_privileged(pods, first_process, privileged):
    """LinuxContainerSecurityContext.privileged: the container's own process has CAP_NET_ADMIN
    and CAP_SYS_ADMIN effective when privileged, neither when not."""
    pod = pods("priv", security={"privileged": privileged})
    status = status_of(first_process(pod, {"privileged": privileged}))
    held = [_holds(status, "CapEff", bit) for bit in (CAP_NET_ADMIN, CAP_SYS_ADMIN)]
    assert held == [privileged, privileged]


# -- seccomp ------------------------------------------------------------------------------------


def _filters(status: dict[str, str]) -> int:
    """How many seccomp filters a process runs under, from its /proc/<pid>/status fields."""
    return 0 if status["Seccomp"].strip() == "0" else int(status["Seccomp_filters"])


def _seccomp_filters(pod, container_id) -> int:
    """How many seccomp filters an ExecSync'd process runs under (/proc/self/status)."""
    status = out(pod, container_id, "grep '^Seccomp' /proc/self/status")
    return _filters(dict(line.split(":", 1) for line in status.splitlines()))


@pytest.fixture(scope="session")
def inherited_filters(facts) -> int:
    """Filters every process on this node has before a runtime adds any: none on a plain node,
    one on a systemd-nspawn machine (nspawn filters the whole machine). Read from the node's
    init, so a runtime's filter is told apart from the node's own."""
    if facts.local_socket is None:
        pytest.skip("needs the node's /proc: the suite does not run on the runtime's node")
    return _filters(status_of(Path("/proc/1")))


def profile(cri, kind, path=""):
    types = cri.pb.SecurityProfile.ProfileType
    return cri.pb.SecurityProfile(profile_type=types.Value(kind), localhost_ref=str(path))


def test_seccomp_runtime_default_filters(cri, pod, inherited_filters):
    """seccomp RuntimeDefault: the runtime adds a seccomp filter of its own (Seccomp: 2, one
    filter more than the node's processes have)."""
    security = {"seccomp": profile(cri, "RuntimeDefault")}
    assert _seccomp_filters(pod, pod.start("seccomp", security=security)) > inherited_filters


def test_seccomp_runtime_default_blocks_unshare_of_user_ns(cri, pod):
    """seccomp RuntimeDefault blocks namespace creation without CAP_SYS_ADMIN (unshare)."""
    security = {"seccomp": profile(cri, "RuntimeDefault")}
    reply = pod.sh(pod.start("seccomp", security=security), "unshare -U true")
    assert reply.exit_code != 0


def test_seccomp_unconfined(cri, pod, inherited_filters):
    """seccomp Unconfined: the runtime adds no filter (Seccomp: 0 on a plain node)."""
    security = {"seccomp": profile(cri, "Unconfined")}
    assert _seccomp_filters(pod, pod.start("seccomp", security=security)) == inherited_filters


def test_seccomp_nil_profile_is_unconfined(cri, pod, inherited_filters):
    """No seccomp profile in the request: unconfined (CRI: kubelet sends RuntimeDefault when it
    wants the default)."""
    assert _seccomp_filters(pod, pod.start("seccomp")) == inherited_filters


def _blocking_profile(host_dir, syscalls):
    path = host_dir / "profile.json"
    path.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": syscalls, "action": "SCMP_ACT_ERRNO"}],
    }))
    return path


def test_seccomp_localhost_profile_is_enforced(cri, pod, host_dir):
    """seccomp Localhost with localhost_ref: a profile blocking chmod makes chmod fail with
    EPERM."""
    path = _blocking_profile(host_dir, ["chmod", "fchmod", "fchmodat"])
    container_id = pod.start("seccomp", security={"seccomp": profile(cri, "Localhost", path)})
    reply = pod.sh(container_id, "chmod 400 /tmp")
    assert reply.exit_code != 0
    assert b"Operation not permitted" in reply.stderr


@pytest.mark.parametrize("kind", ["RuntimeDefault", "Localhost"])
def test_first_process_runs_under_seccomp_filter(cri, pod, first_process, inherited_filters,
                                                 host_dir, kind):
    """LinuxContainerSecurityContext.seccomp RuntimeDefault, or Localhost with localhost_ref (a
    profile blocking chmod): the container's own process runs under a filter the runtime
    added."""
    path = _blocking_profile(host_dir, ["chmod"]) if kind == "Localhost" else ""
    proc = first_process(pod, {"seccomp": profile(cri, kind, path)})
    assert _filters(status_of(proc)) > inherited_filters


@pytest.mark.parametrize("kind", ["Unconfined", None], ids=["Unconfined", "nil"])
def test_first_process_runs_without_seccomp_filter(cri, pod, first_process, inherited_filters,
                                                   kind):
    """LinuxContainerSecurityContext.seccomp Unconfined, or no profile: the container's own
    process has no filter beyond the node's."""
    proc = first_process(pod, {"seccomp": profile(cri, kind)} if kind else {})
    assert _filters(status_of(proc)) == inherited_filters


def test_unconfined_with_sys_admin_may_set_hostname(cri, pod):
    """Unconfined seccomp plus CAP_SYS_ADMIN: sethostname in the pod's UTS namespace works."""
    security = {"seccomp": profile(cri, "Unconfined"),
                "capabilities": cri.pb.Capability(add_capabilities=["SYS_ADMIN"])}
    assert pod.sh(pod.start("host", security=security), "hostname hc-set").exit_code == 0


def test_localhost_profile_blocks_sethostname_despite_sys_admin(cri, pod, host_dir):
    """A Localhost profile blocking sethostname wins over CAP_SYS_ADMIN."""
    path = _blocking_profile(host_dir, ["sethostname"])
    security = {"seccomp": profile(cri, "Localhost", path),
                "capabilities": cri.pb.Capability(add_capabilities=["SYS_ADMIN"])}
    assert pod.sh(pod.start("host", security=security), "hostname hc-set").exit_code != 0


def test_privileged_ignores_seccomp_profile(cri, pods, host_dir):
    """privileged true: the seccomp profile is not applied (sethostname works)."""
    path = _blocking_profile(host_dir, ["sethostname"])
    pod = pods("priv", security={"privileged": True})
    security = {"privileged": True, "seccomp": profile(cri, "Localhost", path)}
    assert pod.sh(pod.start("host", security=security), "hostname hc-set").exit_code == 0


# -- no_new_privs -------------------------------------------------------------------------------


def test_no_new_privs_blocks_setuid(cri, pod, images):
    """no_new_privs true: a setuid-root binary run by uid 1000 keeps euid 1000."""
    reply = pod.sh(pod.start("probe", image=images["nonewprivs"].ref,
                             security={"no_new_privs": True}), "/usr/local/bin/euid")
    assert reply.stdout == b"euid=1000 uid=1000\n"


def test_without_no_new_privs_setuid_works(cri, pod, images):
    """no_new_privs false: the setuid-root binary gets euid 0."""
    container_id = pod.start("probe", image=images["nonewprivs"].ref,
                             security={"no_new_privs": False})
    assert pod.sh(container_id, "/usr/local/bin/euid").stdout == b"euid=0 uid=1000\n"


@pytest.mark.parametrize("no_new_privs", [True, False], ids=["set", "unset"])
def test_first_process_no_new_privs_flag(pod, first_process, no_new_privs):
    """LinuxContainerSecurityContext.no_new_privs: the container's own process has NoNewPrivs 1
    when it is set and 0 when not (/proc/<pid>/status)."""
    status = status_of(first_process(pod, {"no_new_privs": no_new_privs}))
    assert status["NoNewPrivs"] == str(int(no_new_privs))


# -- LSMs and user namespaces -------------------------------------------------------------------


DENY_WRITE_PROFILE = """#include <tunables/global>
profile hc-cri-deny-write flags=(attach_disconnected) {
  #include <abstractions/base>
  file,
  deny /** w,
}
"""


@pytest.fixture
def apparmor_deny_write(cri, facts, host_dir):
    """The profile `hc-cri-deny-write` loaded on the node (apparmor_parser), unloaded after;
    returns the security context fields kubelet >= 1.30 sends for it (both the deprecated
    string and the structured field, so older runtimes such as containerd 1.6 understand)."""
    parser = shutil.which("apparmor_parser")
    if not facts.apparmor or not parser:
        pytest.skip("AppArmor is not enabled on this host (/sys/module/apparmor/parameters/"
                    "enabled is not Y), apparmor_parser is missing, or the suite does not run "
                    "on the node")
    path = host_dir / "hc-cri-deny-write"
    path.write_text(DENY_WRITE_PROFILE)
    subprocess.run([parser, "-r", "-W", str(path)], check=True, capture_output=True, timeout=60)
    yield {"apparmor_profile": "localhost/hc-cri-deny-write",
           "apparmor": profile(cri, "Localhost", "hc-cri-deny-write")}
    subprocess.run([parser, "-R", str(path)], capture_output=True, timeout=60)


def test_apparmor_profile_is_enforced(cri, pod, apparmor_deny_write):
    """apparmor Localhost profile denying writes: the container cannot create a file."""
    container_id = pod.start("apparmor", security=apparmor_deny_write)
    assert pod.sh(container_id, "touch /tmp/foo").exit_code != 0


def test_first_process_runs_under_apparmor_profile(pod, first_process, apparmor_deny_write):
    """LinuxContainerSecurityContext.apparmor (and apparmor_profile) Localhost: the container's
    own process is confined by the profile (/proc/<pid>/attr/current)."""
    label = (first_process(pod, apparmor_deny_write) / "attr" / "current").read_text()
    assert label.strip("\0\n ") == "hc-cri-deny-write (enforce)"


def test_unloaded_apparmor_profile_is_rejected(cri, pod, apparmor_deny_write):
    """apparmor Localhost naming a profile that is not loaded: CreateContainer fails."""
    missing = {"apparmor_profile": "localhost/hc-cri-not-loaded",
               "apparmor": profile(cri, "Localhost", "hc-cri-not-loaded")}
    with pytest.raises(CriError):
        pod.create("apparmor", security=missing)


def test_user_namespace_pod_mode(cri, facts, runtime_handler, pods):
    """NamespaceOption.userns_options POD: the container's uid 0 maps to a host range."""
    features = facts.handler_features.get(runtime_handler) or {}
    if not features.get("user_namespaces"):
        pytest.skip(f"runtime handler {runtime_handler or '(default)'} does not report "
                    "features.user_namespaces in Status.runtime_handlers")
    mapping = cri.pb.IDMapping(host_id=100000, container_id=0, length=65536)
    userns = cri.pb.UserNamespace(mode=cri.pb.POD, uids=[mapping], gids=[mapping])
    pod = pods("userns", security={"namespace_options": {"userns_options": userns}})
    container_id = pod.start("reader", security={
        "namespace_options": {"userns_options": userns}})
    assert out(pod, container_id, "cat /proc/self/uid_map").split() == ["0", "100000", "65536"]
