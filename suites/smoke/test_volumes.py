"""Volumes on each node: ConfigMap, Secret, emptyDir, hostPath and projected, all mounted
in one pod (workloads.volumes)."""

from __future__ import annotations

import contextlib

import pytest

from .workloads import CONFIG_DATA, SECRET_DATA

pytestmark = [pytest.mark.per_node, pytest.mark.timeout(120)]


@pytest.fixture(scope="session", autouse=True)
def _remove_host_dirs(k, pods, nodes):
    """The hostPath directory (/tmp/<namespace>, workloads.host_dir) is the node's: remove
    it through the pod that sees the node's /tmp."""
    yield
    for node in nodes:
        with contextlib.suppress(Exception):  # a pod that never ran left nothing behind
            k.exec(pods("volumes", node), ["rm", "-rf", f"/host-tmp/{k.ns}"])


def test_configmap_keys_are_files(k, pods, node):
    """A configMap volume shows each key of the ConfigMap as a file with its value."""
    pod = k.running(pods("volumes", node)).metadata.name
    assert k.exec_ok(pod, ["cat", "/config/greeting"]) == CONFIG_DATA["greeting"]


def test_secret_keys_are_files(k, pods, node):
    """A secret volume shows each key decoded, on a tmpfs (Secrets never touch the node's
    disk)."""
    pod = k.running(pods("volumes", node)).metadata.name
    assert k.exec_ok(pod, ["cat", "/secret/password"]) == SECRET_DATA["password"]
    mounts = k.exec_ok(pod, ["cat", "/proc/mounts"])
    assert any(line.split()[1] == "/secret" and line.split()[2] == "tmpfs"
               for line in mounts.splitlines()), mounts


def test_empty_dir_is_shared_between_containers(k, pods, node):
    """An emptyDir lives as long as the pod: what the init container wrote there, the app
    container reads."""
    pod = k.running(pods("volumes", node)).metadata.name
    assert k.exec_ok(pod, ["cat", "/scratch/from-init"]) == "written-by-init\n"


def test_host_path_is_the_nodes_directory(k, pods, node):
    """A hostPath volume (type DirectoryOrCreate) is the node's directory: a file written
    through it shows in the node's /tmp, mounted separately."""
    pod = k.running(pods("volumes", node)).metadata.name
    k.exec_ok(pod, ["sh", "-c", "echo from-pod > /host-dir/file"])
    seen = k.exec_ok(pod, ["cat", f"/host-tmp/{k.ns}/file"])
    assert seen == "from-pod\n"


def test_projected_volume_combines_sources(k, pods, node):
    """A projected volume merges ConfigMap, Secret and downward API items into one
    directory."""
    pod = k.running(pods("volumes", node)).metadata.name
    read = {f: k.exec_ok(pod, ["cat", f"/projected/{f}"])
            for f in ("greeting", "password", "pod-name")}
    assert read == {"greeting": CONFIG_DATA["greeting"], "password": SECRET_DATA["password"],
                    "pod-name": pod}
