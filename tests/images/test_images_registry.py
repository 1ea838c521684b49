"""Push to a local registry (distribution 2.8) over the OCI distribution API, then CRI
PullImage by tag and by digest; plain HTTP, basic auth, and TLS with a private CA."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from harness.daemons.registry import Registry, RegistryConfig
from harness.errors import StepFailed
from harness.images import load

pytestmark = [pytest.mark.root, pytest.mark.slow]

VARIANTS = {
    "plain": {},
    "auth": {"auth": ("hi-user", "hi-secret")},
    "tls": {"tls": True},
}


@pytest.fixture(scope="module")
def registries(tmp_path_factory, busybox_image):
    started = {}
    try:
        for name, options in VARIANTS.items():
            base = tmp_path_factory.mktemp(f"hi-registry-{name}")
            started[name] = Registry(RegistryConfig(base_dir=base, **options)).start()
            reg = started[name]
            load.into_registry(reg.url, busybox_image, auth=reg.cfg.auth, ca=reg.ca)
        yield started
    finally:
        for reg in started.values():
            reg.stop()


@pytest.fixture(scope="module")
def cri(registries, start_containerd, cri_images_of, tmp_path_factory):
    hosts = tmp_path_factory.mktemp("hi-registry-hosts")
    for reg in registries.values():
        reg.write_containerd_hosts(hosts)
    auths = {reg.host: reg.cfg.auth for reg in registries.values() if reg.cfg.auth}
    daemon = start_containerd(registry_config_dir=hosts, registry_auths=auths)
    return cri_images_of(daemon)


@pytest.mark.parametrize("variant", VARIANTS)
def test_pull_by_tag_after_push(cri, registries, busybox_image, variant):
    """PullImage(host:port/busybox:1.0) returns the image id (config digest)."""
    ref = f"{registries[variant].host}/busybox:1.0"
    assert cri.pull(ref) == busybox_image.config_digest
    assert ref in cri.status(ref).repo_tags


@pytest.mark.parametrize("variant", VARIANTS)
def test_pull_by_digest_after_push(cri, registries, busybox_image, variant):
    """PullImage(host:port/busybox@sha256:<manifest>): repo_digests carries that reference."""
    ref = f"{registries[variant].host}/busybox@{busybox_image.digest}"
    assert cri.pull(ref) == busybox_image.config_digest
    assert ref in cri.status(ref).repo_digests


def test_registry_serves_the_built_manifest_bytes(registries, busybox_image):
    reg = registries["plain"]
    response = requests.get(
        f"{reg.url}/v2/busybox/manifests/1.0",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    assert response.headers["Docker-Content-Digest"] == busybox_image.digest


def test_push_without_credentials_is_refused(registries, pause_image):
    with pytest.raises(StepFailed, match="401"):
        load.into_registry(registries["auth"].url, pause_image)


def test_push_without_the_ca_fails_tls_verification(registries, pause_image):
    with pytest.raises(StepFailed, match="TLS"):
        load.into_registry(registries["tls"].url, pause_image)


def push_with_cli(reg, *options: str, env: dict | None = None):
    """`harness images load --to registry --address URL OPTIONS pause`."""
    return subprocess.run(
        [sys.executable, "-m", "harness", "images", "load", "--to", "registry",
         "--address", reg.url, *options, "pause"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def test_cli_pushes_with_user_and_password_from_the_environment(registries, pause_image):
    """`harness images load --to registry --user U` reads the password from
    $HARNESS_REGISTRY_PASSWORD and prints the pushed ref."""
    reg = registries["auth"]
    user, password = reg.cfg.auth
    result = push_with_cli(reg, "--user", user, env={"HARNESS_REGISTRY_PASSWORD": password})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{reg.host}/pause:3.9 {pause_image.digest}\n"


def test_cli_pushes_over_tls_with_the_ca(registries, pause_image):
    reg = registries["tls"]
    result = push_with_cli(reg, "--ca", str(reg.ca))
    assert result.returncode == 0, result.stderr
