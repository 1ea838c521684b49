"""Volumes: hostPath bind mounts, read-only and recursive read-only mounts, and mount
propagation (CRI v1 ContainerConfig.mounts: host_path, container_path, readonly,
recursive_read_only, propagation)."""

import contextlib
import os
import subprocess

import pytest

from harness.cri.client import CriError

TARGET = "/mnt/vol"


def _mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _umount_all(path):
    subprocess.run(["umount", "-R", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture
def host_mounts(host_dir):
    """Lets a test mount on the host (below host_dir) and unmounts everything afterwards."""
    if os.geteuid() != 0:
        pytest.skip("host-side mounts need root on the node")
    mounted = []

    def mount(*args):
        _mount(*args)
        mounted.append(args[-1])

    yield mount
    for target in reversed(mounted):
        _umount_all(target)


def volume(cri, host_path, **fields):
    return cri.pb.Mount(container_path=TARGET, host_path=str(host_path), **fields)


@pytest.mark.conformance
def test_host_path_volume_is_visible(cri, pod, host_dir):
    """Mount.host_path bind-mounts the host directory: its files are listed at container_path."""
    (host_dir / "marker").write_text("from the host\n")
    container_id = pod.start("vol", mounts=[volume(cri, host_dir)])
    assert pod.sh(container_id, f"cat {TARGET}/marker").stdout == b"from the host\n"


@pytest.mark.conformance
def test_host_path_that_is_a_symlink_is_followed(cri, pod, host_dir):
    """Mount.host_path may be a symlink: the runtime mounts its target."""
    real = host_dir / "real"
    real.mkdir()
    (real / "marker").write_text("behind a symlink\n")
    (host_dir / "link").symlink_to(real)
    container_id = pod.start("vol", mounts=[volume(cri, host_dir / "link")])
    assert pod.sh(container_id, f"cat {TARGET}/marker").stdout == b"behind a symlink\n"


def test_writable_volume_writes_reach_the_host(cri, pod, host_dir):
    """Mount.readonly false: a file the container writes appears in the host directory."""
    container_id = pod.start("vol", mounts=[volume(cri, host_dir)])
    assert pod.sh(container_id, f"echo written > {TARGET}/out").exit_code == 0
    assert (host_dir / "out").read_text() == "written\n"


@pytest.mark.linux
def test_readonly_volume_refuses_writes(cri, pod, host_dir):
    """Mount.readonly true: writing into the mount fails with a read-only file system error."""
    container_id = pod.start("vol", mounts=[volume(cri, host_dir, readonly=True)])
    reply = pod.sh(container_id, f"touch {TARGET}/out")
    assert reply.exit_code != 0
    assert b"Read-only file system" in reply.stderr


@pytest.mark.linux
def test_readonly_volume_is_not_recursive(cri, pod, host_dir, host_mounts):
    """Mount.readonly without recursive_read_only: a submount of the host path (a tmpfs) stays
    writable, only the top mount is read-only."""
    (host_dir / "sub").mkdir()
    host_mounts("-t", "tmpfs", "hc-cri-sub", str(host_dir / "sub"))
    container_id = pod.start("vol", mounts=[volume(cri, host_dir, readonly=True)])
    assert pod.sh(container_id, f"touch {TARGET}/sub/ok").exit_code == 0
    assert pod.sh(container_id, f"touch {TARGET}/top").exit_code != 0


@pytest.fixture
def rro_supported(facts, runtime_handler):
    features = facts.handler_features.get(runtime_handler)
    if not features or not features["recursive_read_only_mounts"]:
        pytest.skip(f"runtime handler {runtime_handler or '(default)'} does not report "
                    "features.recursive_read_only_mounts in Status.runtime_handlers")


@pytest.mark.linux
def test_recursive_readonly_volume_makes_submounts_readonly(cri, pod, host_dir, host_mounts,
                                                            rro_supported):
    """Mount.recursive_read_only: writing into a submount fails too."""
    (host_dir / "sub").mkdir()
    host_mounts("-t", "tmpfs", "hc-cri-sub", str(host_dir / "sub"))
    rro = volume(cri, host_dir, readonly=True, recursive_read_only=True,
                 propagation=cri.pb.PROPAGATION_PRIVATE)
    container_id = pod.start("vol", mounts=[rro])
    assert b"Read-only file system" in pod.sh(container_id, f"touch {TARGET}/sub/x").stderr


@pytest.mark.linux
@pytest.mark.parametrize(
    "readonly, propagation",
    [(True, "PROPAGATION_HOST_TO_CONTAINER"), (True, "PROPAGATION_BIDIRECTIONAL"),
     (False, "PROPAGATION_PRIVATE")],
)
def test_recursive_readonly_volume_rejects_invalid_combinations(cri, pod, host_dir, readonly,
                                                                propagation, rro_supported):
    """Mount.recursive_read_only requires readonly and private propagation: CreateContainer
    fails with propagation HOST_TO_CONTAINER, BIDIRECTIONAL, or readonly false."""
    mount = volume(cri, host_dir, recursive_read_only=True, readonly=readonly,
                   propagation=getattr(cri.pb, propagation))
    with pytest.raises(CriError):
        pod.create("vol", mounts=[mount])


@pytest.fixture
def propagation_pod(pods, host_dir, host_mounts):
    """A privileged pod, and host_dir turned into a shared mount (a bind mount onto itself)
    as rshared and rslave volumes require."""
    host_mounts("--bind", str(host_dir), str(host_dir))
    _mount("--make-rshared", str(host_dir))
    for name in ("from-host", "from-container"):
        (host_dir / name).mkdir()
    return pods("propagation", security={"privileged": True})


def _propagation(cri, pod, host_dir, host_mounts, propagation):
    """Mount host_dir with `propagation`, mount a tmpfs on each side; returns whether the
    host's mount was seen in the container and the container's on the host."""
    mount = volume(cri, host_dir, propagation=propagation)
    container_id = pod.start("prop", mounts=[mount], security={"privileged": True})
    host_mounts("-t", "tmpfs", "hc-cri-prop", str(host_dir / "from-host"))
    (host_dir / "from-host" / "seen").touch()
    in_container = pod.sh(container_id, f"test -e {TARGET}/from-host/seen").exit_code == 0
    made = pod.sh(container_id, f"mount -t tmpfs none {TARGET}/from-container && "
                                f"touch {TARGET}/from-container/seen")
    assert made.exit_code == 0, made.stderr
    on_host = (host_dir / "from-container" / "seen").exists()
    with contextlib.suppress(Exception):
        pod.sh(container_id, f"umount {TARGET}/from-container")
    return in_container, on_host


@pytest.mark.linux
def test_private_propagation_isolates_both_ways(cri, propagation_pod, host_dir, host_mounts):
    """Mount.propagation PROPAGATION_PRIVATE (rprivate): host mounts below the volume are not
    seen in the container, container mounts are not seen on the host."""
    seen = _propagation(cri, propagation_pod, host_dir, host_mounts, cri.pb.PROPAGATION_PRIVATE)
    assert seen == (False, False)


@pytest.mark.linux
def test_host_to_container_propagation_is_one_way(cri, propagation_pod, host_dir, host_mounts):
    """Mount.propagation PROPAGATION_HOST_TO_CONTAINER (rslave): host mounts are seen in the
    container, container mounts are not seen on the host."""
    seen = _propagation(cri, propagation_pod, host_dir, host_mounts,
                        cri.pb.PROPAGATION_HOST_TO_CONTAINER)
    assert seen == (True, False)


@pytest.mark.linux
def test_bidirectional_propagation_works_both_ways(cri, propagation_pod, host_dir, host_mounts):
    """Mount.propagation PROPAGATION_BIDIRECTIONAL (rshared): mounts propagate both ways."""
    seen = _propagation(cri, propagation_pod, host_dir, host_mounts,
                        cri.pb.PROPAGATION_BIDIRECTIONAL)
    assert seen == (True, True)


@pytest.mark.linux
def test_container_status_reports_mounts(cri, pod, host_dir):
    """ContainerStatus.mounts lists the volume with its container_path, host_path, readonly
    and propagation."""
    mount = volume(cri, host_dir, readonly=True, propagation=cri.pb.PROPAGATION_PRIVATE)
    status = cri.container_status(pod.create("vol", mounts=[mount]))
    (reported,) = [m for m in status.mounts if m.container_path == TARGET]
    assert (reported.host_path, reported.readonly, reported.propagation) == (
        str(host_dir), True, cri.pb.PROPAGATION_PRIVATE)
