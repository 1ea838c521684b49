"""harness.oci.runtime against the real runc and crun of this host: discovery, version facts,
one-line errors, JSON parsing differences, timeouts, the private --root."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.errors import HarnessTimeout, MissingToolError
from harness.oci.containers import ContainerFactory
from harness.oci.runtime import OciRuntime, OciRuntimeError, discover

pytestmark = pytest.mark.root

BUSYBOX = "/bin/busybox"
ETC_FILES = {
    "passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "group": "root:x:0:\nnogroup:x:65534:\n",
}


def busybox_rootfs(dest: Path) -> Path:
    """A light rootfs for the driver: /bin/busybox plus one symlink per applet. Not a
    `busybox` link: that would overwrite the binary with a link to itself (lab notes)."""
    if not os.access(BUSYBOX, os.X_OK):
        raise MissingToolError(f"{BUSYBOX} not found", hint="apt-get install busybox-static")
    bin_dir = dest / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, bin_dir / "busybox")
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (bin_dir / applet).symlink_to("busybox")
    for name in ("proc", "sys", "dev", "tmp", "etc", "root"):
        (dest / name).mkdir(exist_ok=True)
    for name, text in ETC_FILES.items():
        (dest / "etc" / name).write_text(text)
    return dest


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
