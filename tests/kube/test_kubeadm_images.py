"""kubeadm and the images it asks for, built here: the names are kubeadm's own list, the
bytes are the same on every build, a changed cached kubeadm is refused, and the images run in
Docker 20.10 (the lab nodes' engine). Marked long: kubeadm and etcd are built on first use
(about a minute each with Go's build cache warm, plus the Kubernetes build when cold)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness import images
from harness.errors import StepFailed
from harness.images import load
from harness.kube import build, kubeadm_images

pytestmark = [pytest.mark.long, pytest.mark.slow, pytest.mark.timeout(3600)]
VERSION = "1.23.17"


@pytest.fixture(scope="module")
def built():
    return kubeadm_images.build_all(VERSION)


@pytest.fixture(scope="module")
def client(dockerd, built):
    for image in built:
        load.into_docker(dockerd.host, image)
    api = dockerd.client()
    yield api
    api.close()


def by_component(built, component):
    return next(i for i in built if i.repository.rsplit("/", 1)[1] == component)


def run(client, ref, command, **options) -> str:
    return client.containers.run(ref, command, network_mode="none", remove=True,
                                 **options).decode()


@pytest.mark.parametrize("version", list(build.RUNNABLE))
def test_the_images_are_exactly_those_kubeadm_lists(version):
    listed = subprocess.run(
        [str(build.build_kubeadm(version).path("kubeadm")), "config", "images", "list",
         "--kubernetes-version", f"v{version}"],
        capture_output=True, text=True, check=True).stdout.split()
    assert [ref for image in kubeadm_images.build_all(version) for ref in image.refs] == listed


def test_building_again_from_an_empty_image_cache_gives_the_same_images(built, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("HARNESS_IMAGE_CACHE", str(tmp_path))
    again = kubeadm_images.build_all(VERSION)
    assert all(a.oci_layout.is_relative_to(tmp_path) for a in again)  # really rebuilt
    assert [(a.ref, a.digest, a.config_digest) for a in again] == [
        (b.ref, b.digest, b.config_digest) for b in built]
    assert again[0].docker_archive.read_bytes() == built[0].docker_archive.read_bytes()


def test_a_changed_cached_kubeadm_is_refused_in_one_line(built, tmp_path, monkeypatch):
    private = tmp_path / VERSION / "kubeadm"
    shutil.copytree(build.build_kubeadm(VERSION).bin_dir, private)
    monkeypatch.setenv("HARNESS_KUBE_CACHE", str(tmp_path))
    with (private / "kubeadm").open("ab") as f:
        f.write(b"\0tampered")
    with pytest.raises(StepFailed) as err:
        build.build_kubeadm(VERSION, say=lambda m: None)
    assert "\n" not in str(err.value) and "--kubeadm --rebuild" in str(err.value)

    out = subprocess.run([sys.executable, "-m", "harness", "kube", "build", "--version", VERSION,
                          "--kubeadm"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"{private / 'kubeadm'}: missing or its sha256 differs" in out.stderr


@pytest.mark.root
def test_the_apiserver_image_runs_its_binary_of_the_built_version(client, built):
    assert run(client, by_component(built, "kube-apiserver").ref, ["--version"]) == (
        f"Kubernetes v{VERSION}\n")


@pytest.mark.root
def test_kube_proxy_runs_iptables_in_nf_tables_mode_from_its_image(client, built):
    """By name through the image's PATH, as kube-proxy calls it; nf_tables like the nodes."""
    proxy = by_component(built, "kube-proxy").ref
    assert run(client, proxy, ["--version"], entrypoint="iptables").startswith(
        "iptables v1.8.9 (nf_tables)")
    # A rule with the extensions kube-proxy's rules use (loaded by name from the image), in
    # the container's own network namespace: "none" leaves the host's tables alone.
    rule = ["-t", "nat", "-A", "POSTROUTING", "-m", "comment", "--comment", "probe", "-m",
            "mark", "--mark", "0x4000/0x4000", "-m", "statistic", "--mode", "random",
            "--probability", "0.5", "-j", "MASQUERADE"]
    assert run(client, proxy, rule, entrypoint="iptables", cap_add=["NET_ADMIN"]) == ""
    assert run(client, proxy, ["--version"], entrypoint="conntrack").startswith("conntrack v")
    assert run(client, proxy, ["--version"]) == f"Kubernetes v{VERSION}\n"


@pytest.mark.root
def test_etcd_and_coredns_are_the_versions_their_tags_name(client, built):
    etcd = by_component(built, "etcd")
    assert "etcd Version: 3.5.6\n" in run(client, etcd.ref, ["etcd", "--version"])
    assert "etcdctl version: 3.5.6\n" in run(client, etcd.ref, ["etcdctl", "version"])
    assert run(client, by_component(built, "coredns").ref, ["-version"]).startswith(
        "CoreDNS-1.8.6\n")


@pytest.mark.root
def test_kubeadm_pause_is_the_pause_fixture_under_kubeadm_name(client, built):
    pause = by_component(built, "pause")
    assert pause.ref == "registry.k8s.io/pause:3.6"
    assert client.images.get(pause.ref).id == images.build("pause").config_digest
