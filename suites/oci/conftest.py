"""OCI runtime-spec and image-spec conformance suite.

Run: `pytest suites/oci [--oci-runtime PATH ...] [--image-archive PATH ...] [--junitxml F]`.
Without --oci-runtime every runtime installed on the host (runc, crun) is tested; each test id
carries the runtime and its version, e.g. `[runc-1.1.5]`. Known spec deviations of a runtime
version (deviations.yaml) are strict xfails with the reason, each naming the failure it
expects (exception type, message): another failure fails the test; a runtime that cannot create
a container on this host is skipped once with the reason it gave.
"""

from __future__ import annotations

import os
import re
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
from harness.oci.runtime import OciRuntime, OciRuntimeError, RuntimeInfo, discover

HERE = Path(__file__).parent
ALLOWED_SKIPS = HERE / "allowed-skips.yaml"
DEVIATIONS = HERE / "deviations.yaml"
# The failures a deviation may name (`raises:`): a check that does not hold, a pytest.raises
# that did not raise, an operation the runtime refused.
EXPECTED_FAILURES = {"AssertionError": AssertionError, "Failed": pytest.fail.Exception,
                     "OciRuntimeError": OciRuntimeError}
DEVIATION = pytest.StashKey["Deviation"]()  # the deviation an item is an xfail for
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
    group.addoption("--deviations", metavar="FILE", default=str(DEVIATIONS),
                    help="the known deviations, run as strict xfails (default: the suite's "
                    "own list)")


def pytest_configure(config):
    if not hasattr(config.option, "oci_runtime"):
        return
    try:
        config.oci_runtimes = discover(config.getoption("oci_runtime"))
    except HarnessError as err:
        raise pytest.UsageError(str(err)) from err
    config.oci_deviations = load_deviations(Path(config.getoption("deviations")))
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
    raises: str  # a name of EXPECTED_FAILURES: the failure the deviation shows as
    match: str | None = None  # a regex the failure's message contains
    where: str | None = None  # a name of WHERE: the only hosts it was observed on

    def mismatch(self, error: BaseException) -> str | None:
        """Why `error` is not this deviation's failure; None when it is."""
        if isinstance(error, EXPECTED_FAILURES[self.raises]) and (
                self.match is None or re.search(self.match, str(error))):
            return None
        expected = self.raises + (f" matching {self.match!r}" if self.match else "")
        return (f"not the documented deviation ({self.spec}): expected {expected}, got "
                f"{type(error).__name__}: {' '.join(str(error).split())[:500]}")

    def applies(self, info: RuntimeInfo, function: str, params: str) -> bool:
        """`params` is the test's parameter id without the runtime's, e.g. "poststart"; a
        deviation named `test[poststart]` applies to that case only, `test` to all."""
        name, _, case = self.test.partition("[")
        if self.runtime != info.name or name != function or case.rstrip("]") not in ("", params):
            return False
        if self.where is not None and not WHERE[self.where]():
            return False
        version = _version(info.version)
        if version < _version(self.min_version):
            return False
        return self.below_version is None or version < _version(self.below_version)


# Host conditions a deviation may be limited to (`where:`), each read when asked: a runtime can
# differ from the spec only where the host is so arranged.
WHERE = {
    # A container manager (systemd-nspawn, as the lab's nodes are) mounts /proc/sys read-only.
    "read-only-proc-sys": lambda: bool(os.statvfs("/proc/sys").f_flag & os.ST_RDONLY),
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def load_deviations(path: Path) -> list[Deviation]:
    try:
        entries = yaml.safe_load(path.read_text()) or []
        deviations = [
            Deviation(
                runtime=e["runtime"],
                min_version=str(e["versions"]["min"]),
                below_version=str(e["versions"]["below"]) if e["versions"].get("below") else None,
                test=e["test"],
                spec=e["spec"],
                cites=e["cites"],
                reason=e["reason"],
                raises=e["raises"],
                match=e.get("match"),
                where=e.get("where"),
            )
            for e in entries
        ]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as err:
        raise pytest.UsageError(
            f"{path}: {err}; each entry needs runtime, versions.min, test, spec, cites, reason "
            "and raises"
        ) from err
    for index, deviation in enumerate(deviations, 1):
        if deviation.raises not in EXPECTED_FAILURES:
            raise pytest.UsageError(f"{path}: entry {index} ({deviation.test}): raises "
                                    f"{deviation.raises!r} is none of "
                                    f"{', '.join(EXPECTED_FAILURES)}")
        if deviation.where is not None and deviation.where not in WHERE:
            raise pytest.UsageError(f"{path}: entry {index} ({deviation.test}): where "
                                    f"{deviation.where!r} is none of {', '.join(WHERE)}")
        try:
            re.compile(deviation.match or "")
        except re.error as err:
            raise pytest.UsageError(f"{path}: entry {index} ({deviation.test}): match "
                                    f"{deviation.match!r} is no regex ({err})") from None
    return deviations


def pytest_generate_tests(metafunc):
    if "runtime_info" in metafunc.fixturenames:
        runtimes = metafunc.config.oci_runtimes
        metafunc.parametrize(
            "runtime_info", runtimes, ids=[r.id for r in runtimes], scope="session"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    deviation = item.stash.get(DEVIATION, None)
    # pytest's xfail(raises=...) already fails another exception type; the message is ours.
    if deviation and hasattr(report, "wasxfail") and call.excinfo is not None:
        why = deviation.mismatch(call.excinfo.value)
        if why:
            del report.wasxfail
            report.outcome, report.longrepr = "failed", why
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
                item.add_marker(pytest.mark.xfail(
                    strict=True, reason=reason, raises=EXPECTED_FAILURES[deviation.raises]))
                item.stash[DEVIATION] = deviation
                break


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
