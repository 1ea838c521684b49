"""harness.oci.runtime against the real runc and crun of this host: discovery, version facts,
one-line errors, JSON parsing differences, timeouts, the private --root."""

import shutil

import pytest

from harness.errors import HarnessTimeout
from harness.oci.containers import ContainerFactory
from harness.oci.rootfs import busybox_rootfs
from harness.oci.runtime import OciRuntime, OciRuntimeError, discover

pytestmark = pytest.mark.root


@pytest.fixture(params=["runc", "crun"])
def oci(request, tmp_path):
    path = shutil.which(request.param)
    if path is None:
        pytest.skip(f"{request.param} is not installed")
    return OciRuntime(discover([path])[0], root=tmp_path / "ho-root")


def test_discover_finds_installed_runtimes():
    names = {info.name for info in discover()}
    assert {name for name in ("runc", "crun") if shutil.which(name)} <= names


def test_runtime_facts_name_version_and_commands(oci):
    assert oci.info.id == f"{oci.info.name}-{oci.info.version}"
    assert oci.info.version[0].isdigit()
    assert {"create", "start", "state", "kill", "delete"} <= oci.info.commands


def test_error_is_one_line_naming_runtime_command_and_stderr(oci):
    with pytest.raises(OciRuntimeError) as caught:
        oci.state("ho-missing")
    message = str(caught.value)
    assert message.startswith(f"{oci.info.name} state ho-missing failed (exit 1): ")
    assert "\n" not in message and len(message) > len(f"{oci.info.name} state ho-missing") + 20


def test_list_of_no_containers_is_empty(oci):
    """runc prints `null`, crun `[]`: both are an empty list."""
    assert oci.list() == []


def test_features_is_none_without_the_command(oci):
    features = oci.features()
    if oci.info.has("features"):
        assert "ociVersionMax" in features
    else:
        assert features is None


@pytest.fixture
def runc_containers(tmp_path):
    info = discover([shutil.which("runc") or "/usr/sbin/runc"])[0]
    runtime = OciRuntime(info, root=tmp_path / "ho-root")
    factory = ContainerFactory(runtime, busybox_rootfs(tmp_path / "rootfs"), tmp_path)
    yield factory
    factory.cleanup()


def test_call_times_out(runc_containers):
    container = runc_containers.create(runc_containers.spec("echo ready; exec sleep 60"))
    container.start()
    container.wait_output("ready")
    with pytest.raises(HarnessTimeout, match="did not finish within"):
        runc_containers.runtime.call("exec", container.id, "sleep", "30", timeout=0.5)


def test_containers_live_under_the_private_root(runc_containers, tmp_path):
    container = runc_containers.create(runc_containers.spec("true"))
    assert (tmp_path / "ho-root" / container.id).is_dir()
    assert container.id not in [c.id for c in OciRuntime(
        runc_containers.runtime.info, root=tmp_path / "ho-other-root").list()]  # fmt: skip
