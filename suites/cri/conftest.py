"""The CRI conformance suite's pytest plugin: options, markers, the client, fixture images and
cleanup by label.

`pytest suites/cri` on a node finds the endpoint like crictl; `--cri-endpoint` names it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import shutil
import tempfile
from pathlib import Path

import filelock
import grpc
import pytest

from harness import allowed_skips
from harness.cri.client import RUN_LABEL, CriClient, CriError
from harness.cri.endpoint import discover
from harness.cri.facts import gather
from harness.cri.pods import PodFactory
from harness.errors import HarnessError

MARKERS = {
    "conformance": "kubelet relies on it: critest tags the same behaviour [Conformance]",
    "linux": "Linux-specific CRI behaviour (namespaces, cgroups, mounts, sysctls)",
    "security": "security context: users, capabilities, seccomp, AppArmor, no_new_privs",
    "network": "pod networking: CNI, pod IP, port mappings, DNS, host network",
    "image": "ImageService: pull, status, list, remove",
    "streaming": "Exec, Attach and PortForward through the runtime's streaming server",
    "serial": "changes node-wide state (images, the runtime daemon): not run in parallel",
}
TEST_LABEL = "harness.cri/test"
CGROUP_PARENT = "/hc-cri"
ALLOWED_SKIPS = Path(__file__).parent / "allowed-skips.yaml"
RUNTIME = pytest.StashKey[str]()  # "<name> <version>", once facts are gathered


def pytest_addoption(parser):
    group = parser.getgroup("cri", "CRI conformance suite (suites/cri)")
    group.addoption("--cri-endpoint", help="CRI runtime endpoint (default: discovered as "
                    "crictl does: CONTAINER_RUNTIME_ENDPOINT, /etc/crictl.yaml, known sockets)")
    group.addoption("--cri-image-endpoint", help="CRI image endpoint (default: the runtime's)")
    group.addoption("--cri-timeout", type=float, help="deadline per RPC in seconds "
                    "(default: crictl.yaml timeout, else 30)")
    group.addoption("--runtime-handler", default="",
                    help="runtime handler (RuntimeClass) for every pod sandbox of the suite")
    group.addoption("--allow-runtime-restart", action="store_true",
                    help="run the restart check: restarts the runtime daemon")
    group.addoption("--runtime-restart-command", default="systemctl restart containerd",
                    help="shell command that restarts the runtime (with --allow-runtime-restart)")
    group.addoption("--tls-registry", metavar="HOST:PORT",
                    help="a TLS registry the runtime's registry config trusts: enables the "
                    "TLS pull test (the suite pushes its image there)")
    group.addoption("--tls-registry-ca", metavar="FILE",
                    help="CA certificate of --tls-registry, for the suite's own push")
    allowed_skips.add_options(group, ALLOWED_SKIPS)


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    allowed_skips.configure(config)
    if config.getoption("allow_runtime_restart") and getattr(config.option, "numprocesses", 0):
        raise pytest.UsageError("--allow-runtime-restart cannot be combined with -n: the "
                                "restart would break the other workers' calls")


def pytest_sessionstart(session):
    """Fail fast, once and in one line, when no CRI endpoint answers (in the xdist controller,
    before any worker starts; an exit inside a worker would be an internal error)."""
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    try:
        found = _discover(config)
    except HarnessError as err:
        pytest.exit(f"CRI suite: {err}", returncode=3)
    try:
        CriClient(found.runtime, found.image, timeout=min(found.timeout, 10.0))
    except HarnessError as err:
        pytest.exit(f"CRI suite: {found.runtime} (from {found.source}): {err}", returncode=3)


def _discover(config):
    return discover(config.getoption("cri_endpoint"), config.getoption("cri_image_endpoint"))


def pytest_collection_modifyitems(items):
    """Serial tests share one xdist group, so `-n N --dist loadgroup` runs them one by one."""
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))


@pytest.fixture(scope="session")
def endpoints(pytestconfig):
    return _discover(pytestconfig)


@pytest.fixture(scope="session")
def cri(endpoints, pytestconfig):
    """The session's client; at the end nothing with its run label may remain."""
    timeout = pytestconfig.getoption("cri_timeout") or endpoints.timeout
    client = CriClient(endpoints.runtime, endpoints.image, timeout=timeout)
    yield client
    containers, sandboxes = client.leftovers()
    if containers or sandboxes:
        client.cleanup()
        pytest.fail(f"leaked {len(containers)} containers and {len(sandboxes)} sandboxes with "
                    f"label {RUN_LABEL}={client.run_id} after per-test cleanup")


