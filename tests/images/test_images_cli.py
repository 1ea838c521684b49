"""`harness images`: build and load from the command line, progress on stderr, one-line
errors with the documented exit codes (2 bad input or missing tool, 3 daemon unreachable)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness import images


def harness(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "harness", "images", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_build_prints_ref_and_digest_with_progress_on_stderr(pause_image):
    result = harness("build", "pause")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{pause_image.ref} {pause_image.digest}\n"
    assert "building pause" in result.stderr and "built pause" in result.stderr


def test_unknown_recipe_exits_2_listing_the_known_ones():
    result = harness("build", "busybox", "no-such-image")
    assert result.returncode == 2
    assert "no-such-image" in result.stderr and "known: busybox" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_gcc_exits_2_pointing_at_setup(tmp_path):
    """A fresh cache forces compiling pause.c, with a PATH that has no gcc."""
    result = harness(
        "build", "pause", env={"PATH": "/nonexistent", "HARNESS_IMAGE_CACHE": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "gcc not found" in result.stderr and "scripts/setup.sh" in result.stderr


def test_bad_parameter_exits_2():
    result = harness("build", "large", "--set", "size=big")
    assert result.returncode == 2
    assert "size" in result.stderr


@pytest.mark.parametrize("target", ["containerd", "docker"])
def test_load_into_a_daemon_that_is_not_running_exits_3(tmp_path, target):
    address = str(tmp_path / "hi-missing.sock")
    result = harness("load", "--to", target, "--address", address, "pause")
    assert result.returncode == 3
    assert address in result.stderr.splitlines()[-1]


def test_load_into_an_unreachable_registry_exits_3():
    from harness.daemons.process import free_tcp_port

    url = f"http://127.0.0.1:{free_tcp_port()}"
    result = harness("load", "--to", "registry", "--address", url, "pause")
    assert result.returncode == 3
    assert url in result.stderr.splitlines()[-1]


@pytest.mark.root
@pytest.mark.slow
def test_load_into_containerd_imports_into_k8s_io(start_containerd):
    daemon = start_containerd()
    image = images.build("user-uid")
    result = harness(
        "load", "--to", "containerd", "--address", daemon.address, "--pinned", "user-uid"
    )
    assert result.returncode == 0, result.stderr
    assert f"loading {image.ref} into containerd at {daemon.address}" in result.stderr
    assert image.digest in daemon.ctr("images", "ls")


@pytest.mark.root
@pytest.mark.slow
def test_load_into_docker_makes_the_image_runnable(dockerd):
    image = images.build("user-name")
    result = harness("load", "--to", "docker", "--address", dockerd.host, "user-name")
    assert result.returncode == 0, result.stderr
    client = dockerd.client()
    try:
        out = client.containers.run(image.ref, ["id", "-un"], network_mode="none", remove=True)
    finally:
        client.close()
    assert out == b"tester\n"
