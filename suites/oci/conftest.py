"""OCI runtime-spec and image-spec conformance suite.

Run: `pytest suites/oci [--oci-runtime PATH ...] [--image-archive PATH ...] [--junitxml F]`.
Without --oci-runtime every runtime installed on the host (runc, crun) is tested; each test id
carries the runtime and its version, e.g. `[runc-1.1.5]`. Known spec deviations of a runtime
version (deviations.yaml) are strict xfails with the reason; a runtime that cannot create a
container on this host is skipped once with the reason it gave.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness import allowed_skips
from harness.errors import HarnessError
from harness.facts import Host, this_host
from harness.oci.containers import ContainerFactory
from harness.oci.rootfs import fixture_rootfs
from harness.oci.runtime import OciRuntime, RuntimeInfo, discover

HERE = Path(__file__).parent
ALLOWED_SKIPS = HERE / "allowed-skips.yaml"
HYBRID_WRAPPER = "suites/oci/tools/crun-on-hybrid-cgroups"
# Mount points the tests use, made once in the shared rootfs so no run has to create them.
ROOTFS_DIRS = ("mnt/bind", "mnt/ro", "mnt/tmpfs", "hooks", "test", "tmp")


def pytest_addoption(parser):
    group = parser.getgroup("oci", "OCI conformance")
    group.addoption(
        "--oci-runtime",
        action="append",
        default=[],
        metavar="PATH",
        help="runtime binary to test (repeatable); default: every runc/crun found",
    )
    group.addoption(
        "--image-archive",
        action="append",
        default=[],
        metavar="PATH",
        help="image to validate against image-spec: OCI layout dir/tar or docker-archive tar",
    )
    allowed_skips.add_options(group, ALLOWED_SKIPS)


def pytest_configure(config):
    if not hasattr(config.option, "oci_runtime"):
        return
    try:
        config.oci_runtimes = discover(config.getoption("oci_runtime"))
    except HarnessError as err:
        raise pytest.UsageError(str(err)) from err
    config.oci_deviations = load_deviations(HERE / "deviations.yaml")
    allowed_skips.configure(config)


@dataclass(frozen=True)
class Deviation:
    runtime: str
    min_version: str
    below_version: str | None
    test: str
    spec: str
    cites: str  # the spec's own sentence
    reason: str

    def applies(self, info: RuntimeInfo, function: str, params: str) -> bool:
        """`params` is the test's parameter id without the runtime's, e.g. "poststart"; a
        deviation named `test[poststart]` applies to that case only, `test` to all."""
        name, _, case = self.test.partition("[")
        if self.runtime != info.name or name != function or case.rstrip("]") not in ("", params):
            return False
        version = _version(info.version)
        if version < _version(self.min_version):
            return False
        return self.below_version is None or version < _version(self.below_version)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def load_deviations(path: Path) -> list[Deviation]:
    try:
        entries = yaml.safe_load(path.read_text()) or []
        return [
            Deviation(
                runtime=e["runtime"],
                min_version=str(e["versions"]["min"]),
                below_version=str(e["versions"]["below"]) if e["versions"].get("below") else None,
                test=e["test"],
                spec=e["spec"],
                cites=e["cites"],
                reason=e["reason"],
            )
            for e in entries
        ]
    except (KeyError, TypeError, yaml.YAMLError) as err:
        raise pytest.UsageError(
            f"{path}: {err}; each entry needs runtime, versions.min, test, spec, cites and reason"
        ) from err


def pytest_generate_tests(metafunc):
    if "runtime_info" in metafunc.fixturenames:
        runtimes = metafunc.config.oci_runtimes
        metafunc.parametrize(
            "runtime_info", runtimes, ids=[r.id for r in runtimes], scope="session"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    info = getattr(item, "callspec", None) and item.callspec.params.get("runtime_info")
    runtime = f"{info.name} {info.version}" if isinstance(info, RuntimeInfo) else "none"
    allowed_skips.enforce_configured(item, report, runtime)


def pytest_collection_modifyitems(config, items):
    deviations = getattr(config, "oci_deviations", [])
    for item in items:
        info = getattr(item, "callspec", None) and item.callspec.params.get("runtime_info")
        if not isinstance(info, RuntimeInfo):
            continue
        params = "-".join(p for p in item.callspec.id.split(info.id) if p).strip("-")
        for deviation in deviations:
            if deviation.applies(info, item.originalname, params):
                reason = (f"{info.id} deviates from {deviation.spec} (\"{deviation.cites}\"): "
                          f"{deviation.reason}")
                item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture(scope="session")
def host() -> Host:
    return this_host()


@pytest.fixture(scope="session")
def workdir():
    if os.geteuid() != 0:
        pytest.skip("the OCI suite needs root: runtimes create namespaces and cgroups")
    path = Path(tempfile.mkdtemp(prefix="ho-oci-"))
    path.chmod(0o755)  # user-namespace tests run the rootfs as a mapped, unprivileged uid
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def rootfs(workdir) -> Path:
    path = fixture_rootfs(workdir / "rootfs")
    for name in ROOTFS_DIRS:
        (path / name).mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def runtime(runtime_info, workdir, rootfs) -> OciRuntime:
    """The runtime under test with a private --root, once shown able to run a container."""
    # Two paths may report the same name and version (a wrapper and its runtime).
    oci = OciRuntime(runtime_info, root=Path(tempfile.mkdtemp(prefix="root-", dir=workdir)))
    probe = ContainerFactory(oci, rootfs, workdir)
    try:
        probe.run(probe.spec("true"))
    except HarnessError as err:
        hint = f"; try --oci-runtime {HYBRID_WRAPPER}" if "hybrid mode" in str(err) else ""
        pytest.skip(f"{runtime_info.id} cannot create containers on this host: {err}{hint}")
    finally:
        probe.cleanup()
    return oci


@pytest.fixture
def containers(runtime, rootfs, workdir):
    factory = ContainerFactory(runtime, rootfs, Path(tempfile.mkdtemp(dir=workdir)))
    yield factory
    factory.cleanup()
    shutil.rmtree(factory.workdir, ignore_errors=True)
