"""Namespaces: config-linux.md#namespaces and #user-namespace-mappings, checked from the host
(/proc/<pid>/ns, /proc/<pid>/uid_map) after create, and from inside for the mappings."""

import os
import subprocess
import time

import pytest

from harness.oci.bundle import IdMapping, Namespace
from harness.oci.runtime import OciRuntimeError

# config-linux.md namespace type -> /proc/<pid>/ns entry
NS_FILE = {
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "cgroup": "cgroup",
    "user": "user",
}
USER_MAP = IdMapping(container_id=0, host_id=100000, size=65536)


def ns_of(pid: int | str, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{NS_FILE[kind]}")


@pytest.fixture
def holder():
    """A host process in its own net, ipc and uts namespaces, to be joined by path."""
    proc = subprocess.Popen(["unshare", "--net", "--ipc", "--uts", "sleep", "60"])
    deadline = time.monotonic() + 10
    while ns_of(proc.pid, "network") == ns_of("self", "network"):
        assert time.monotonic() < deadline, "unshare never entered its namespaces"
        time.sleep(0.01)
    yield proc.pid
    proc.kill()
    proc.wait(10)


@pytest.mark.parametrize("kind", ["pid", "network", "ipc", "uts", "mount", "cgroup"])
def test_listed_namespace_is_new(containers, kind):
    """config-linux.md#namespaces: a listed namespace without path MUST be a new one."""
    spec = containers.spec("true")
    if spec.linux.namespace(kind) is None:
        spec.linux.namespaces.append(Namespace(kind))
    pid = containers.create(spec).state().pid
    assert ns_of(pid, kind) != ns_of("self", kind)


@pytest.mark.parametrize("kind", ["ipc", "network", "cgroup"])
def test_unlisted_namespace_is_inherited(containers, kind):
    """config-linux.md#namespaces: a type not listed is inherited from the runtime's
    namespace (the host's here)."""
    spec = containers.spec("true")
    spec.linux.namespaces = [n for n in spec.linux.namespaces if n.type != kind]
    pid = containers.create(spec).state().pid
    assert ns_of(pid, kind) == ns_of("self", kind)


@pytest.mark.parametrize("kind", ["network", "ipc", "uts"])
def test_namespace_is_joined_by_path(containers, holder, kind):
    """config-linux.md#namespaces path: the container process joins that namespace."""
    spec = containers.spec("true")
    spec.linux.namespace(kind).path = f"/proc/{holder}/ns/{NS_FILE[kind]}"
    pid = containers.create(spec).state().pid
    assert ns_of(pid, kind) == ns_of(holder, kind)


@pytest.mark.parametrize("kind, wrong", [("network", "ipc"), ("ipc", "uts"), ("uts", "net")])
def test_namespace_path_of_wrong_type_is_an_error(containers, runtime, holder, kind, wrong):
    """config-linux.md#namespaces: a path whose namespace type differs from `type` MUST be
    an error (runtime.md#errors: and leave no container)."""
    spec = containers.spec("true")
    spec.linux.namespace(kind).path = f"/proc/{holder}/ns/{wrong}"
    container_id = containers.new_id()
    with pytest.raises(OciRuntimeError):
        containers.create(spec, container_id=container_id)
    assert not runtime.exists(container_id)


def user_namespaced(containers, args: str):
    spec = containers.spec(args)
    spec.linux.namespaces.append(Namespace("user"))
    spec.linux.uid_mappings = [USER_MAP]
    spec.linux.gid_mappings = [USER_MAP]
    # The cgroup v1 hierarchies cannot be mounted from a user namespace without owning them.
    spec.mounts = [m for m in spec.mounts if m.type != "cgroup"]
    return spec


@pytest.mark.parametrize("mapping", ["uid_map", "gid_map"])
def test_user_namespace_mapping_seen_from_host(containers, mapping):
    """config-linux.md#user-namespace-mappings: uidMappings/gidMappings are written to the
    process's /proc/<pid>/uid_map and gid_map."""
    pid = containers.create(user_namespaced(containers, "true")).state().pid
    with open(f"/proc/{pid}/{mapping}") as text:
        assert text.read().split() == ["0", "100000", "65536"]


def test_user_namespace_process_is_mapped_uid_on_host(containers):
    """config-linux.md#user-namespace-mappings: container uid 0 is host uid 100000."""
    container = containers.create(user_namespaced(containers, "echo ready; exec sleep 60"))
    container.start()
    container.wait_output("ready")
    with open(f"/proc/{container.state().pid}/status") as status:
        uid_line = next(line for line in status if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["100000"] * 4


def test_user_namespace_mapping_seen_inside(containers):
    """config-linux.md#user-namespace-mappings: inside, the process is root of its map."""
    out = containers.run(user_namespaced(containers, "id -u; cat /proc/self/uid_map"))
    assert out.split() == ["0", "0", "100000", "65536"]
