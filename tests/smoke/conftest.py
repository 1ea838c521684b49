"""Fixtures for the smoke suite's own tests: one Kubernetes lab (`hs`, 2 nodes, 1.23.17 on
Docker) for the session, a runner that executes suites/smoke against it and reads back its
JUnit, and the means to break one node's parts (and mend them)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from labs import kube_lab
from outcomes import SuiteRun, read_junit

from harness.inventory import Inventory
from harness.transport import open_transport

REPO = Path(__file__).resolve().parents[2]
FAULTY_RUNTIME = Path(__file__).with_name("faulty_runtime.py")
CGROUP_PARENT = "harness-smoke-fault"  # faulty_runtime.CGROUP_PARENT
LAB = "hs"
MANAGED = "app.kubernetes.io/managed-by=harness-smoke"


@dataclass(frozen=True)
class SmokeLab:
    name: str
    inventory: Inventory
    kubeconfig: str
    api: object  # kubernetes.client.ApiClient as kubernetes-admin
    gateway: str  # the host's address on the lab bridge

    def node(self, index: int):
        return self.inventory.nodes[index]

    def run(self, index: int, command: str, timeout: float = 60, check: bool = True):
        """A shell command on node `index` (as root, over the lab's ssh)."""
        with open_transport(self.node(index)) as t:
            return t.run(command, timeout=timeout, check=check)

    def managed_namespaces(self) -> list[str]:
        from kubernetes import client

        return [ns.metadata.name for ns in client.CoreV1Api(self.api).list_namespace(
            label_selector=MANAGED).items]


@pytest.fixture(scope="session")
def smoke_lab():
    from harness.lab import state

    with kube_lab(LAB) as lab:
        yield SmokeLab(lab.name, lab.inventory, str(lab.inventory.cluster.kubeconfig), lab.api,
                       state.load(LAB).network.gateway)


def suite_argv(lab: SmokeLab, junit: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites/smoke", "-p", "no:cacheprovider", "-q",
            "--kubeconfig", lab.kubeconfig, f"--junitxml={junit}", *args]


SUITE_ENV = {**os.environ, "COLUMNS": "250"}  # failure reasons in the summary, uncut


@pytest.fixture
def run_suite(smoke_lab):
    """`pytest suites/smoke --kubeconfig LAB ARGS` in a subprocess, JUnit parsed."""
    def run(*args: str, timeout: float = 300) -> SuiteRun:
        with tempfile.TemporaryDirectory(prefix="hs-junit-") as tmp:
            junit = Path(tmp) / "smoke.xml"
            proc = subprocess.run(suite_argv(smoke_lab, junit, *args), cwd=REPO,
                                  capture_output=True, text=True, timeout=timeout,
                                  check=False, env=SUITE_ENV)
            if not junit.exists():
                pytest.fail(f"suite wrote no JUnit (rc {proc.returncode}): "
                            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
            return SuiteRun(read_junit(junit), proc.returncode, proc.stdout + proc.stderr)
    return run


def wait_for(what: str, check, timeout: float = 90.0, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return result


def node_ready(lab: SmokeLab, index: int) -> bool:
    from kubernetes import client

    node = client.CoreV1Api(lab.api).read_node(lab.node(index).name)
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


@contextmanager
def faulty_default_runtime(lab: SmokeLab, index: int):
    """Docker's default runtime on node `index` (the lab's oom-clamp wrapper from daemon.json,
    else runc) moved aside and replaced by faulty_runtime.py, which execs it. Docker runs the
    runtime's path for each new container: no daemon restart is needed either way."""
    find = ("python3 -c 'import json,shutil; c=json.load(open(\"/etc/docker/daemon.json\")); "
            "d=c.get(\"default-runtime\"); "
            "print(c.get(\"runtimes\",{}).get(d,{}).get(\"path\") or shutil.which(\"runc\"))'")
    path = lab.run(index, find).stdout.strip()
    with open_transport(lab.node(index)) as t:
        t.put(FAULTY_RUNTIME, f"{path}.faulty", mode=0o755)
    lab.run(index, f"mv {path} {path}.real && mv {path}.faulty {path}")
    try:
        yield path
    finally:
        lab.run(index, f"mv {path}.real {path}; "
                f"rmdir /sys/fs/cgroup/*/{CGROUP_PARENT} 2>/dev/null; true")
