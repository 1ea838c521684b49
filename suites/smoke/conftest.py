"""The workload smoke suite's pytest plugin: options, the cluster client, the target nodes as
test parameters, the fixture-image check, the run's namespace and the pods created up front.

`pytest suites/smoke` uses $KUBECONFIG (else ~/.kube/config) and its current context.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import config as kubeconfig
from kubernetes.client.exceptions import ApiException

from harness import allowed_skips

from . import kube, workloads

ALLOWED_SKIPS = Path(__file__).parent / "allowed-skips.yaml"
REGISTRY_ENV = "HARNESS_SMOKE_REGISTRY"
MAX_NAMES_PER_IMAGE = 5  # kubelet's maxNamesPerImageInNodeStatus
NODES = pytest.StashKey[list]()  # names of the target nodes, found at session start


def pytest_addoption(parser):
    group = parser.getgroup("smoke", "workload smoke suite (suites/smoke)")
    group.addoption("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else "
                    "~/.kube/config)")
    group.addoption("--context", help="kubeconfig context (default: the current one)")
    group.addoption("--registry", metavar="HOST:PORT", default=os.environ.get(REGISTRY_ENV),
                    help="a registry the nodes pull from over plain HTTP (an insecure "
                    f"registry to Docker, or in containerd's registry config); ${REGISTRY_ENV}. "
                    "The suite pushes its image there; without it the pull test skips")
    group.addoption("--registry-user", default=os.environ.get(f"{REGISTRY_ENV}_USER"),
                    help=f"registry user (${REGISTRY_ENV}_USER)")
    group.addoption("--registry-password", default=os.environ.get(f"{REGISTRY_ENV}_PASSWORD"),
                    help=f"registry password (${REGISTRY_ENV}_PASSWORD)")
    allowed_skips.add_options(group, ALLOWED_SKIPS)


def api_client(config):
    try:
        return kubeconfig.new_client_from_config(config_file=config.getoption("kubeconfig"),
                                                 context=config.getoption("context"))
    except Exception as err:  # the loader raises ConfigException, OSError, TypeError, ...
        raise pytest.UsageError(f"smoke suite: cannot load the kubeconfig: {err}") from err


def pytest_configure(config):
    config.addinivalue_line("markers", "per_node: runs on every schedulable Ready node")
    allowed_skips.configure(config)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # The cluster's nodes may run different runtimes: entries hold for any.
    allowed_skips.enforce_configured(item, (yield).get_result(), None)


def pytest_sessionstart(session):
    """Fail once, in one line, when the cluster does not answer, has no node to run on, or a
    node lacks a fixture image (no registry is reachable, so nothing could pull it)."""
    try:
        session.config.stash[NODES] = _check_cluster(session.config)
    except pytest.UsageError:
        if not session.config.option.collectonly:
            raise  # --collect-only without a cluster lists the tests without node ids


def _check_cluster(config) -> list[str]:
    from kubernetes import client

    core = client.CoreV1Api(api_client(config))
    try:
        nodes = kube.target_nodes(core)
    except Exception as err:  # urllib3 and API errors alike: the cluster is unusable
        raise pytest.UsageError(f"smoke suite: the cluster does not answer: {err}") from err
    if not nodes:
        raise pytest.UsageError("smoke suite: no schedulable Ready node in the cluster")
    refs = workloads.Refs.fixture()
    for node in nodes:
        listed = node.status.images or []
        present = {name for image in listed for name in image.names or []}
        # The kubelet lists at most five names per image: a fixture image with more tags
        # may be present unlisted. Then its pods will tell (ErrImageNeverPull).
        truncated = any(len(image.names or []) >= MAX_NAMES_PER_IMAGE for image in listed)
        for ref in (refs.busybox, refs.web):
            if ref not in present and not truncated:
                name = ref.split("/", 1)[1].split(":")[0]
                raise pytest.UsageError(
                    f"smoke suite: node {node.metadata.name} lacks the fixture image {ref}; "
                    f"load it on that node with `harness images load --to docker {name}` "
                    f"(or `--to containerd`), or `harness lab up` does it for a lab")
    return [n.metadata.name for n in nodes]


def pytest_generate_tests(metafunc):
    """Per-node tests take `node`: the id is the Node name, the last (only) parameter id."""
    if "node" in metafunc.fixturenames:
        names = metafunc.config.stash.get(NODES, [])
        metafunc.parametrize("node", names, ids=names, scope="session")


@pytest.fixture(scope="session")
def api(pytestconfig):
    return api_client(pytestconfig)


@pytest.fixture(scope="session")
def nodes(api):
    """Node objects by name, for the target nodes."""
    from kubernetes import client

    return {n.metadata.name: n for n in kube.target_nodes(client.CoreV1Api(api))}


@pytest.fixture(scope="session")
def k(api):
    """The run's namespace `harness-smoke-<random>` and a client bound to it. The namespace
    goes at the end, also after Ctrl-C (pytest still tears session fixtures down); namespaces
    of runs that died without teardown are swept when older than an hour."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    kube.sweep_namespaces(core)
    name = f"{kube.NAMESPACE_PREFIX}{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name,
                                        "labels": {kube.MANAGED_BY: kube.MANAGER}}})
    try:
        wait_for_default_service_account(core, name)
        yield kube.Kube(api, name)
    finally:
        delete_namespace(core, name)


def wait_for_default_service_account(core, namespace: str, timeout: float = 30.0) -> None:
    """Pods are refused until the service account controller made `default`."""
    def exists():
        try:
            return core.read_namespaced_service_account("default", namespace)
        except ApiException as err:
            if err.status != 404:
                raise
            return None
    kube.wait_until(f"service account default in {namespace}", exists,
                    time.monotonic() + timeout)


def delete_namespace(core, namespace: str, timeout: float = 60.0) -> None:
    """Delete the namespace, then its pods without grace (nothing of a smoke run needs a clean
    stop); wait a bounded time for it to go. In that order, controllers can no longer make new
    pods (a terminating namespace refuses new content). A node whose kubelet is down keeps
    its pods: the namespace then goes once the node is back or removed."""
    with contextlib.suppress(ApiException):
        core.delete_namespace(namespace)
    with contextlib.suppress(ApiException):
        core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespace(namespace)
        except ApiException as err:
            if err.status == 404:
                return
        time.sleep(1)


@pytest.fixture(scope="session")
def refs():
    return workloads.Refs.fixture()


@pytest.fixture(scope="session", autouse=True)
def _start_pods_early(request):
    """Create the per-node pods at session start when any per-node test is selected, so they
    start while the cluster-wide tests run."""
    if any(item.get_closest_marker("per_node") for item in request.session.items):
        request.getfixturevalue("pods")


@pytest.fixture(scope="session")
def pods(k, refs, pytestconfig):
    """Every per-node pod kind on every target node, created at once; each test then waits
    only for its own pod. Returns pod_name(kind, node)."""
    k.core.create_namespaced_config_map(k.ns, {"metadata": {"name": workloads.CONFIG_NAME},
                                               "data": workloads.CONFIG_DATA})
    k.core.create_namespaced_secret(k.ns, {"metadata": {"name": workloads.CONFIG_NAME},
                                           "stringData": workloads.SECRET_DATA})
    for node in pytestconfig.stash.get(NODES, []):
        for manifest in workloads.PER_NODE:
            k.create_pod(manifest(node, refs, k.ns))
    return workloads.pod_name