@pytest.fixture(scope="session")
def facts(cri, runtime_handler, pytestconfig):
    found = gather(cri, runtime_handler)
    pytestconfig.stash[RUNTIME] = f"{found.runtime_name} {found.runtime_version}"
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    allowed_skips.enforce_configured(item, report, item.config.stash.get(RUNTIME, "unknown"))


@pytest.fixture(scope="session")
def cleaner(cri, cgroup_parent):
    """Removes each test's objects in the background while the next test runs (removal is
    mostly waiting on the runtime); drained, and its errors raised, before the session's leak
    check and before the cgroup parent goes."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hc-cri-cleanup") as pool:
        futures = []
        yield lambda selector: futures.append(pool.submit(cri.cleanup, selector))
    for future in futures:
        future.result()


@pytest.fixture(autouse=True)
def _per_test_cleanup(cri, cleaner, request):
    """Label what this test creates; remove it afterwards, even when the test failed."""
    label = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    cri.scope = {TEST_LABEL: label}
    yield
    cri.scope = {}
    cleaner({RUN_LABEL: cri.run_id, TEST_LABEL: label})


@pytest.fixture(scope="session")
def images(cri, facts):
    """Fixture images by recipe name, present in the runtime (imported into containerd's
    k8s.io namespace once, under one host-wide lock file so xdist workers share the work)."""
    from harness.cri.suite_images import build_all
    from harness.images import load
    from harness.images.cache import cache_root

    built = build_all()
    missing = [img for img in built.values() if not _present(cri, img)]
    if missing and not (facts.is_containerd and facts.local_socket):
        pytest.skip(f"fixture images {', '.join(i.ref for i in missing)} are not in the runtime "
                    f"and only a local containerd can import them ({facts.runtime_name})")
    # Beside the image cache's own locks: xdist workers import one at a time, nothing in /tmp.
    cache_root().mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(cache_root() / "cri-import.lock"):
        for img in missing:
            if not _present(cri, img):
                load.into_containerd(str(facts.local_socket), img)
    return built


def _present(cri: CriClient, img) -> bool:
    status = cri.image_status(img.ref)
    return status is not None and status.id == img.config_digest


@pytest.fixture(scope="session")
def runtime_handler(pytestconfig) -> str:
    return pytestconfig.getoption("runtime_handler")


@pytest.fixture(scope="session")
def cgroup_parent(facts):
    """The cgroup parent of the suite's pods, as kubelet always sets one (containerd computes
    sandbox stats from it). Removed at the end where it is a cgroupfs directory on this host."""
    if facts.systemd_cgroup:
        yield "hc_cri.slice"
        return
    yield CGROUP_PARENT
    if not facts.local_socket:
        return  # the node's cgroups are not on this machine
    for base in Path("/sys/fs/cgroup").iterdir():
        with contextlib.suppress(OSError):  # busy while another xdist worker still uses it
            (base / CGROUP_PARENT.strip("/")).rmdir()
    with contextlib.suppress(OSError):
        Path("/sys/fs/cgroup", CGROUP_PARENT.strip("/")).rmdir()


@pytest.fixture
def pods(cri, images, runtime_handler, cgroup_parent) -> PodFactory:
    """Runs pod sandboxes (busybox as the default container image) with the suite's handler."""
    return PodFactory(cri, images["busybox"].ref, runtime_handler, cgroup_parent)


@pytest.fixture
def pod(pods):
    """One ready pod sandbox with default settings."""
    return pods()


def _skip_unimplemented(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except CriError as err:
        if err.unimplemented:
            pytest.skip(f"runtime does not implement {err.rpc}: {err.details}")
        raise


@pytest.fixture
def optional():
    """Calls an RPC the CRI lets a runtime leave out: Unimplemented skips the test with the
    runtime's own message, never a silent pass."""
    return _skip_unimplemented


@pytest.fixture
def idempotent(record_testsuite_property, request):
    """Calls a stop or remove RPC the CRI declares idempotent. critest >= 1.31 wants OK for
    missing objects; kubelet also accepts NOT_FOUND (containerd 1.6 answers that), so NOT_FOUND
    passes and is recorded as a JUnit suite property `not_found_answer:<test>`; any other
    error fails."""

    def call(rpc, *args):
        try:
            rpc(*args)
        except CriError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
            record_testsuite_property(f"not_found_answer:{request.node.name}", str(err))

    return call


@pytest.fixture
def host_dir(facts):
    """A fresh host directory the runtime can bind-mount (the suite runs on the node)."""
    if not facts.local_socket:
        pytest.skip("host paths need the suite to run on the node (endpoint is not local)")
    path = Path(tempfile.mkdtemp(prefix="hc-cri-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
