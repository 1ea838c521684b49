"""Upgrade a lab's control plane to another pinned Kubernetes version, in place.

The lab's kube-apiserver, kube-controller-manager and kube-scheduler (host daemons recorded in
<lab dir>/kubernetes/cluster.json) are stopped and started again from the target version's
binaries over the same state: PKI, etcd data, address and port. etcd and CoreDNS keep running,
so the cluster's objects, and the kubeconfigs every node and tool holds, stay valid. The nodes'
kubelets are upgraded afterwards by playbooks/upgrade.yml (`harness upgrade`).

Kubernetes' version skew policy bounds the step: the control plane moves up by at most one
minor version at a time, never down, and the kubelets may not be newer than the API server.
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.errors import HarnessTimeout, InputError, StepFailed
from harness.kube import build, cluster
from harness.kube.controlplane import COMPONENTS, ControlPlane
from harness.lab import access, state

VERSION_TIMEOUT = 60.0


def version_tuple(version: str) -> tuple[int, int, int]:
    """"v1.24.17" or "1.24.17-dirty" -> (1, 24, 17)."""
    core = version.removeprefix("v").split("-", 1)[0].split("+", 1)[0]
    major, minor, patch = (int(n) for n in core.split(".")[:3])
    return major, minor, patch


def check_step(current: str, target: str, flag: str = "--to",
               what: str = "the cluster's") -> build.Release:
    """The pinned release `target` if the control plane (or what `what` names, e.g. a node's
    kubelet) may go there from `current`: the same version (nothing to do), a newer patch, or
    the next minor version."""
    rel = build.release(target, flag)
    current = current.removeprefix("v")
    now, to = version_tuple(current), version_tuple(rel.version)
    if to < now:
        raise InputError(
            f"{flag} {rel.version}: older than {what} {current}; a downgrade is not "
            "supported",
            hint=f"pass {flag} {current} or newer"
            + (" (restore etcd from a backup to go back)" if what == "the cluster's" else ""),
        )
    if to[:1] != now[:1] or to[1] - now[1] > 1:
        raise InputError(
            f"{flag} {rel.version}: skips a minor version from {what} {current} (version skew "
            "policy: one minor version per upgrade)",
            hint=f"upgrade to 1.{now[1] + 1} first, then to {rel.version}",
        )
    return rel


def etcd_url(record: cluster.ClusterRecord) -> str:
    """The etcd the recorded apiserver talks to (its --etcd-servers)."""
    pid, argv0 = record.pids["kube-apiserver"], record.argv0["kube-apiserver"]
    if not cluster.process_runs(pid, argv0):
        raise StepFailed(
            f"the recorded kube-apiserver (pid {pid}) does not run",
            hint="recreate the cluster with `harness lab up --kubernetes VERSION`",
        )
    for arg in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0"):
        if arg.startswith("--etcd-servers="):
            return arg.split("=", 1)[1].split(",")[0]
    raise StepFailed(f"kube-apiserver (pid {pid}) has no --etcd-servers")


def server_version(kubeconfig: str) -> str:
    """The API server's gitVersion, e.g. "v1.24.17"."""
    from kubernetes import client, config

    api = config.new_client_from_config(kubeconfig)
    try:
        return client.VersionApi(api).get_code().git_version
    finally:
        api.close()


def wait_server_version(kubeconfig: str, version: str, timeout: float = VERSION_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    seen = "no answer"
    while time.monotonic() < deadline:
        try:
            seen = server_version(kubeconfig)
        except Exception as err:  # noqa: BLE001 - any failure to answer means "not yet"
            seen = f"no answer ({type(err).__name__})"
        if seen.startswith("v") and version_tuple(seen) == version_tuple(version):
            return seen
        time.sleep(1)
    raise HarnessTimeout(f"the API server reports {seen}, not v{version}, after {timeout:.0f}s")


def upgrade_control_plane(lab: str, version: str, say=print) -> cluster.ClusterRecord:
    """Restart `lab`'s apiserver, controller-manager and scheduler from `version`'s binaries;
    return the updated record. Does nothing if the control plane already runs `version`.

    If the new components do not come up, the old version's are started again and the error
    is raised."""
    record = cluster.ClusterRecord.load(lab)
    if record is None:
        raise InputError(
            f"lab {lab!r} has no Kubernetes cluster ({cluster.ClusterRecord.path(lab)} is "
            "missing)",
            hint=f"run `harness lab up --name {lab} --kubernetes 1.23.17`",
        )
    rel = check_step(record.version, version)
    if record.version == rel.version and record.running(COMPONENTS):
        say(f"control plane already at {rel.version}")
        return record
    built = build.build(rel.version, say=say)
    url = etcd_url(record)
    old = build.build(record.version, say=say)  # the way back if the new version fails
    say(f"control plane {record.version} -> {rel.version} on {record.server} (etcd {url})")
    for name in reversed(COMPONENTS):  # one at a time, each given 10 s, as before the upgrade
        cluster.stop_pids([(record.pids[name], record.argv0[name])], grace=10.0)
    try:
        cp = ControlPlane.existing(built, cluster.cluster_dir(lab),
                                   record.server, url).start_components()
    except Exception:
        say(f"control plane {rel.version} did not start; starting {record.version} again")
        _record(record, ControlPlane.existing(old, cluster.cluster_dir(lab), record.server,
                                              url).start_components(), old).save(lab)
        raise
    record = _record(record, cp, built)
    record.save(lab)
    access.set_cluster(state.lab_dir(lab) / "inventory.yaml", record.kubeconfig, record.version)
    seen = wait_server_version(record.kubeconfig, rel.version)
    say(f"control plane {seen} ready on {record.server}")
    return record


def _record(record: cluster.ClusterRecord, cp: ControlPlane, built: build.Built):
    pids, argv0 = dict(record.pids), dict(record.argv0)
    for daemon in cp.daemons:
        pids[daemon.name] = daemon.proc.pid
        argv0[daemon.name] = daemon.argv[0]
    return cluster.ClusterRecord(built.version, record.server, record.kubeconfig,
                                 str(built.path("kubectl")), pids, argv0)


def require_control_plane(inventory, version: str) -> str:
    """For a cluster whose control plane is the operator's: its API server's version, if it
    runs `version` or newer; else an InputError saying to upgrade it first."""
    rel = build.release(version, "--to")
    current = server_version(str(inventory.cluster.kubeconfig))
    if version_tuple(current) < version_tuple(rel.version):
        raise InputError(
            f"--to {rel.version}: the API server runs {current}; the kubelets may not be newer "
            "than the control plane",
            hint=f"upgrade the control plane first (`kubeadm upgrade apply v{rel.version}` on a "
            "control-plane node), then run this again",
        )
    return current


def playbook_vars(version: str, say=print) -> dict:
    """Extra vars for playbooks/upgrade.yml: the target and the directory of its (built,
    verified) kubelet and kube-proxy."""
    built = build.build(version, say=say)
    return {"kubernetes_target": built.version, "kubernetes_bin_dir": str(built.bin_dir)}
